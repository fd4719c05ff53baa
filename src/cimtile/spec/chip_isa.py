"""The chip sequencer's instruction set, declared once.

Every instruction is one 64-bit word: the opcode in bits [3:0], then the operands of its
format (:data:`FORMATS`), every other bit zero. Lengths are encoded minus one, so a field of
w bits holds 1..2**w. The sequencer issues instructions in order and waits only on data:
an instruction starts once the values it reads are written, the values it overwrites are
read and the unit it needs is free. The chip golden model
(:mod:`cimtile.models.chip_golden`) defines what each one computes; docs/chip_isa.md is
generated from this module (:func:`cimtile.spec.chip_isa_docs.markdown`).
"""

import operator
from dataclasses import dataclass

from amaranth.lib import enum as hdl_enum

from .mapping import DataError

__all__ = ["WORD_BITS", "OPCODE_BITS", "TILE_LIMIT", "ADDRESS_LIMIT", "IsaError", "Opcode",
           "Operand", "FORMATS", "OPCODE_DOCS", "Instruction", "encode", "decode",
           "encode_program", "decode_program"]

WORD_BITS = 64
OPCODE_BITS = 4
#: Most tiles an instruction can name (6-bit tile fields).
TILE_LIMIT = 64
#: Most activations an instruction can address (16-bit addresses).
ADDRESS_LIMIT = 1 << 16


class IsaError(DataError):
    """An instruction or word is invalid; the message names the operation and operand."""


class Opcode(hdl_enum.Enum, shape=OPCODE_BITS):
    """What an instruction does (bits [3:0] of its word)."""
    HALT = 0
    MVM = 1
    ACC = 2
    MOVE = 3
    BARRIER = 4


OPCODE_DOCS = {
    Opcode.HALT: "End of the program, once every issued instruction has completed.",
    Opcode.MVM: "Tile `tile` multiplies the `length` activations at `src` (zero-padded to "
                "its rows) by the block it holds, one MVM at a time; the result waits in one "
                "of the tile's result_buffers until an ACC reads it, and the tile takes no "
                "MVM while its unread results and the one an ACC is reading fill them.",
    Opcode.ACC: "The post-processing unit adds the results of the `count` tiles from "
                "`tile` on (the row blocks of one column block, in tile order, each "
                "addition saturating to acc_bits), multiplies output i by mult[`param` + i], "
                "adds bias[`param` + i], shifts right by `shift` rounding half up, applies "
                "ReLU if `relu`, saturates to out_bits and writes the first `length` outputs "
                "to `dst`.",
    Opcode.MOVE: "Copies `length` activations from `src` to `dst`.",
    Opcode.BARRIER: "Waits until every issued instruction has completed.",
}


@dataclass(frozen=True)
class Operand:
    """One operand of a format: bits [lsb + width - 1 : lsb] of the word.

    Members
    -------
    name : str
    lsb, width : int
    doc : str
    offset : int
        The value encoded is ``value - offset`` (1 for lengths and counts).
    """
    name: str
    lsb: int
    width: int
    doc: str
    offset: int = 0

    @property
    def low(self):
        return self.offset

    @property
    def high(self):
        return self.offset + (1 << self.width) - 1


def _fields(*specs):
    """Operands laid out from bit OPCODE_BITS up, in order."""
    operands, lsb = [], OPCODE_BITS
    for name, width, doc, *offset in specs:
        operands.append(Operand(name, lsb, width, doc, *offset))
        lsb += width
    assert lsb <= WORD_BITS
    return tuple(operands)


