"""A memory read and written `lanes` consecutive elements a cycle from any address, through
as many ports as there are units using it at once."""

import math

from amaranth.hdl import Cat, Module, Signal, Value
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out

from .parameters import check_positive

__all__ = ["read_signature", "write_signature", "SpanMemory"]


def read_signature(shape, lanes, depth):
    """A read port, from the reader's side: with ``en``, the `lanes` elements from ``addr`` on
    are on ``data`` from the next cycle (element ``addr`` in lane 0) until the next read."""
    return wiring.Signature({"en": Out(1), "addr": Out(range(depth)),
                             "data": In(data.ArrayLayout(shape, lanes))})


def write_signature(shape, lanes, depth):
    """A write port, from the writer's side: with ``en``, lanes 0 up to ``count``
    (exclusive) of ``data`` are stored from ``addr`` on at the clock edge."""
    return wiring.Signature({"en": Out(1), "addr": Out(range(depth)),
                             "count": Out(range(lanes + 1)),
                             "data": Out(data.ArrayLayout(shape, lanes))})


def _lane(elements, index, lanes):
    """Element `index` of the `lanes` `elements` (values or views of one shape)."""
    flat = Cat(Value.cast(elements[k]) for k in range(lanes))
    return flat.word_select(index, len(flat) // lanes)


class SpanMemory(wiring.Component):
    """`depth` elements of `shape` in `lanes` banks, element ``a`` in bank ``a % lanes``:
    a span of `lanes` consecutive elements touches every bank once, whatever its first
    address, so each port moves a whole span a cycle, aligned or not.

    Every bank is a :class:`~amaranth.lib.memory.Memory` with one synchronous read port
    per reader and one write port per writer, so units running at once never wait for
    each other (the chip timing model's uncontended memory). A read of an element written
    in the same cycle gives the element before the write; two writers storing the same
    element in one cycle leave the later port's value.

    Parameters
    ----------
    shape : shape-like
        An element.
    lanes, depth, readers, writers : int

    Members
    -------
    read : ``In(read_signature(...))`` array of `readers`
    write : ``In(write_signature(...))`` array of `writers`

    Raises
    ------
    ValueError
        If `lanes`, `depth`, `readers` or `writers` is not a positive integer.
    """

    def __init__(self, *, shape, lanes, depth, readers, writers):
        check_positive(self, lanes=lanes, depth=depth, readers=readers, writers=writers)
        self.shape, self.lanes, self.depth = shape, lanes, depth
        super().__init__({
            "read": In(read_signature(shape, lanes, depth)).array(readers),
            "write": In(write_signature(shape, lanes, depth)).array(writers),
        })

    def _bank_address(self, m, addr, bank, name):
        """The row of bank `bank` holding the element of the span from `addr` in that bank,
        and the lane of the span it is."""
        lane = Signal(range(self.lanes), name=f"{name}_lane")
        row = Signal(range(math.ceil(self.depth / self.lanes) + 1), name=f"{name}_row")
        m.d.comb += [lane.eq((bank + self.lanes - addr % self.lanes) % self.lanes),
                     row.eq((addr + lane) // self.lanes)]
        return row, lane

    def elaborate(self, platform):
        m = Module()
        lanes = self.lanes
        rows = math.ceil(self.depth / lanes)
        reads = [[] for _ in self.read]
        for bank in range(lanes):
            store = memory.Memory(shape=self.shape, depth=rows, init=[])
            m.submodules[f"bank_{bank}"] = store
            for w, port in enumerate(self.write):
                row, lane = self._bank_address(m, port.addr, bank, f"w{w}_b{bank}")
                write = store.write_port()
                m.d.comb += [write.en.eq(port.en & (lane < port.count)),
                             write.addr.eq(row),
                             write.data.eq(_lane(port.data, lane, lanes))]
            for r, port in enumerate(self.read):
                row, _ = self._bank_address(m, port.addr, bank, f"r{r}_b{bank}")
                read = store.read_port()
                m.d.comb += [read.en.eq(port.en), read.addr.eq(row)]
                reads[r].append(read.data)
        # Lane k of a span is in bank (first + k) % lanes: rotate by the first address of the
        # last read, kept while its data is held.
        for port, banks in zip(self.read, reads):
            first = Signal(range(lanes))
            with m.If(port.en):
                m.d.sync += first.eq(port.addr % lanes)
            for k in range(lanes):
                m.d.comb += port.data[k].eq(_lane(banks, (first + k) % lanes, lanes))
        return m
