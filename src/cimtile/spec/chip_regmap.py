"""The chip's host register map, declared once: every register and field
(:data:`REGISTERS`), the error causes they report and the rules by which a write is refused.

Registers are declared as the tile's are (:mod:`.register_model`); a reset value or a
valid range is a function of the :class:`~cimtile.spec.chip_config.ChipConfig`. The
write-verify, per-tile setting and remap registers are the tile's own
(:mod:`.register_table`), moved to the chip's offsets and read through the chip's tile.
Everything else is generated from :data:`REGISTERS`: the register block
(``cimtile.hdl.chip_registers``), docs/chip_registers.md and the C header
(:mod:`.chip_regmap_docs`).
"""

import dataclasses

from amaranth.lib import enum as hdl_enum

from . import register_table as tile_map
from .register_model import BUS_RULES, Access, Field, Register, constants, lookup

__all__ = ["ErrorCause", "CAUSE_DOCS", "REFUSAL_RULES", "REGISTERS", "ID_VALUE", "register",
           "capabilities", "GUARDED_COMMANDS"]

ID_VALUE = 0x43494D43   # "CIMC"


class ErrorCause(hdl_enum.IntEnum, shape=4):
    """STATUS.cause: why IRQ_STATUS.error was last set."""
    NONE = 0
    BUSY = 1
    READ_ONLY = 2
    ADDRESS = 3
    TILE = 4
    IN_BITS = 5
    ADC_SHIFT = 6
    WV_SETTINGS = 7
    REMAP = 8
    SPAN = 9
    STREAM_KEEP = 10
    STREAM_LAST = 11
    SEQUENCER = 12


CAUSE_DOCS = {
    ErrorCause.NONE: "no error since IRQ_STATUS.error was last cleared",
    ErrorCause.BUSY: "a write refused while busy (see Refusal rules), or CTRL.start, "
                     "CTRL.scores or TILE_CTRL.start while busy",
    ErrorCause.READ_ONLY: "a write to a read-only register",
    ErrorCause.ADDRESS: "an address or span register out of its memory (PROG_ADDR, "
                        "PARAM_ADDR, ACT_ADDR, IMAGE_*, SCORE_*), a data write at the "
                        "memory's end, or an image activation past the activation memory "
                        "(dropped)",
    ErrorCause.TILE: "TILE_SEL.tile beyond the chip's tiles",
    ErrorCause.IN_BITS: "TILE_SETTINGS.in_bits 0 or above the tile's in_bits",
    ErrorCause.ADC_SHIFT: "TILE_SETTINGS.adc_shift above the tile's adc_shift_max",
    ErrorCause.WV_SETTINGS: "a WV_ROWS/WV_COLS bound outside the tile's array, or the "
                            "write-verify engine refused the WV_* settings at start",
    ErrorCause.REMAP: "REMAP_COL.col beyond the data columns, or REMAP_SPARE.spare beyond "
                      "the spare columns",
    ErrorCause.SPAN: "CTRL.start or CTRL.scores with a SCORE span past the activation "
                     "memory's end",
    ErrorCause.STREAM_KEEP: "an image or target beat with a data byte whose tkeep is 0 "
                            "(the rest of the beat is dropped)",
    ErrorCause.STREAM_LAST: "TLAST before an image's (or a rectangle's) last activation, "
                            "or its last activation without TLAST",
    ErrorCause.SEQUENCER: "a run ended without its HALT (STATUS.seq_error says why)",
}

#: Commands (``(register, field)``) refused while busy, besides the registers marked so.
GUARDED_COMMANDS = (("CTRL", "start"), ("CTRL", "scores"), ("TILE_CTRL", "start"))

REFUSAL_RULES = (
    "A refused write changes nothing (the whole register write is dropped), answers BRESP = "
    "SLVERR and sets IRQ_STATUS.error and STATUS.cause (the latest cause wins; a datapath "
    "error in the same cycle wins over a refused write).",
    "STATUS.busy is high while the sequencer runs, a tile's write-verify runs or its cell "
    "results wait, scores are being sent (or a run has just ended and its scores are about "
    "to be), or an image is part way in. Registers marked "
    "'refused while busy', CTRL.start, CTRL.scores and TILE_CTRL.start are refused while "
    "busy (BUSY): nothing the sequencer, a programming tile, the score reader or the image "
    "writer uses changes under it.",
    "Checks in order, the first failing one gives the cause: BUSY, then each field's valid "
    "range from bit 0 upward, then the memory end (ADDRESS) for PROG_DATA_HI, PARAM_BIAS "
    "and ACT_DATA, and the SCORE span (SPAN) for CTRL.start and CTRL.scores.",
    "A write of PROG_DATA_HI, PARAM_BIAS or ACT_DATA stores one word in its memory at its "
    "address register, which then counts up by one (to the memory's size at most: the "
    "next such write is refused with ADDRESS until the address is written again).",
    "CTRL.start and CTRL.scores written together: the run starts and its scores are sent "
    "when it ends, as for CTRL.start alone.",
) + BUS_RULES