FORMATS = {
    Opcode.HALT: (),
    Opcode.MVM: _fields(("tile", 6, "tile number"),
                        ("src", 16, "activation address of the first input"),
                        ("length", 10, "inputs, at most the tile's rows", 1)),
    Opcode.ACC: _fields(("tile", 6, "first tile of the row blocks"),
                        ("count", 6, "row blocks (tiles) added", 1),
                        ("dst", 16, "activation address of the first output"),
                        ("length", 8, "outputs written, at most the tile's cols", 1),
                        ("param", 16, "post-processing memory address of the first output's "
                                      "multiplier and bias"),
                        ("shift", 5, "right shift after the multiplication"),
                        ("relu", 1, "1: negative results become 0")),
    Opcode.MOVE: _fields(("src", 16, "activation address of the first value"),
                         ("dst", 16, "activation address it is copied to"),
                         ("length", 16, "values copied", 1)),
    Opcode.BARRIER: (),
}


@dataclass(frozen=True)
class Instruction:
    """One instruction: its opcode and its operands' values, in the order of its format.

    Build one with :meth:`make`; read an operand with ``instruction["name"]``.
    """
    op: Opcode
    values: tuple

    @classmethod
    def make(cls, op, **operands):
        """The instruction `op` with `operands`, each checked against its field.

        Raises
        ------
        IsaError
            If an operand is missing, unknown or out of its field's range.
        """
        op = Opcode(op)
        fields = FORMATS[op]
        names = [f.name for f in fields]
        for name in operands:
            if name not in names:
                raise IsaError(f"{op.name} has no operand {name}; expected "
                               f"{', '.join(names) or 'none'}")
        values = []
        for f in fields:
            if f.name not in operands:
                raise IsaError(f"{op.name}.{f.name} is missing")
            value = operands[f.name]
            try:
                number = operator.index(value)
            except TypeError:
                number = None
            if number is None or not f.low <= number <= f.high:
                raise IsaError(f"{op.name}.{f.name} must be an integer in "
                               f"{f.low}..{f.high}, not {value!r}")
            values.append(number)
        return cls(op, tuple(values))

    def __getitem__(self, name):
        for f, value in zip(FORMATS[self.op], self.values):
            if f.name == name:
                return value
        raise KeyError(name)

    def __str__(self):
        operands = ", ".join(f"{f.name}={v}" for f, v in zip(FORMATS[self.op], self.values))
        return f"{self.op.name} {operands}".rstrip()


def encode(instruction):
    """The 64-bit word of `instruction`."""
    word = instruction.op.value
    for f, value in zip(FORMATS[instruction.op], instruction.values):
        word |= (value - f.offset) << f.lsb
    return word


def decode(word):
    """The :class:`Instruction` of a 64-bit word.

    Raises
    ------
    IsaError
        If the word is out of range, its opcode unknown or a bit outside its format set.
    """
    word = int(word)
    if not 0 <= word < 1 << WORD_BITS:
        raise IsaError(f"a word must be in 0..2**{WORD_BITS} - 1, not {word}")
    code = word & ((1 << OPCODE_BITS) - 1)
    try:
        op = Opcode(code)
    except ValueError:
        raise IsaError(f"word 0x{word:016X}: opcode {code} is not one of "
                       + ", ".join(f"{o.value} ({o.name})" for o in Opcode)) from None
    used = (1 << OPCODE_BITS) - 1
    values = []
    for f in FORMATS[op]:
        mask = (1 << f.width) - 1
        used |= mask << f.lsb
        values.append(((word >> f.lsb) & mask) + f.offset)
    if word & ~used:
        raise IsaError(f"word 0x{word:016X}: {op.name} leaves bits 0x{word & ~used:016X} "
                       "unused, and they must be 0")
    return Instruction(op, tuple(values))


def encode_program(instructions):
    """The words of `instructions`, as a list of ints."""
    return [encode(instruction) for instruction in instructions]


def decode_program(words):
    """The instructions of `words`.

    Raises
    ------
    IsaError
        If a word is invalid; the message starts with its index.
    """
    program = []
    for index, word in enumerate(words):
        try:
            program.append(decode(word))
        except IsaError as error:
            raise IsaError(f"instruction {index}: {error}") from None
    return program
