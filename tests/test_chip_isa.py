"""The chip's instruction set: every instruction survives encode and decode, operands and
words out of range are refused naming the operation and operand, and docs/chip_isa.md is
the generator's output."""

import re
from pathlib import Path

import numpy as np
import pytest

from cimtile import cli
from cimtile.spec.chip_isa import (FORMATS, IsaError, Instruction, Opcode, decode,
                                   decode_program, encode, encode_program)
from cimtile.spec.chip_isa_docs import markdown

DOCS = Path(__file__).resolve().parents[1] / "docs"


def random_instruction(rng, op):
    return Instruction.make(op, **{f.name: int(rng.integers(f.low, f.high + 1))
                                   for f in FORMATS[op]})


@pytest.mark.parametrize("op", list(Opcode))
def test_round_trip(op):
    rng = np.random.default_rng(op.value)
    extremes = [Instruction.make(op, **{f.name: getattr(f, end) for f in FORMATS[op]})
                for end in ("low", "high")]
    for ins in extremes + [random_instruction(rng, op) for _ in range(200)]:
        word = encode(ins)
        assert 0 <= word < 2**64 and word & 0xF == op.value
        assert decode(word) == ins


def test_program_round_trip_and_fields():
    rng = np.random.default_rng(1)
    program = [random_instruction(rng, op) for op in rng.choice(list(Opcode), 100)]
    assert decode_program(encode_program(program)) == program
    ins = Instruction.make(Opcode.ACC, tile=3, count=2, dst=100, length=16, param=7, shift=20,
                           relu=True)
    assert encode(ins) == 0x3400070F00640432
    assert ins["count"] == 2 and ins["relu"] == 1
    assert str(ins) == "ACC tile=3, count=2, dst=100, length=16, param=7, shift=20, relu=1"
    assert encode(Instruction.make(Opcode.HALT)) == 0
    assert Instruction.make(Opcode.MOVE, src=np.int64(1), dst=2, length=3).values == (1, 2, 3)


@pytest.mark.parametrize("op, operands, message", [
    (Opcode.MVM, dict(tile=64, src=0, length=1), "MVM.tile must be an integer in 0..63, not 64"),
    (Opcode.MVM, dict(tile=0, src=0, length=0), "MVM.length must be an integer in 1..1024, "
     "not 0"),
    (Opcode.ACC, dict(tile=0, count=1, dst=0, length=1, param=0, shift=32, relu=0),
     "ACC.shift must be an integer in 0..31, not 32"),
    (Opcode.MOVE, dict(src=0, dst=1.5, length=1), "MOVE.dst must be an integer in 0..65535, "
     "not 1.5"),
    (Opcode.MOVE, dict(src=0, length=1), "MOVE.dst is missing"),
    (Opcode.HALT, dict(tile=0), "HALT has no operand tile; expected none"),
])
def test_bad_operands_are_refused(op, operands, message):
    with pytest.raises(IsaError, match=f"^{re.escape(message)}$"):
        Instruction.make(op, **operands)


@pytest.mark.parametrize("word, message", [
    (0xF, "word 0x000000000000000F: opcode 15 is not one of 0 (HALT), 1 (MVM), 2 (ACC), "
          "3 (MOVE), 4 (BARRIER)"),
    (0x10, "word 0x0000000000000010: HALT leaves bits 0x0000000000000010 unused, and they "
           "must be 0"),
    (1 << 40 | 1, "word 0x0000010000000001: MVM leaves bits 0x0000010000000000 unused"),
    (2**64, "a word must be in 0..2**64 - 1, not 18446744073709551616"),
])
def test_bad_words_are_refused(word, message):
    with pytest.raises(IsaError, match=re.escape(message)):
        decode(word)
    with pytest.raises(IsaError, match="^instruction 1: "):
        decode_program([0, word])


def test_committed_doc_is_generated():
    assert (DOCS / "chip_isa.md").read_text() == markdown(), \
        "docs/chip_isa.md is stale: regenerate it with cimtile isa --out docs/chip_isa.md"


def test_cli_isa(tmp_path):
    out = tmp_path / "isa.md"
    assert cli.main(["isa", "--out", str(out)]) == 0
    assert out.read_text() == markdown()
    assert cli.main(["isa", "--out", str(tmp_path / "missing" / "x")]) == cli.EXIT_BAD_INPUT