def _on_tile(value):
    """A tile register's reset value or valid range, taken from the chip's tile."""
    return (lambda chip: value(chip.tile)) if callable(value) else value


def _tile_register(tile_name, offset, *, without=(), **changes):
    """The tile's register `tile_name` at `offset` of the chip map, its fields read through
    the chip's tile and its causes the chip's."""
    fields = tuple(
        dataclasses.replace(f, reset=_on_tile(f.reset), valid=f.valid and _on_tile(f.valid),
                            cause=f.cause and ErrorCause[f.cause.name])
        for f in tile_map.register(tile_name).fields if f.name not in without)
    return dataclasses.replace(tile_map.register(tile_name), offset=offset, fields=fields,
                               **changes)


def _elements(chip):
    return chip.act_elements


def _address(memory, size):
    """An address register of `memory` (``size(chip)`` words): written 0..size - 1, counted
    up to size by the data writes."""
    return Field("addr", 0, 17, f"next {memory} address", 0,
                 lambda chip: (0, size(chip) - 1), ErrorCause.ADDRESS)


def _span(what, doc):
    """First activation and length of an activation-memory span."""
    return (
        Register(f"{what}_ADDR", 0, Access.RW, f"first activation of the {doc}", (
            Field("addr", 0, 16, "activation address", 0,
                  lambda chip: (0, chip.act_elements - 1), ErrorCause.ADDRESS),),
            busy_guarded=True),
        Register(f"{what}_LEN", 0, Access.RW, f"activations of the {doc}", (
            Field("length", 0, 17, "activations", 1,
                  lambda chip: (1, chip.act_elements), ErrorCause.ADDRESS),),
            busy_guarded=True),
    )


_RO, _RW, _WO, _W1C = Access.RO, Access.RW, Access.WO, Access.W1C
_IMAGE = _span("IMAGE", "image s_axis_image writes (an image is one frame)")
_SCORE = _span("SCORE", "scores m_axis_scores sends")

