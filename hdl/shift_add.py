"""Shift-and-add: rebuilds multi-bit results from bit planes, weight slices and pairs."""

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["ShiftAdd"]


class ShiftAdd(wiring.Component):
    """Accumulates one bit plane per command into one result per logical column.

    For plane ``i`` and logical column ``j`` it adds
    ``sgn_i * 2**i * sum_s 2**(s * bits_per_cell) * (code(j, s, +) - code(j, s, -))``, with
    ``sgn_i = -1`` on the last (MSB, two's-complement sign) plane. The ADC's LSB weight
    ``2**adc_shift`` is common to every term, so it is applied once on the way out.

    Parameters
    ----------
    cols, slices, bits_per_cell, adc_bits, in_bits : int
        Tile geometry and precision (see the arithmetic contract).
    adc_shift_max : int
        Largest run-time ADC range select.
    result_width : int
        Signed width of a result; wide enough that no valid input overflows.

    Members
    -------
    adc_shift : ``In(range(adc_shift_max + 1))``
        Run-time ADC range select; stable while a result is built or waits to leave.
    en : ``In(1)``
        Accumulate the plane held in ``slots`` in this cycle.
    plane : ``In(range(in_bits))``
        Index of that plane.
    first : ``In(1)``
        The plane starts a new result (replace instead of add).
    last : ``In(1)``
        The plane is the sign plane; the result is complete after it.
    slots : ``In(ArrayLayout(unsigned(adc_bits), cols * slices * 2))``
        ADC codes of the plane, in physical column order.
    o_stream : ``Out(stream.Signature(ArrayLayout(signed(result_width), cols)))``
        Completed results. A new ``first`` command must wait until the previous result
        has been transferred.
    """

    def __init__(self, *, cols, slices, bits_per_cell, adc_bits, in_bits, adc_shift_max,
                 result_width):
        self.cols = cols
        self.slices = slices
        self.bits_per_cell = bits_per_cell
        self.result_width = result_width
        super().__init__({
            "adc_shift": In(range(adc_shift_max + 1)),
            "en": In(1),
            "plane": In(range(in_bits)),
            "first": In(1),
            "last": In(1),
            "slots": In(data.ArrayLayout(unsigned(adc_bits), cols * slices * 2)),
            "o_stream": Out(stream.Signature(
                data.ArrayLayout(signed(result_width), cols))),
        })

    def _plane_sum(self, column):
        """Signed sum of one logical column's slices and differential pairs in one plane."""
        # Plus and minus columns are summed apart and subtracted once, so every code and
        # partial sum is used once: the simulator folds the whole sum into the accumulator's
        # update and skips it in the cycles that accumulate nothing.
        plus = minus = 0
        for s in range(self.slices):
            pair = (column * self.slices + s) * 2
            plus = plus + (self.slots[pair] << (s * self.bits_per_cell))
            minus = minus + (self.slots[pair + 1] << (s * self.bits_per_cell))
        return plus - minus

    def elaborate(self, platform):
        m = Module()
        # One register per column rather than one wide array, so that each update is a
        # narrow expression the simulator evaluates only when a plane is accumulated. No
        # reset: a result is read only once `done` (which resets) says so, and the first
        # plane replaces whatever the register held.
        acc = [Signal(signed(self.result_width), name=f"acc{column}", reset_less=True)
               for column in range(self.cols)]
        done = Signal()

        for column in range(self.cols):
            m.d.comb += self.o_stream.payload[column].eq(acc[column] << self.adc_shift)
        m.d.comb += self.o_stream.valid.eq(done)
        with m.If(self.o_stream.valid & self.o_stream.ready):
            m.d.sync += done.eq(0)

        with m.If(self.en):
            for column, total in enumerate(acc):
                term = self._plane_sum(column) << self.plane
                # Negated on the sign plane: (t ^ -1) + 1 = -t. Unlike Mux(last, -t, t), this
                # uses the term once.
                signed_term = (term ^ -self.last) + self.last
                base = Mux(self.first, 0, total)
                m.d.sync += total.eq(base + signed_term)
            with m.If(self.last):
                m.d.sync += done.eq(1)
        return m
