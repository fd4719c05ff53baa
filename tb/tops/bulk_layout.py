"""Ring sizes and entry layouts of the bulk top, shared by its Verilog and its testbench."""

from dataclasses import dataclass

from cimtile.hdl.analog_port import AMPLITUDE_BITS, WIDTH_BITS

__all__ = ["Rings", "RINGS", "Layout", "CELL_READ", "CELL_PULSE", "CELL_RESET"]

#: Bits of a cell queue entry's ``flags``: a verify read, a pulse, a pulse of RESET polarity.
CELL_READ, CELL_PULSE, CELL_RESET = 1, 2, 4


@dataclass(frozen=True)
class Rings:
    """Half sizes of the ring buffers, in entries.

    Members
    -------
    in_half : int
        Input beats per refill.
    analog_half : int
        Analog answers (bit planes) per refill.
    out_half : int
        Output beats per drain.
    target_half : int
        Target-level beats per refill (programming).
    cell_half : int
        Verify reads and pulses per refill (programming).
    result_half : int
        Cell-result beats per drain (programming).
    """
    in_half: int = 4096
    analog_half: int = 1024
    out_half: int = 4096
    target_half: int = 1024
    cell_half: int = 8192
    result_half: int = 4096


RINGS = Rings()


def _bytes(bits):
    return -(-bits // 8) * 8


@dataclass(frozen=True)
class Layout:
    """Bit layout of the ring entries for a configuration; every field starts on a byte, so
    the testbench packs entries by concatenating bytes.

    Members
    -------
    data_width, keep_width : int
    rows, codes_width, shift_width : int
        Wordlines, packed codes of every physical column, ADC range select.
    row_width, col_width, adc_bits : int
        A cell's address and a verify read's code.
    """
    data_width: int
    keep_width: int
    rows: int
    codes_width: int
    shift_width: int
    row_width: int
    col_width: int
    adc_bits: int

    @classmethod
    def of(cls, cfg):
        return cls(data_width=cfg.host.data_width, keep_width=cfg.host.data_width // 8,
                   rows=cfg.tile.rows, codes_width=cfg.cols_phys * cfg.tile.adc_bits,
                   shift_width=max(1, cfg.adc_shift_max.bit_length()),
                   row_width=max(1, (cfg.tile.rows - 1).bit_length()),
                   col_width=max(1, (cfg.cols_phys - 1).bit_length()),
                   adc_bits=cfg.tile.adc_bits)

    @property
    def beat_fields(self):
        """(name, width) of an input or output beat entry, low bits first."""
        return [("tdata", self.data_width), ("tkeep", self.keep_width), ("tlast", 1)]

    @property
    def out_fields(self):
        return self.beat_fields + [("cycle", 32)]

    @property
    def analog_fields(self):
        return [("codes", self.codes_width), ("wl", self.rows),
                ("adc_shift", self.shift_width)]

    @property
    def cell_fields(self):
        """A write-verify request (``flags`` of :data:`CELL_READ` ...; the pulse fields are 0
        for a read) and, last, the code that answers a read."""
        return [("flags", 3), ("row", self.row_width), ("col", self.col_width),
                ("amplitude", AMPLITUDE_BITS), ("width", WIDTH_BITS),
                ("code", self.adc_bits)]

    @property
    def cell_width(self):
        return self.offsets(self.cell_fields)[1]

    @staticmethod
    def offsets(fields):
        """{name: (bit offset, width)} and the entry width, each field on a byte boundary."""
        offsets, at = {}, 0
        for name, width in fields:
            offsets[name] = (at, width)
            at += _bytes(width)
        return offsets, at
