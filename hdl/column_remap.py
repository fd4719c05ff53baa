"""Column repair: the remap table between the ADC slots and the shift-and-add."""

from amaranth.hdl import Cat, Module, Mux, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["ColumnRemap", "remap_layout"]


def remap_layout(*, cols_data, spare_cols):
    """The remap table: per data column, 0 (its own column) or ``k`` (spare ``k - 1``)."""
    return data.ArrayLayout(unsigned(spare_cols.bit_length()), cols_data)


class ColumnRemap(wiring.Component):
    """Gives each data column the code of the physical column that holds it.

    The array has ``cols_data`` data columns followed by ``spare_cols`` spares. Every
    physical column, spares included, is sampled and converted in every plane (the remap
    acts on codes, after the ADCs, so the analog macro never needs to know it); a data
    column whose table entry is ``k > 0`` then reads spare ``k - 1``'s code instead of its
    own. Purely combinational: the shift-and-add reads the slots only after a plane's last
    conversion, when every slot, the spares' included, is latched.

    Parameters
    ----------
    cols_data, spare_cols : int
        Data and spare physical columns (``spare_cols >= 1``).
    adc_bits : int
        Code width.

    Members
    -------
    table : ``In(remap_layout(cols_data, spare_cols))``
        The remap table. Entries above ``spare_cols`` never occur (the register block
        refuses them); they would read zeros.
    slots : ``In(ArrayLayout(unsigned(adc_bits), cols_data + spare_cols))``
        Latched codes of every physical column.
    remapped : ``Out(ArrayLayout(unsigned(adc_bits), cols_data))``
        The code of each data column after repair.
    """

    def __init__(self, *, cols_data, spare_cols, adc_bits):
        if spare_cols < 1:
            raise ValueError(f"spare_cols must be at least 1, not {spare_cols!r}")
        self.cols_data, self.spare_cols, self.adc_bits = cols_data, spare_cols, adc_bits
        super().__init__({
            "table": In(remap_layout(cols_data=cols_data, spare_cols=spare_cols)),
            "slots": In(data.ArrayLayout(unsigned(adc_bits), cols_data + spare_cols)),
            "remapped": Out(data.ArrayLayout(unsigned(adc_bits), cols_data)),
        })

    def elaborate(self, platform):
        m = Module()
        bits = self.adc_bits
        spares = Cat(self.slots[self.cols_data + k] for k in range(self.spare_cols))
        for column in range(self.cols_data):
            entry = self.table[column]
            # A shifter over the spares' codes, not an Array: one narrow expression per
            # column that converts to Verilog in time linear in the table.
            index = (entry - 1)[:len(entry)]
            spare = spares.word_select(index, bits) if self.spare_cols > 1 else spares
            m.d.comb += self.remapped[column].eq(
                Mux(entry == 0, self.slots[column], spare))
        return m
