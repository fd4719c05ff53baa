"""The host register map, declared once.

Everything else is generated from :data:`REGISTERS`: the AXI4-Lite register block
(``cimtile.hdl.registers``), docs/registers.md (:func:`markdown`), the firmware C header
(:func:`c_header`) and the testbench accessor (``cimtile.tb.benches.registers``). A reset value or a
valid range may depend on the tile's :class:`~cimtile.spec.config_derived.Config`, so every generator takes
one.
"""

from dataclasses import dataclass, field
from enum import Enum

from amaranth.lib import enum as hdl_enum

__all__ = ["Access", "ErrorCause", "Mode", "Field", "Register", "REGISTERS", "ADDR_WIDTH",
           "DATA_WIDTH", "ID_VALUE", "REFUSAL_RULES", "register", "capabilities", "markdown",
           "c_header"]

ADDR_WIDTH = 12     # byte addresses; registers are word aligned
DATA_WIDTH = 32
ID_VALUE = 0x43494D54   # "CIMT"


class Access(Enum):
    """How the host may access a register."""
    RO = "RO"       # writes are refused (cause READ_ONLY)
    RW = "RW"
    WO = "WO"       # reads return 0
    W1C = "W1C"     # writing 1 to a bit clears it


class ErrorCause(hdl_enum.IntEnum, shape=4):
    """STATUS.cause: why STATUS.error was last set."""
    NONE = 0
    BUSY = 1
    IN_BITS = 2
    ADC_SHIFT = 3
    MODE = 4
    WV_SETTINGS = 5
    STREAM_KEEP = 6
    STREAM_LAST = 7
    READ_ONLY = 8
    REMAP = 9


CAUSE_DOCS = {
    ErrorCause.NONE: "no error since STATUS.error was last cleared",
    ErrorCause.BUSY: "a write to SETTINGS, WV_* or REMAP_SPARE, or CTRL.start, while busy",
    ErrorCause.IN_BITS: "SETTINGS.in_bits 0 or above in_bits_max",
    ErrorCause.ADC_SHIFT: "SETTINGS.adc_shift above adc_shift_max",
    ErrorCause.MODE: "unknown SETTINGS.mode, or CTRL.start in compute mode",
    ErrorCause.WV_SETTINGS: "a WV_ROWS/WV_COLS bound outside the array, or the write-verify "
                            "engine refused the WV_* settings at start",
    ErrorCause.STREAM_KEEP: "an input vector with a data byte whose tkeep is 0 (dropped)",
    ErrorCause.STREAM_LAST: "TLAST before a vector's (or the rectangle's) last beat",
    ErrorCause.READ_ONLY: "a write to a read-only register",
    ErrorCause.REMAP: "REMAP_COL.col beyond the data columns, or REMAP_SPARE.spare beyond "
                      "the spare columns",
}


class Mode(hdl_enum.IntEnum, shape=2):
    """SETTINGS.mode: what the tile does."""
    COMPUTE = 0
    PROGRAM = 1
    READ_BACK = 2


MODE_DOCS = {
    Mode.COMPUTE: "input vectors are computed whenever they arrive; done when a result beat "
                  "with TLAST leaves",
    Mode.PROGRAM: "CTRL.start programs the WV rectangle from the target stream by "
                  "write-verify; done when the run ends",
    Mode.READ_BACK: "CTRL.start reads every cell of the WV rectangle (no pulses, targets not "
                    "consumed) and reports its code; done when the run ends",
}

REFUSAL_RULES = (
    "A refused write changes nothing (the whole register write is dropped, not applied field "
    "by field), answers BRESP = SLVERR and sets STATUS.error and STATUS.cause (the latest "
    "cause wins; a datapath error in the same cycle wins over a refused write).",
    "Checks in order, the first failing one gives the cause: BUSY (a register marked "
    "'refused while busy', or CTRL.start, while STATUS.busy), then "
    "each field's valid range from bit 0 upward, then CTRL.start in compute mode (MODE).",
    "CTRL.soft_reset is never refused and wins over CTRL.start written with it.",
    "The remap table (REMAP_SPARE) resets to 0 in every entry (no column repaired) and, "
    "like SETTINGS and WV_*, keeps its entries across a soft reset.",
    "Any write to a RO register is refused with cause READ_ONLY.",
    "Unmapped addresses: reads and writes answer DECERR (RDATA 0) and flag nothing.",
    "WSTRB: on RW registers only the strobed bytes are written; the resulting whole value "
    "is validated. On W1C and WO registers unstrobed bytes count as 0. The low two address "
    "bits are ignored.",
    "Reads never have side effects; WO registers read as 0.",
    "Events set IRQ_STATUS bits in the same cycle as a W1C clear win over the clear.",
)


