"""The chip's interconnect: a stream switch that moves frames between tiles, post-processing
and memories, by a routing table, with multicast."""

from amaranth.hdl import Cat, Module, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .parameters import check_positive

__all__ = ["StreamSwitch"]


class StreamSwitch(wiring.Component):
    """Frames from `inputs` streams to `outputs` streams, each to the outputs its route
    names (one or several: multicast).

    A frame is the beats up to and including one with ``last``. Its first beat's ``route``
    selects a row of the routing table, a mask of outputs. An input whose frame waits is
    granted once none of its outputs is taken by another input's frame (inputs taking
    turns, round robin); it then holds them to the end of its frame, so frames on an output
    never interleave and each route's frames arrive once, in order. A beat moves when every
    one of its outputs can take it; each output's beat waits in a register of its own, so
    an output's valid and payload hold until it is taken, whatever the others do. A route
    whose mask is empty drops its frame.

    Parameters
    ----------
    inputs, outputs : int
    data_width : int
        Bits of a beat's data.
    routes : int
        Rows of the routing table.

    Members
    -------
    i_streams : ``In(stream.Signature(...))`` array of `inputs`
        Payload ``data``, ``route`` (read at a frame's first beat) and ``last``.
    o_streams : ``Out(stream.Signature(...))`` array of `outputs`
        Payload ``data``, ``source`` (the input it came from) and ``last``.
    table : ``In(ArrayLayout(unsigned(outputs), routes))``
        Each route's outputs; stable while frames are in flight.

    Raises
    ------
    ValueError
        If a count or width is not positive.
    """

    def __init__(self, *, inputs, outputs, data_width, routes):
        check_positive(self, inputs=inputs, outputs=outputs, data_width=data_width,
                       routes=routes)
        self.inputs, self.outputs = inputs, outputs
        source = range(inputs)
        super().__init__({
            "i_streams": In(stream.Signature(data.StructLayout({
                "data": unsigned(data_width), "route": range(routes),
                "last": unsigned(1)}))).array(inputs),
            "o_streams": Out(stream.Signature(data.StructLayout({
                "data": unsigned(data_width), "source": source,
                "last": unsigned(1)}))).array(outputs),
            "table": In(data.ArrayLayout(unsigned(outputs), routes)),
        })

    def elaborate(self, platform):
        m = Module()
        n_in, n_out = self.inputs, self.outputs
        granted = Signal(n_in)                       # inputs holding their outputs
        held = [Signal(n_out, name=f"held_{i}") for i in range(n_in)]
        taken = Signal(n_out)                        # outputs held by some input
        m.d.comb += taken.eq(_or(held))
        free = Signal(n_out)                         # output registers that can load
        m.d.comb += free.eq(Cat(~out.valid | out.ready for out in self.o_streams))

        # Grants: one new input a cycle, the first eligible after the last one granted.
        last_grant = Signal(range(n_in))
        eligible = Signal(n_in)
        for i, inp in enumerate(self.i_streams):
            want = self.table[inp.payload.route]
            m.d.comb += eligible[i].eq(inp.valid & ~granted[i] & ((want & taken) == 0))
        choice = Signal(range(n_in))
        found = Signal()
        for k in reversed(range(1, n_in + 1)):       # the lowest k takes precedence
            index = Signal(range(n_in), name=f"candidate_{k}")
            m.d.comb += index.eq((last_grant + k) % n_in)
            with m.If(eligible.bit_select(index, 1)):
                m.d.comb += [choice.eq(index), found.eq(1)]
        with m.If(found):
            m.d.sync += last_grant.eq(choice)
            for i, inp in enumerate(self.i_streams):
                with m.If(choice == i):
                    m.d.sync += [granted[i].eq(1), held[i].eq(self.table[inp.payload.route])]

        # Beats: a granted input moves a beat when all of its outputs can load one.
        for out in self.o_streams:
            with m.If(out.valid & out.ready):
                m.d.sync += out.valid.eq(0)
        for i, inp in enumerate(self.i_streams):
            m.d.comb += inp.ready.eq(granted[i] & ((held[i] & ~free) == 0))
            with m.If(inp.valid & inp.ready):
                for j, out in enumerate(self.o_streams):
                    with m.If(held[i][j]):
                        m.d.sync += [out.valid.eq(1), out.payload.data.eq(inp.payload.data),
                                     out.payload.source.eq(i),
                                     out.payload.last.eq(inp.payload.last)]
                with m.If(inp.payload.last):
                    m.d.sync += [granted[i].eq(0), held[i].eq(0)]
        return m


def _or(values):
    """The bitwise or of `values`."""
    result = values[0]
    for value in values[1:]:
        result = result | value
    return result
