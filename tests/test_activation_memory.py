"""The activation memory against a Python list: random writes and reads, the same address
read and written in one cycle, and reads held while not enabled."""

import numpy as np
import pytest

from cimtile.hdl.activation_memory import ActivationMemory

from amaranth_sim import run


def test_reads_give_what_was_written_before_them():
    rng = np.random.default_rng(0)
    dut = ActivationMemory(depth=16, lanes=3, bits=8)
    model = [[0, 0, 0] for _ in range(16)]
    checked = []

    async def bench(ctx):
        expected = None
        for _ in range(400):
            w_en, r_en = bool(rng.random() < 0.5), bool(rng.random() < 0.6)
            w_addr, r_addr = int(rng.integers(16)), int(rng.integers(16))
            if rng.random() < 0.2:
                r_addr = w_addr  # a read of the address written in the same cycle
            word = rng.integers(-128, 128, 3).tolist()
            ctx.set(dut.w_en, w_en)
            ctx.set(dut.w_addr, w_addr)
            ctx.set(dut.w_data, word)
            ctx.set(dut.r_en, r_en)
            ctx.set(dut.r_addr, r_addr)
            if r_en:
                expected = list(model[r_addr])  # the word before this cycle's write
            if w_en:
                model[w_addr] = word
            await ctx.tick()
            if expected is not None:
                got = [int(v) for v in ctx.get(dut.r_data)]
                assert got == expected, f"read {got}, expected {expected}"
                checked.append(r_en)

    run(dut, bench)
    assert sum(checked) > 100 and not all(checked)  # reads, and cycles that hold one


def test_sizes_are_checked():
    with pytest.raises(ValueError, match=r"^depth must be a positive integer, not 0$"):
        ActivationMemory(depth=0, lanes=2, bits=8)