@dataclass(frozen=True)
class Field:
    """A bit field of a register.

    Parameters
    ----------
    name : str
    lsb, width : int
        Position in the 32-bit register.
    doc : str
    reset : int or callable
        Reset value, or a function of the Config giving it.
    valid : callable or None
        For RW fields: a function of the Config giving the inclusive ``(lo, hi)`` range a write
        must respect; None accepts every value of the width.
    cause : ErrorCause or None
        What an out-of-range write is flagged as; required with ``valid``.
    port : str or None
        The datapath member this field drives, within its register's ``port``; defaults to
        the field name.
    """
    name: str
    lsb: int
    width: int
    doc: str
    reset: object = 0
    valid: object = None
    cause: ErrorCause = None
    port: str = None

    def __post_init__(self):
        if not 0 <= self.lsb or self.width < 1 or self.lsb + self.width > DATA_WIDTH:
            raise ValueError(f"field {self.name} bits [{self.lsb + self.width - 1}:{self.lsb}] "
                             f"do not fit a {DATA_WIDTH}-bit register")
        if (self.valid is None) != (self.cause is None):
            raise ValueError(f"field {self.name}: valid and cause go together")

    @property
    def mask(self):
        """The field's bits in place."""
        return ((1 << self.width) - 1) << self.lsb

    @property
    def msb(self):
        return self.lsb + self.width - 1

    @property
    def port_name(self):
        return self.port or self.name

    def reset_value(self, cfg):
        value = self.reset(cfg) if callable(self.reset) else self.reset
        if not 0 <= value < 1 << self.width:
            raise ValueError(f"reset value {value} of field {self.name} does not fit "
                             f"{self.width} bits")
        return value

    def valid_range(self, cfg):
        """Inclusive ``(lo, hi)`` of the values a write may give this field."""
        return self.valid(cfg) if self.valid else (0, (1 << self.width) - 1)


@dataclass(frozen=True)
class Register:
    """A 32-bit register.

    Parameters
    ----------
    name : str
    offset : int
        Byte offset, word aligned.
    access : Access
    doc : str
    fields : tuple of Field
    volatile : bool
        The hardware changes the value (status, counters); a RO register that is not volatile
        is a constant (its reset value).
    busy_guarded : bool
        Writes are refused while busy (cause BUSY).
    port : str or None
        For RW registers that drive the datapath: the member of the register block their
        fields drive (``settings`` or ``wv_settings``).
    """
    name: str
    offset: int
    access: Access
    doc: str
    fields: tuple = field(default=())
    volatile: bool = False
    busy_guarded: bool = False
    port: str = None

    def __post_init__(self):
        if self.offset % 4 or not 0 <= self.offset < 1 << ADDR_WIDTH:
            raise ValueError(f"register {self.name}: offset {self.offset:#x} is not a word "
                             f"address below {1 << ADDR_WIDTH:#x}")
        used = 0
        for f in self.fields:
            if used & f.mask:
                raise ValueError(f"register {self.name}: field {f.name} overlaps another")
            used |= f.mask

    def field(self, name):
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"register {self.name} has no field {name!r}; expected one of "
                       f"{', '.join(f.name for f in self.fields)}")

    def reset_value(self, cfg):
        value = 0
        for f in self.fields:
            value |= f.reset_value(cfg) << f.lsb
        return value

    def pack(self, **values):
        """The register value holding the given field values (others 0)."""
        word = 0
        for name, value in values.items():
            f = self.field(name)
            if not isinstance(value, int) or not 0 <= value < 1 << f.width:
                raise ValueError(f"{self.name}.{name} must be an integer in "
                                 f"0..{(1 << f.width) - 1}, not {value!r}")
            word |= int(value) << f.lsb
        return word

    def unpack(self, word):
        """The field values of a register value, by name."""
        return {f.name: (word & f.mask) >> f.lsb for f in self.fields}


def _wv(name):
    return lambda cfg: getattr(cfg.write_verify, name)