REGISTERS = (
    Register("ID", 0x000, _RO, "identifies a cimtile chip", (
        Field("value", 0, 32, '"CIMC"', ID_VALUE),)),
    Register("VERSION", 0x004, _RO, "version of this register map", (
        Field("minor", 0, 16, "compatible additions", 0),
        Field("major", 16, 16, "incompatible changes", 1))),
    Register("CAP_CHIP", 0x008, _RO, "the chip", (
        Field("tiles", 0, 8, "tiles", lambda chip: chip.chip.tiles),
        Field("out_bits", 8, 8, "signed bits of an activation", lambda chip: chip.chip.out_bits),
        Field("data_width", 16, 16, "AXI4-Stream TDATA bits",
              lambda chip: chip.tile.host.data_width))),
    Register("CAP_TILE", 0x00C, _RO, "each tile's array", (
        Field("rows", 0, 16, "wordlines", lambda chip: chip.tile.tile.rows),
        Field("cols", 16, 16, "logical output columns", lambda chip: chip.tile.tile.cols))),
    Register("CAP_ACT", 0x010, _RO, "activation memory", (
        Field("elements", 0, 17, "activations", _elements),)),
    Register("CAP_PROGRAM", 0x014, _RO, "instruction memory", (
        Field("words", 0, 17, "64-bit instruction words", lambda chip: chip.chip.program_words),)),
    Register("CAP_PARAM", 0x018, _RO, "post-processing parameter memory", (
        Field("words", 0, 17, "outputs (a multiplier and a bias each)",
              lambda chip: chip.chip.param_words),)),
    Register("CAP_WIDTHS", 0x01C, _RO, "parameter widths", (
        Field("mult_bits", 0, 8, "signed bits of a multiplier", lambda chip: chip.chip.mult_bits),
        Field("bias_bits", 8, 8, "signed bits of a bias", lambda chip: chip.chip.bias_bits))),
    Register("CTRL", 0x020, _WO, "commands (one-cycle pulses)", (
        Field("start", 0, 1, "run the program from word 0; its SCORE span is sent on "
              "m_axis_scores when it ends with its HALT"),
        Field("scores", 1, 1, "send the SCORE span on m_axis_scores now"))),
    Register("STATUS", 0x024, _RO, "state; done and error mirror IRQ_STATUS", (
        Field("busy", 0, 1, "running, programming, sending or loading (see Refusal rules)"),
        Field("running", 1, 1, "the sequencer runs"),
        Field("programming", 2, 1, "a tile's write-verify runs, or its cell results wait"),
        Field("sending", 3, 1, "scores are being sent, or are about to be"),
        Field("loading", 4, 1, "an image is part way in"),
        Field("done", 8, 1, "IRQ_STATUS.done"),
        Field("error", 9, 1, "IRQ_STATUS.error"),
        Field("seq_error", 12, 3, "why the last run ended (cimtile.hdl.chip_sequencer."
              "SequencerError; 0: its HALT)"),
        Field("cause", 16, 4, "ErrorCause of the latest error; cleared with "
              "IRQ_STATUS.error")),
        volatile=True),
    Register("IRQ_ENABLE", 0x028, _RW, "interrupt enables", (
        Field("done", 0, 1, "raise irq on done"),
        Field("programmed", 1, 1, "raise irq on programmed"),
        Field("error", 2, 1, "raise irq on error"))),
    Register("IRQ_STATUS", 0x02C, _W1C, "events; irq = |(IRQ_STATUS & IRQ_ENABLE)", (
        Field("done", 0, 1, "a run ended"),
        Field("programmed", 1, 1, "a tile's write-verify run ended"),
        Field("error", 2, 1, "an error was flagged (see STATUS.cause)")),
        volatile=True),
    Register("PC", 0x030, _RO, "the sequencer's program counter", (
        Field("pc", 0, 16, "address of the instruction waiting to issue, or (after a run "
              "ended on an error) of the offending one"),), volatile=True),
    Register("PROG_ADDR", 0x040, _RW, "where PROG_DATA_HI stores the next instruction",
             (_address("instruction", lambda chip: chip.chip.program_words),),
             busy_guarded=True),
    Register("PROG_DATA_LO", 0x044, _RW, "bits 31..0 of the next instruction", (
        Field("value", 0, 32, "low word"),)),
    Register("PROG_DATA_HI", 0x048, _WO, "bits 63..32 of the next instruction: the write "
             "stores the word at PROG_ADDR and counts PROG_ADDR up", (
                 Field("value", 0, 32, "high word"),), busy_guarded=True),
    Register("PARAM_ADDR", 0x050, _RW, "where PARAM_BIAS stores the next output's "
             "parameters", (_address("parameter", lambda chip: chip.chip.param_words),),
             busy_guarded=True),
    Register("PARAM_MULT", 0x054, _RW, "the next output's multiplier", (
        Field("value", 0, 32, "two's complement; its low mult_bits bits are stored"),)),
    Register("PARAM_BIAS_HI", 0x058, _RW, "bits 63..32 of the next output's bias", (
        Field("value", 0, 32, "used when bias_bits is over 32"),)),
    Register("PARAM_BIAS", 0x05C, _WO, "bits 31..0 of the next output's bias: the write "
             "stores PARAM_MULT and the bias at PARAM_ADDR and counts PARAM_ADDR up", (
                 Field("value", 0, 32, "two's complement; the bias's low bias_bits bits "
                       "are stored"),), busy_guarded=True),
    Register("ACT_ADDR", 0x060, _RW, "the activation ACT_DATA accesses",
             (_address("activation", _elements),)),
    Register("ACT_DATA", 0x064, _RW, "a read gives the activation at ACT_ADDR (0 at the "
             "memory's end; while the sequencer runs, as it was before the run); a write "
             "stores one there and counts ACT_ADDR up", (
                 Field("value", 0, 32, "two's complement, sign-extended on reads; the low "
                       "out_bits bits are stored"),), busy_guarded=True),
    dataclasses.replace(_IMAGE[0], offset=0x068),
    dataclasses.replace(_IMAGE[1], offset=0x06C),
    dataclasses.replace(_SCORE[0], offset=0x070),
    dataclasses.replace(_SCORE[1], offset=0x074),
    Register("TILE_SEL", 0x080, _RW, "the tile that TILE_*, REMAP_*, s_axis_target and "
             "m_axis_cell reach", (
                 Field("tile", 0, 8, "tile", 0, lambda chip: (0, chip.chip.tiles - 1),
                       ErrorCause.TILE),), busy_guarded=True),
    _tile_register("SETTINGS", 0x084, without=("mode",), name="TILE_SETTINGS",
                   doc="the selected tile's run-time settings (each tile keeps its own)",
                   port="tile_settings"),
    Register("TILE_CTRL", 0x088, _WO, "the selected tile's write-verify (one-cycle pulse)", (
        Field("start", 0, 1, "program the WV rectangle from s_axis_target, each cell's "
              "result on m_axis_cell"),
        Field("read_back", 1, 1, "with start: read every cell of the rectangle instead (no "
              "pulses, no targets taken)"))),
    _tile_register("REMAP_COL", 0x090),
    _tile_register("REMAP_SPARE", 0x094, doc="remap table entry of the selected tile's data "
                   "column REMAP_COL.col (reads and writes the table)"),
    _tile_register("CAP_SPARES", 0x098),
) + tuple(_tile_register(name, 0x0A0 + 4 * k) for k, name in enumerate(
    ("WV_TOL", "WV_SET", "WV_RESET", "WV_PULSE", "WV_ROWS", "WV_COLS")))

register = lookup(REGISTERS)


def capabilities(chip):
    """The constant fields (ID, VERSION, CAP_*) of a chip, by ``"REG.field"``."""
    return constants(REGISTERS, chip)
