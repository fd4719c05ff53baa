"""The host register map, declared once: every register and field (:data:`REGISTERS`), the
error causes and modes they report, and the rules by which a write is refused.
"""

from amaranth.lib import enum as hdl_enum

from .register_model import BUS_RULES, Access, Field, Register, constants, lookup

__all__ = ["ErrorCause", "Mode", "CAUSE_DOCS", "MODE_DOCS", "REGISTERS", "ID_VALUE",
           "REFUSAL_RULES", "register", "capabilities"]

ID_VALUE = 0x43494D54   # "CIMT"


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
) + BUS_RULES

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

register = lookup(REGISTERS)


def capabilities(cfg):
    """The constant fields (ID, VERSION, CAP_*) of a tile, by ``"REG.field"``."""
    return constants(REGISTERS, cfg)
