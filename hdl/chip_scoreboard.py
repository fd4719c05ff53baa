"""The chip sequencer's scoreboard: what the instructions in flight read, write and hold, and
whether the next instruction must wait for them."""

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from cimtile.spec.chip_config import BUFFER_LIMIT
from cimtile.spec.chip_isa import ADDRESS_LIMIT, TILE_LIMIT, Opcode

from .parameters import check_at_most, check_positive

__all__ = ["SPAN", "HEAD", "tile_mask", "Scoreboard"]

#: Activations ``first`` up to ``end`` (exclusive); a MOVE's span ends up to 2**17 - 1.
SPAN = data.StructLayout({"first": range(ADDRESS_LIMIT), "end": range(2 * ADDRESS_LIMIT)})

#: The instruction waiting to issue, as the scoreboard needs it: its opcode, its tiles
#: (``tile`` up to ``tile_end``, exclusive: one for an MVM, ``count`` for an ACC), the
#: activations it reads (MVM, MOVE) and those it writes (ACC, MOVE).
HEAD = data.StructLayout({"op": Opcode, "tile": range(TILE_LIMIT),
                          "tile_end": range(2 * TILE_LIMIT), "reads": SPAN, "writes": SPAN})


def tile_mask(first, end, tiles):
    """The `tiles` bits of the tiles `first` up to `end` (exclusive)."""
    return Cat((first <= t) & (t < end) for t in range(tiles))


def _overlap(a, b):
    """Whether the spans `a` and `b` share an activation."""
    return (a.first < b.end) & (b.first < a.end)


