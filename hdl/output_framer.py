"""Output framing across a soft reset: no item is cut and no frame is left open."""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .axi_stream import AxiStreamSignature

__all__ = ["OutputFramer"]


class OutputFramer(wiring.Component):
    """Passes an AXI4-Stream through and closes it cleanly when the tile is soft-reset.

    Items (a result vector, or one beat of cell results) are ``beats_per_item`` beats long.
    On ``soft_reset`` an item already offered on the bus is completed, with TLAST forced on
    its last beat unless that beat was already on the bus (AXI4-Stream forbids changing a
    stalled beat); a frame still open after the item is closed by a null beat (TKEEP all
    low, TLAST high, which AXI4-Stream defines as ending a packet without data). Until then
    ``hold_reset`` keeps the producer in reset, so nothing computed before the soft reset
    follows, and ``closing`` reports the state.

    Parameters
    ----------
    data_width : int
    beats_per_item : int

    Members
    -------
    i : ``In(AxiStreamSignature(data_width, keep=True))``
        From the producer (its beats of an item come back to back once it offers one).
    o : ``Out(AxiStreamSignature(data_width, keep=True))``
        To the port.
    soft_reset : ``In(1)``
    hold_reset : ``Out(1)``
        Reset for the producer: high while closing and no item is under way.
    closing : ``Out(1)``
    """

    def __init__(self, *, data_width, beats_per_item):
        self.beats_per_item = beats_per_item
        super().__init__({
            "i": In(AxiStreamSignature(data_width, keep=True)),
            "o": Out(AxiStreamSignature(data_width, keep=True)),
            "soft_reset": In(1),
            "hold_reset": Out(1),
            "closing": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        beat = Signal(range(self.beats_per_item))
        frame_open = Signal()
        closing = Signal()
        last_beat = beat == self.beats_per_item - 1
        # An item is under way from its first offer until its last beat is taken.
        under_way = (beat != 0) | self.i.tvalid
        null_beat = closing & ~under_way & frame_open
        # A beat offered and not taken stays as it was, TLAST included.
        stalled = Signal()
        stalled_tlast = Signal()
        m.d.sync += [stalled.eq(self.o.tvalid & ~self.o.tready), stalled_tlast.eq(self.o.tlast)]

        m.d.comb += [
            self.closing.eq(closing),
            self.hold_reset.eq((closing | self.soft_reset) & ~under_way),
        ]
        with m.If(null_beat):
            m.d.comb += [self.o.tvalid.eq(1), self.o.tlast.eq(1), self.o.tkeep.eq(0)]
        with m.Else():
            m.d.comb += [
                self.o.tdata.eq(self.i.tdata),
                self.o.tkeep.eq(self.i.tkeep),
                self.o.tlast.eq(Mux(stalled, stalled_tlast,
                                    self.i.tlast | (closing & last_beat))),
                self.o.tvalid.eq(self.i.tvalid),
                self.i.tready.eq(self.o.tready),
            ]

        with m.If(self.o.tvalid & self.o.tready):
            m.d.sync += frame_open.eq(~self.o.tlast)
            with m.If(~null_beat):
                m.d.sync += beat.eq(beat + 1)
                with m.If(last_beat):
                    m.d.sync += beat.eq(0)
        with m.If(self.soft_reset):
            m.d.sync += closing.eq(1)
        with m.Elif(closing & ~under_way & (~frame_open | self.o.tready)):
            m.d.sync += closing.eq(0)
        return m
