"""The span memory against a Python list: spans read and written from any address through
several ports at once, partial writes, a read of what is written in the same cycle, and
reads held while not enabled."""

import numpy as np
import pytest
from amaranth.hdl import signed

from cimtile.hdl.span_memory import SpanMemory

from amaranth_sim import run

LANES, DEPTH = 3, 20


def test_spans_read_what_was_written_before_them():
    rng = np.random.default_rng(0)
    dut = SpanMemory(shape=signed(6), lanes=LANES, depth=DEPTH, readers=2, writers=2)
    model = [0] * DEPTH
    checked = []

    async def bench(ctx):
        expected = [None, None]
        for _ in range(300):
            writes = []
            for port in dut.write:
                addr = int(rng.integers(DEPTH))
                count = int(rng.integers(0, min(LANES, DEPTH - addr) + 1))
                data = rng.integers(-32, 32, LANES).tolist()
                en = bool(rng.random() < 0.6)
                ctx.set(port.en, en)
                ctx.set(port.addr, addr)
                ctx.set(port.count, count)
                ctx.set(port.data, data)
                if en:
                    writes.append((addr, data[:count]))
            for r, port in enumerate(dut.read):
                addr, en = int(rng.integers(DEPTH - LANES + 1)), bool(rng.random() < 0.6)
                ctx.set(port.en, en)
                ctx.set(port.addr, addr)
                if en:    # the span before this cycle's writes
                    expected[r] = model[addr:addr + LANES]
            for addr, values in writes:    # the later port's value wins
                model[addr:addr + len(values)] = values
            await ctx.tick()
            for r, port in enumerate(dut.read):
                if expected[r] is not None:
                    got = [int(v) for v in ctx.get(port.data)]
                    assert got == expected[r]
                    checked.append(r)

    run(dut, bench)
    assert len(checked) > 400


def test_sizes_are_checked():
    with pytest.raises(ValueError, match=r"^readers must be a positive integer, not 0$"):
        SpanMemory(shape=8, lanes=2, depth=4, readers=0, writers=1)
