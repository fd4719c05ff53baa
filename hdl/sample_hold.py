"""The columns' sample-and-hold, seen from the digital side: a bank of held codes."""

from amaranth.hdl import Module, Signal, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["SampleHold"]


class SampleHold(wiring.Component):
    """Keeps the codes the analog port answered at a sample until the next sample.

    With pipelining the macro may answer the next plane's sample while the ADCs still
    convert this one; the bank is what the ADC sequencer converts from, as each column's
    sample-and-hold capacitor is in the macro.

    Parameters
    ----------
    cols_phys : int
        Physical columns.
    adc_bits : int
        Code width.

    Members
    -------
    sample : ``In(1)``
        The sample-and-hold strobe: take ``codes`` at the end of this cycle.
    codes : ``In(ArrayLayout(unsigned(adc_bits), cols_phys))``
        The analog port's answer, valid in the strobe's cycle.
    held : ``Out(ArrayLayout(unsigned(adc_bits), cols_phys))``
        The codes of the last sample.
    """

    def __init__(self, *, cols_phys, adc_bits):
        codes = data.ArrayLayout(unsigned(adc_bits), cols_phys)
        super().__init__({"sample": In(1), "codes": In(codes), "held": Out(codes)})

    def elaborate(self, platform):
        m = Module()
        # No reset: the controller converts the bank only after a sample filled it.
        held = Signal.like(self.held, reset_less=True)
        m.d.comb += self.held.eq(held)
        with m.If(self.sample):
            m.d.sync += held.eq(self.codes)
        return m