def _ramp(polarity):
    return (
        Field("start", 0, 8, f"first {polarity} amplitude, DAC codes",
              _wv(f"{polarity}_start"), port=f"{polarity}_start"),
        Field("step", 8, 8, f"{polarity} amplitude increment per pulse",
              _wv(f"{polarity}_step"), port=f"{polarity}_step"),
        Field("limit", 16, 8, f"largest {polarity} amplitude",
              _wv(f"{polarity}_limit"), port=f"{polarity}_limit"),
    )


def _span(what, count, doc):
    """First and last index of the write-verify rectangle along one axis."""
    return (
        Field("first", 0, 16, f"first {doc}", 0,
              lambda cfg: (0, count(cfg) - 1), ErrorCause.WV_SETTINGS, port=f"{what}_first"),
        Field("last", 16, 16, f"last {doc}", lambda cfg: count(cfg) - 1,
              lambda cfg: (0, count(cfg) - 1), ErrorCause.WV_SETTINGS, port=f"{what}_last"),
    )


_RO, _RW, _WO, _W1C = Access.RO, Access.RW, Access.WO, Access.W1C

REGISTERS = (
    Register("ID", 0x000, _RO, "identifies a cimtile", (
        Field("value", 0, 32, '"CIMT"', ID_VALUE),)),
    Register("VERSION", 0x004, _RO, "version of this register map", (
        Field("minor", 0, 16, "compatible additions", 1),
        Field("major", 16, 16, "incompatible changes", 1))),
    Register("CAP_ARRAY", 0x008, _RO, "array size", (
        Field("rows", 0, 16, "wordlines", lambda cfg: cfg.tile.rows),
        Field("cols", 16, 16, "logical output columns", lambda cfg: cfg.tile.cols))),
    Register("CAP_PRECISION", 0x00C, _RO, "precisions", (
        Field("in_bits_max", 0, 8, "largest SETTINGS.in_bits", lambda cfg: cfg.tile.in_bits),
        Field("w_bits", 8, 8, "weight bits including sign", lambda cfg: cfg.tile.w_bits),
        Field("bits_per_cell", 16, 8, "bits per memristor",
              lambda cfg: cfg.tile.bits_per_cell),
        Field("adc_bits", 24, 8, "ADC resolution", lambda cfg: cfg.tile.adc_bits))),
    Register("CAP_ADC", 0x010, _RO, "ADC sharing and result range", (
        Field("cols_per_adc", 0, 8, "physical columns per ADC",
              lambda cfg: cfg.tile.cols_per_adc),
        Field("adc_shift_max", 8, 8, "largest SETTINGS.adc_shift",
              lambda cfg: cfg.adc_shift_max),
        Field("result_width", 16, 8, "signed bits of a result", lambda cfg: cfg.result_width))),
    Register("CAP_STREAM", 0x014, _RO, "stream widths", (
        Field("data_width", 0, 16, "AXI4-Stream TDATA bits", lambda cfg: cfg.host.data_width),)),
    Register("CTRL", 0x020, _WO, "commands (one-cycle pulses)", (
        Field("start", 0, 1, "launch write-verify (program or read-back mode)"),
        Field("soft_reset", 1, 1, "return the datapath to idle; clear counters, IRQ_STATUS "
              "and STATUS (SETTINGS, IRQ_ENABLE, WV_* and the remap table are kept)"))),
    Register("SETTINGS", 0x024, _RW, "run-time settings", (
        Field("mode", 0, 2, "operating mode (see Modes)", Mode.COMPUTE,
              lambda cfg: (0, max(Mode)), ErrorCause.MODE),
        Field("in_bits", 8, 5, "input precision", lambda cfg: cfg.tile.in_bits,
              lambda cfg: (1, cfg.tile.in_bits), ErrorCause.IN_BITS),
        Field("adc_shift", 16, 5, "ADC LSB = 2**adc_shift column counts",
              lambda cfg: cfg.tile.adc_shift,
              lambda cfg: (0, cfg.adc_shift_max), ErrorCause.ADC_SHIFT)),
        busy_guarded=True, port="settings"),
    Register("STATUS", 0x028, _RO, "state; done and error mirror IRQ_STATUS", (
        Field("busy", 0, 1, "a vector is in the tile or its streams, or write-verify runs"),
        Field("done", 1, 1, "IRQ_STATUS.done"),
        Field("error", 2, 1, "IRQ_STATUS.error"),
        Field("cause", 8, 4, "ErrorCause of the latest error; cleared with IRQ_STATUS.error")),
        volatile=True),
    Register("IRQ_ENABLE", 0x02C, _RW, "interrupt enables", (
        Field("done", 0, 1, "raise irq on done"),
        Field("error", 1, 1, "raise irq on error"))),
    Register("IRQ_STATUS", 0x030, _W1C, "events; irq = |(IRQ_STATUS & IRQ_ENABLE)", (
        Field("done", 0, 1, "a batch (compute) or a write-verify run ended"),
        Field("error", 1, 1, "an error was flagged (see STATUS.cause)")),
        volatile=True),
    Register("MVM_COUNT", 0x040, _RO, "results sent (wraps)", (
        Field("value", 0, 32, "count"),), volatile=True),
    Register("BUSY_CYCLES", 0x044, _RO, "cycles with STATUS.busy high (wraps)", (
        Field("value", 0, 32, "count"),), volatile=True),
    Register("PULSE_COUNT", 0x048, _RO, "programming pulses applied (wraps)", (
        Field("value", 0, 32, "count"),), volatile=True),
    Register("WV_TOL", 0x060, _RW, "write-verify window", (
        Field("tol", 0, 16, "verify window half-width, ADC codes", _wv("tol")),),
        busy_guarded=True, port="wv_settings"),
    Register("WV_SET", 0x064, _RW, "SET pulse ramp", _ramp("set"),
             busy_guarded=True, port="wv_settings"),
    Register("WV_RESET", 0x068, _RW, "RESET pulse ramp", _ramp("reset"),
             busy_guarded=True, port="wv_settings"),
    Register("WV_PULSE", 0x06C, _RW, "pulse budget and width", (
        Field("max_pulses", 0, 8, "pulses per cell before it is declared failed",
              _wv("max_pulses")),
        Field("width", 16, 16, "pulse width, cycles", _wv("pulse_width"), port="pulse_width")),
        busy_guarded=True, port="wv_settings"),
    Register("WV_ROWS", 0x070, _RW, "rows of the write-verify rectangle",
             _span("row", lambda cfg: cfg.tile.rows, "row"),
             busy_guarded=True, port="wv_settings"),
    Register("WV_COLS", 0x074, _RW, "physical columns of the write-verify rectangle",
             _span("col", lambda cfg: cfg.cols_phys, "physical column"),
             busy_guarded=True, port="wv_settings"),
    Register("CAP_SPARES", 0x080, _RO, "column redundancy", (
        Field("spare_cols", 0, 16, "spare physical columns (after the data columns)",
              lambda cfg: cfg.tile.spare_cols),
        Field("data_cols", 16, 16, "data physical columns (entries of the remap table)",
              lambda cfg: cfg.cols_data))),
    Register("REMAP_COL", 0x084, _RW, "remap table entry that REMAP_SPARE accesses", (
        Field("col", 0, 16, "data physical column", 0,
              lambda cfg: (0, cfg.cols_data - 1), ErrorCause.REMAP),)),
    Register("REMAP_SPARE", 0x088, _RW, "remap table entry of data column REMAP_COL.col "
             "(reads and writes the table, not a register of its own)", (
        Field("spare", 0, 16, "0: the column reads itself; k: it reads spare column k - 1 "
              "(physical column data_cols + k - 1)", 0,
              lambda cfg: (0, cfg.tile.spare_cols), ErrorCause.REMAP),),
        busy_guarded=True),
)