class Scoreboard(wiring.Component):
    """Tracks the instructions in flight, one slot per unit, and tells whether the head (the
    next instruction in program order) may issue.

    Every unit has at most one instruction in flight: a tile takes one MVM at a time, and
    the post-processing unit and the mover one command at a time. So one slot per unit
    (`tiles` MVM slots holding the span each MVM reads, an ACC slot holding the span it
    writes and its tiles, a MOVE slot holding both its spans) holds every instruction in
    flight, and the table never fills: it adds no wait to the rules of
    :mod:`cimtile.models.chip_timing`. Beside them, a count per tile of its results that
    no issued ACC reads yet (its MVMs' results, in flight or held by the datapath in one of
    its `buffers` result buffers). The head waits while

    - it reads a span an ACC or MOVE in flight writes (read after write);
    - it writes a span an ACC or MOVE in flight writes (write after write) or an MVM or
      MOVE in flight reads (write after read);
    - an MVM's tile has an MVM in flight, or no free result buffer: its unread results and
      the one the ACC in flight reads fill all `buffers` (a buffer is free again once the
      ACC reading it has completed);
    - an ACC's tiles have their oldest unread result still in flight, or an ACC is in
      flight;
    - a MOVE finds a MOVE in flight;
    - a BARRIER or HALT finds anything in flight.

    A slot is filled by ``issue`` at the end of the cycle and emptied by its unit's
    ``done`` at the end of the cycle; a ``done`` in the issue cycle itself empties the slot
    just filled.

    Parameters
    ----------
    tiles : int
    buffers : int
        Result buffers per tile, 1..4 (``chip.result_buffers``).

    Members
    -------
    head : ``In(HEAD)``
    issue : ``In(1)``
        The head issues in this cycle.
    restart : ``In(1)``
        A new run starts: no tile holds a result for it.
    mvm_done : ``In(tiles)``
        Tile t's MVM completes in this cycle (its last busy cycle).
    acc_done, move_done : ``In(1)``
        The ACC, the MOVE in flight completes in this cycle.
    wait : ``Out(1)``
        The head must not issue in this cycle.
    idle : ``Out(1)``
        Nothing is in flight.
    holding : ``Out(tiles)``
        Tiles with a result that no issued ACC reads yet.
    full : ``Out(tiles)``
        Tiles with `buffers` such results: another MVM would wait for an ACC forever.

    Raises
    ------
    ValueError
        If `tiles` is not in 1..64 or `buffers` not in 1..4.
    """

    def __init__(self, *, tiles, buffers):
        check_positive(self, tiles=tiles, buffers=buffers)
        check_at_most(self, tiles=(tiles, TILE_LIMIT), buffers=(buffers, BUFFER_LIMIT))
        self.tiles, self.buffers = tiles, buffers
        super().__init__({
            "head": In(HEAD), "issue": In(1), "restart": In(1),
            "mvm_done": In(tiles), "acc_done": In(1), "move_done": In(1),
            "wait": Out(1), "idle": Out(1), "holding": Out(tiles), "full": Out(tiles),
        })

    def elaborate(self, platform):
        m = Module()
        head, tiles, buffers = self.head, self.tiles, self.buffers
        mvm_busy = Signal(tiles)
        unread = [Signal(range(buffers + 1), name=f"unread_{t}") for t in range(tiles)]
        mvm_reads = Signal(data.ArrayLayout(SPAN, tiles))
        acc_busy = Signal()
        acc = Signal(data.StructLayout({"tile": range(TILE_LIMIT),
                                        "tile_end": range(2 * TILE_LIMIT), "writes": SPAN}))
        move_busy = Signal()
        move = Signal(data.StructLayout({"reads": SPAN, "writes": SPAN}))

        is_mvm, is_acc, is_move = (head.op == Opcode.MVM, head.op == Opcode.ACC,
                                   head.op == Opcode.MOVE)
        reads, writes = is_mvm | is_move, is_acc | is_move
        head_tiles = tile_mask(head.tile, head.tile_end, tiles)
        acc_tiles = tile_mask(acc.tile, acc.tile_end, tiles)

        read_after_write = (acc_busy & _overlap(head.reads, acc.writes)
                            | move_busy & _overlap(head.reads, move.writes))
        write_after_write = (acc_busy & _overlap(head.writes, acc.writes)
                             | move_busy & _overlap(head.writes, move.writes))
        write_after_read = (Cat(mvm_busy[t] & _overlap(head.writes, mvm_reads[t])
                                for t in range(tiles)).any()
                            | move_busy & _overlap(head.writes, move.reads))
        being_read = Mux(acc_busy, acc_tiles, 0)
        no_buffer = Cat(unread[t] + being_read[t] >= buffers for t in range(tiles))
        oldest_in_flight = Cat(mvm_busy[t] & (unread[t] == 1) for t in range(tiles))
        data_wait = (reads & read_after_write
                     | writes & (write_after_write | write_after_read))
        unit_wait = (is_mvm & ((mvm_busy | no_buffer) & head_tiles).any()
                     | is_acc & (acc_busy | (oldest_in_flight & head_tiles).any())
                     | is_move & move_busy)
        m.d.comb += [
            self.holding.eq(Cat(n != 0 for n in unread)),
            self.full.eq(Cat(n == buffers for n in unread)),
            self.idle.eq(~mvm_busy.any() & ~acc_busy & ~move_busy),
            self.wait.eq(Cat(head.op == op for op in (Opcode.HALT, Opcode.BARRIER)).any()
                         & ~self.idle | data_wait | unit_wait),
        ]

        with m.If(self.issue):
            with m.Switch(head.op):
                with m.Case(Opcode.MVM):
                    for t in range(tiles):
                        with m.If(head.tile == t):
                            m.d.sync += [mvm_busy[t].eq(1), unread[t].eq(unread[t] + 1),
                                         mvm_reads[t].eq(head.reads)]
                with m.Case(Opcode.ACC):
                    m.d.sync += [acc_busy.eq(1), acc.tile.eq(head.tile),
                                 acc.tile_end.eq(head.tile_end), acc.writes.eq(head.writes)]
                    for t in range(tiles):
                        with m.If(head_tiles[t]):
                            m.d.sync += unread[t].eq(unread[t] - 1)
                with m.Case(Opcode.MOVE):
                    m.d.sync += [move_busy.eq(1), move.reads.eq(head.reads),
                                 move.writes.eq(head.writes)]
        with m.If(self.restart):
            m.d.sync += [n.eq(0) for n in unread]
        # After the issue: a unit done in its issue cycle empties the slot just filled.
        for t in range(tiles):
            with m.If(self.mvm_done[t]):
                m.d.sync += mvm_busy[t].eq(0)
        with m.If(self.acc_done):
            m.d.sync += acc_busy.eq(0)
        with m.If(self.move_done):
            m.d.sync += move_busy.eq(0)
        return m
