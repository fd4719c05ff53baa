"""The analog-macro port: the one boundary between the digital periphery and the crossbar.

Everything analog (cell conductances, column currents, ADC transfer functions) sits behind
this port. The periphery drives the wordlines and strobes a sample-and-hold once per bit
plane; the macro answers with the ADC code of every physical column. The timing contract
is in docs/architecture.md; the periphery enforces it by counting cycles.
"""

from amaranth.hdl import unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["AnalogMacroSignature"]


class AnalogMacroSignature(wiring.Signature):
    """Signature of the analog macro, seen from the periphery (the initiator).

    Parameters
    ----------
    rows : int
        Wordlines of the crossbar.
    cols_phys : int
        Physical columns, each with its own sample-and-hold.
    adc_bits : int
        Resolution of every ADC code.

    Members
    -------
    wl : ``Out(rows)``
        Wordline drive; bit r drives row r.
    sample : ``Out(1)``
        Sample-and-hold request, high for one cycle per bit plane.
    codes : ``In(ArrayLayout(unsigned(adc_bits), cols_phys))``
        ADC code of every physical column, answered in the cycle ``sample`` is high.
    """

    def __init__(self, *, rows, cols_phys, adc_bits):
        self.rows = rows
        self.cols_phys = cols_phys
        self.adc_bits = adc_bits
        super().__init__({
            "wl": Out(rows),
            "sample": Out(1),
            "codes": In(data.ArrayLayout(unsigned(adc_bits), cols_phys)),
        })

    def __eq__(self, other):
        return (type(other) is type(self) and (self.rows, self.cols_phys, self.adc_bits)
                == (other.rows, other.cols_phys, other.adc_bits))

    def __repr__(self):
        return (f"AnalogMacroSignature(rows={self.rows}, cols_phys={self.cols_phys}, "
                f"adc_bits={self.adc_bits})")
