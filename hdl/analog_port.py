"""The analog-macro port: the one boundary between the digital periphery and the crossbar.

Everything analog (cell conductances, column currents, ADC transfer functions) sits behind
this port. The periphery drives the wordlines and strobes a sample-and-hold once per bit
plane; the macro answers with the ADC code of every physical column. The timing contract
is in docs/architecture.md; the periphery enforces it by counting cycles.
"""

from amaranth.hdl import unsigned
from amaranth.lib import data, wiring
from amaranth.lib.enum import Enum
from amaranth.lib.wiring import In, Out

__all__ = ["AnalogMacroSignature", "CellAccessSignature", "Polarity", "AMPLITUDE_BITS",
           "WIDTH_BITS"]

AMPLITUDE_BITS = 8      # pulse DAC code; volts per code are a device property
WIDTH_BITS = 16         # pulse width in cycles


class Polarity(Enum, shape=1):
    SET = 0     # raise conductance
    RESET = 1   # lower conductance


class CellAccessSignature(wiring.Signature):
    """Single-cell access of the analog macro, seen from the periphery.

    Members
    -------
    row, col : ``Out``
        Addressed cell (physical column).
    pulse : ``Out(1)``
        Apply one programming pulse to the cell, high for one cycle; the periphery then
        waits ``width`` cycles before its next request.
    polarity, amplitude, width : ``Out``
        Pulse parameters, held with ``pulse``.
    read : ``Out(1)``
        Verify read of the cell, high for one cycle; answered in ``read_code`` in that cycle.
    read_code : ``In(adc_bits)``
        The cell's conductance through the ADC (0 at g_min, full scale at g_max).
    """

    def __init__(self, *, rows, cols_phys, adc_bits):
        self.rows, self.cols_phys, self.adc_bits = rows, cols_phys, adc_bits
        super().__init__({
            "row": Out(range(rows)),
            "col": Out(range(cols_phys)),
            "pulse": Out(1),
            "polarity": Out(Polarity),
            "amplitude": Out(AMPLITUDE_BITS),
            "width": Out(WIDTH_BITS),
            "read": Out(1),
            "read_code": In(adc_bits),
        })

    def __eq__(self, other):
        return (type(other) is type(self) and (self.rows, self.cols_phys, self.adc_bits)
                == (other.rows, other.cols_phys, other.adc_bits))

    def __repr__(self):
        return (f"CellAccessSignature(rows={self.rows}, cols_phys={self.cols_phys}, "
                f"adc_bits={self.adc_bits})")


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
    adc_shift_max : int
        Largest run-time ADC range select.

    Members
    -------
    wl : ``Out(rows)``
        Wordline drive; bit r drives row r.
    sample : ``Out(1)``
        Sample-and-hold request, high for one cycle per bit plane.
    adc_shift : ``Out(range(adc_shift_max + 1))``
        ADC range select: one LSB is ``2**adc_shift`` level counts. A run-time setting of
        the tile, stable while any vector is computed.
    codes : ``In(ArrayLayout(unsigned(adc_bits), cols_phys))``
        ADC code of every physical column, answered in the cycle ``sample`` is high.
    cell : ``Out(CellAccessSignature(...))``
        Single-cell pulses and verify reads for programming.
    """

    def __init__(self, *, rows, cols_phys, adc_bits, adc_shift_max):
        self.rows = rows
        self.cols_phys = cols_phys
        self.adc_bits = adc_bits
        self.adc_shift_max = adc_shift_max
        super().__init__({
            "wl": Out(rows),
            "sample": Out(1),
            "adc_shift": Out(range(adc_shift_max + 1)),
            "codes": In(data.ArrayLayout(unsigned(adc_bits), cols_phys)),
            "cell": Out(CellAccessSignature(rows=rows, cols_phys=cols_phys,
                                            adc_bits=adc_bits)),
        })

    def __eq__(self, other):
        return (type(other) is type(self)
                and (self.rows, self.cols_phys, self.adc_bits, self.adc_shift_max)
                == (other.rows, other.cols_phys, other.adc_bits, other.adc_shift_max))

    def __repr__(self):
        return (f"AnalogMacroSignature(rows={self.rows}, cols_phys={self.cols_phys}, "
                f"adc_bits={self.adc_bits}, adc_shift_max={self.adc_shift_max})")
