"""Bit-serial wordline drive: one bit plane of the input vector at a time (1-bit DACs)."""

from amaranth.hdl import Module, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["BitPlaneSequencer"]


class BitPlaneSequencer(wiring.Component):
    """Holds the vector under computation and drives bit ``plane`` of every element.

    Loading copies the vector out of the input buffer, so the buffer can accept the next
    vector while this one is applied plane by plane.

    Parameters
    ----------
    rows : int
        Elements in the input vector (one per wordline).
    in_bits : int
        Two's-complement width of each element.

    Members
    -------
    load : ``In(1)``
        Capture ``vector`` at the end of this cycle.
    vector : ``In(ArrayLayout(signed(in_bits), rows))``
        The next input vector.
    plane : ``In(range(in_bits))``
        Bit plane to drive, LSB first.
    drive : ``In(1)``
        Drive the wordlines; when low they are all 0.
    wl : ``Out(rows)``
        Wordline drive, bit r for row r.
    """

    def __init__(self, *, rows, in_bits):
        self.rows = rows
        self.in_bits = in_bits
        super().__init__({
            "load": In(1),
            "vector": In(data.ArrayLayout(signed(in_bits), rows)),
            "plane": In(range(in_bits)),
            "drive": In(1),
            "wl": Out(rows),
        })

    def elaborate(self, platform):
        m = Module()
        # No reset: the wordlines show the held vector only while `drive` is high, which the
        # controller raises after a load.
        held = Signal.like(self.vector, reset_less=True)
        with m.If(self.load):
            m.d.sync += held.eq(self.vector)
        with m.If(self.drive):
            for row in range(self.rows):
                m.d.comb += self.wl[row].eq(held[row].bit_select(self.plane, 1))
        return m