_BY_NAME = {r.name: r for r in REGISTERS}
assert len(_BY_NAME) == len(REGISTERS)
assert len({r.offset for r in REGISTERS}) == len(REGISTERS)


def register(name):
    """The register called ``name``."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"no register {name!r}; expected one of {', '.join(_BY_NAME)}") from None


def capabilities(cfg):
    """The constant fields (ID, VERSION, CAP_*) of a tile, by ``"REG.field"``."""
    return {f"{r.name}.{f.name}": f.reset_value(cfg) for r in REGISTERS
            if r.access is Access.RO and not r.volatile for f in r.fields}


def _bits(f):
    return f"[{f.msb}:{f.lsb}]" if f.width > 1 else f"[{f.lsb}]"


def _cell(text):
    return str(text).replace("|", "\\|")


def _value(f, value):
    return f"0x{value:08X}" if f.width == DATA_WIDTH else str(value)


def _config_line(cfg):
    t = cfg.tile
    return (f"rows {t.rows}, cols {t.cols}, in_bits {t.in_bits}, w_bits {t.w_bits}, "
            f"bits_per_cell {t.bits_per_cell}, adc_bits {t.adc_bits}, adc_shift {t.adc_shift}, "
            f"cols_per_adc {t.cols_per_adc}, spare_cols {t.spare_cols}, "
            f"host data_width {cfg.host.data_width}")


def markdown(cfg):
    """docs/registers.md: registers, fields, reset values for ``cfg``, causes, modes, rules."""
    out = ["# cimtile host registers", "",
           "Generated by `cimtile regmap --format md` from `src/cimtile/spec/regmap.py`; do not edit.",
           "", f"AXI4-Lite, {DATA_WIDTH}-bit data, {ADDR_WIDTH}-bit byte addresses. "
           f"Reset values are for the tile: {_config_line(cfg)}.", "",
           "Access: RO read-only, RW read-write, WO write-only (reads 0), W1C write 1 to clear.",
           "", "| offset | register | access | reset | description |",
           "| --- | --- | --- | --- | --- |"]
    for r in REGISTERS:
        notes = [r.doc] + (["refused while busy"] if r.busy_guarded else [])
        out.append(f"| 0x{r.offset:03X} | [{r.name}](#{r.name.lower()}) | {r.access.value} | "
                   f"0x{r.reset_value(cfg):08X} | {_cell('; '.join(notes))} |")
    for r in REGISTERS:
        out += ["", f"## {r.name}", "", f"0x{r.offset:03X}, {r.access.value}: {r.doc}.", "",
                "| bits | field | reset | valid (cause) | description |",
                "| --- | --- | --- | --- | --- |"]
        for f in r.fields:
            valid = ""
            if f.valid:
                lo, hi = f.valid_range(cfg)
                valid = f"{lo}..{hi} ({f.cause.name})"
            out.append(f"| {_bits(f)} | {f.name} | {_value(f, f.reset_value(cfg))} | {valid} | "
                       f"{_cell(f.doc)} |")
    out += ["", "## Error causes (STATUS.cause)", "", "| value | cause | meaning |",
            "| --- | --- | --- |"]
    out += [f"| {c.value} | {c.name} | {_cell(CAUSE_DOCS[c])} |" for c in ErrorCause]
    out += ["", "## Modes (SETTINGS.mode)", "", "| value | mode | meaning |", "| --- | --- | --- |"]
    out += [f"| {m.value} | {m.name} | {MODE_DOCS[m]} |" for m in Mode]
    out += ["", "## Refusal rules", ""] + [f"- {rule}" for rule in REFUSAL_RULES]
    return "\n".join(out) + "\n"


def c_header(cfg):
    """A C header: offsets, reset values, field shifts and masks, causes, modes and the
    constant (capability) values of ``cfg``."""
    out = ["/* cimtile host registers: generated by `cimtile regmap --format c` from",
           " * src/cimtile/spec/regmap.py; do not edit.",
           f" * Reset and capability values are for the tile: {_config_line(cfg)}. */",
           "#ifndef CIMTILE_REGS_H", "#define CIMTILE_REGS_H", ""]
    for r in REGISTERS:
        p = f"CIMTILE_{r.name}"
        out += [f"/* {r.name} ({r.access.value}): {r.doc} */",
                f"#define {p}_OFFSET 0x{r.offset:03X}u",
                f"#define {p}_RESET 0x{r.reset_value(cfg):08X}u"]
        for f in r.fields:
            q = f"{p}_{f.name.upper()}"
            out += [f"#define {q}_SHIFT {f.lsb}u", f"#define {q}_MASK 0x{f.mask:08X}u"]
            if r.access is Access.RO and not r.volatile:
                out.append(f"#define {q}_VALUE {f.reset_value(cfg)}u")
            elif f.valid:
                lo, hi = f.valid_range(cfg)
                out += [f"#define {q}_MIN {lo}u", f"#define {q}_MAX {hi}u"]
        out.append("")
    out.append("/* STATUS.cause */")
    out += [f"#define CIMTILE_CAUSE_{c.name} {c.value}u" for c in ErrorCause]
    out += ["", "/* SETTINGS.mode */"]
    out += [f"#define CIMTILE_MODE_{m.name} {m.value}u" for m in Mode]
    out += ["", "#endif /* CIMTILE_REGS_H */"]
    return "\n".join(out) + "\n"
