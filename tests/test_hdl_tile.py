"""The whole tile in the Amaranth simulator, its analog port answered by the behavioural macro.

A fast, Verilator-free check of the tile's schedule and arithmetic; the cocotb suite repeats
it at scale in Verilator.
"""

import numpy as np
import pytest
from amaranth.sim import Simulator

from cimtile.behavioral import AnalogMacro
from cimtile.hdl import Tile
from cimtile.models.golden import golden_mvm
from cimtile.spec.config import parse_config
from cimtile.spec.mapping import random_operands

LOSSLESS = dict(rows=6, cols=2, in_bits=3, w_bits=4, bits_per_cell=2, adc_bits=5, adc_shift=0,
                cols_per_adc=3)
LOSSY = dict(rows=9, cols=3, in_bits=4, w_bits=5, bits_per_cell=1, adc_bits=3, adc_shift=1,
             cols_per_adc=2)


def simulate(config, W, X, *, seed, ready_probability=1.0, gap_probability=0.0):
    """Stream X through the tile; return results and the cycle of every output transfer."""
    dut = Tile(config)
    macro = AnalogMacro.from_weights(config, W, np.random.default_rng(seed))
    traffic = np.random.default_rng(seed + 1)
    rows = config.tile.rows
    results, out_cycles = [], []

    async def analog(ctx):
        async for _ in ctx.tick():
            # Answer in the cycle the strobe is high, as the timing contract requires.
            if ctx.get(dut.analog.sample):
                planes = np.array([(ctx.get(dut.analog.wl) >> r) & 1 for r in range(rows)])
                ctx.set(dut.analog.codes, [int(c) for c in macro.sample(planes)])

    async def driver(ctx):
        for x in X:
            while traffic.random() < gap_probability:
                await ctx.tick()
            ctx.set(dut.i_stream.payload, [int(v) for v in x])
            ctx.set(dut.i_stream.valid, 1)
            await ctx.tick().until(dut.i_stream.ready)
            ctx.set(dut.i_stream.valid, 0)

    async def monitor(ctx):
        cycle = 0
        while len(results) < len(X):
            ready = traffic.random() < ready_probability
            ctx.set(dut.o_stream.ready, ready)
            _, _, valid, payload = await ctx.tick().sample(dut.o_stream.valid,
                                                           dut.o_stream.payload)
            if valid and ready:
                results.append(list(payload))
                out_cycles.append(cycle)
            cycle += 1
            assert cycle < 4 * len(X) * config.analog_cycles_per_mvm / ready_probability + 100

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(analog, background=True)
    sim.add_testbench(driver, background=True)
    sim.add_testbench(monitor)
    sim.run()
    return np.array(results, dtype=np.int64), np.array(out_cycles)


def operands(config, n, seed):
    return random_operands(config, n, np.random.default_rng(seed))


def test_lossless_tile_computes_x_times_w_at_the_analog_rate():
    config = parse_config({"tile": LOSSLESS, "timing": {"t_settle": 2, "t_adc": 2}})
    assert config.lossless
    W, X = operands(config, 6, seed=3)
    Y, out_cycles = simulate(config, W, X, seed=0)
    np.testing.assert_array_equal(Y, X @ W)
    assert set(np.diff(out_cycles)) == {config.analog_cycles_per_mvm}


@pytest.mark.parametrize("pipeline", [False, True])
def test_adcs_converting_two_columns_a_cycle_keep_the_results_at_the_derived_rate(pipeline):
    # Three columns per ADC, two a step: a full step, then a step of one.
    config = parse_config({"tile": LOSSLESS | {"pipeline": pipeline},
                           "timing": {"t_settle": 1, "t_adc": 1, "adc_per_step": 2}})
    assert config.conversion_cycles == 2
    W, X = operands(config, 6, seed=4)
    Y, out_cycles = simulate(config, W, X, seed=0)
    np.testing.assert_array_equal(Y, X @ W)
    assert set(np.diff(out_cycles)) == {config.analog_cycles_per_mvm}


@pytest.mark.parametrize("seed", [11, 12])
def test_lossy_tile_matches_golden_under_back_pressure_and_gaps(seed):
    config = parse_config({"tile": LOSSY, "timing": {"t_settle": 1, "t_adc": 1}})
    assert not config.lossless
    W, X = operands(config, 8, seed=seed)
    Y, _ = simulate(config, W, X, seed=seed, ready_probability=0.2, gap_probability=0.3)
    np.testing.assert_array_equal(Y, golden_mvm(config, W, X, seed=seed))
    assert not np.array_equal(Y, X @ W), "config meant to be lossy rounds nothing"


async def within(ctx, limit, condition, *exprs):
    """Tick until `condition` is sampled true; fail instead of hanging after `limit` cycles."""
    for _ in range(limit):
        _, _, *values, done = await ctx.tick().sample(*exprs, condition)
        if done:
            return values
    raise AssertionError(f"{condition!r} not reached within {limit} cycles")


def test_programming_and_computing_take_turns():
    """A vector offered while programming waits for it; a start while computing is not taken."""
    from cimtile.behavioral.device import MemdiodeArray
    from cimtile.models.program import Rectangle
    from test_write_verify import settings_value

    config = parse_config({"tile": LOSSLESS, "timing": {"t_settle": 2, "t_adc": 2}})
    dut = Tile(config)
    W, X = operands(config, 2, seed=5)
    macro = AnalogMacro.from_weights(config, W, np.random.default_rng(0))
    device = MemdiodeArray(config.device, (config.tile.rows, config.cols_phys),
                           np.random.default_rng(0))
    rect = Rectangle(0, 0, 0, 3)
    events = []      # (cycle, what)

    async def analog(ctx):
        cycle = 0
        async for _ in ctx.tick():
            cycle += 1
            if ctx.get(dut.analog.sample):
                events.append((cycle, "sample"))
                planes = np.array([(ctx.get(dut.analog.wl) >> r) & 1
                                   for r in range(config.tile.rows)])
                ctx.set(dut.analog.codes, [int(c) for c in macro.sample(planes)])
            cell = np.array([ctx.get(dut.analog.cell.row) * config.cols_phys
                             + ctx.get(dut.analog.cell.col)])
            if ctx.get(dut.analog.cell.read):
                events.append((cycle, "read"))
                ctx.set(dut.analog.cell.read_code, int(device.read(cell, 5)[0]))
            if ctx.get(dut.analog.cell.pulse):
                device.pulse(cell, [ctx.get(dut.analog.cell.polarity).value],
                             [ctx.get(dut.analog.cell.amplitude)], [ctx.get(dut.analog.cell.width)])

    async def bench(ctx):
        ctx.set(dut.prog_settings, settings_value(config.write_verify, rect))
        ctx.set(dut.o_stream.ready, 1)
        ctx.set(dut.r_stream.ready, 1)
        ctx.set(dut.t_stream.payload, 2)
        ctx.set(dut.t_stream.valid, 1)
        # Programming starts, and a vector arrives in the same cycle: it must wait.
        ctx.set(dut.prog_start, 1)
        ctx.set(dut.i_stream.payload, [int(v) for v in X[0]])
        ctx.set(dut.i_stream.valid, 1)
        _, _, taken = await ctx.tick().sample(dut.i_stream.ready)
        assert taken, "the empty input buffer takes the vector at once"
        ctx.set(dut.prog_start, 0)
        ctx.set(dut.i_stream.valid, 0)
        assert ctx.get(dut.prog_busy)
        await within(ctx, 10_000, dut.prog_done)
        events.append(("done", "program"))
        payload, = await within(ctx, 1_000, dut.o_stream.valid, dut.o_stream.payload)
        assert list(payload) == list(X[0] @ W)
        # A start while the next vector computes is not taken.
        ctx.set(dut.i_stream.payload, [int(v) for v in X[1]])
        ctx.set(dut.i_stream.valid, 1)
        await within(ctx, 1_000, dut.i_stream.ready)
        ctx.set(dut.i_stream.valid, 0)
        await ctx.tick().repeat(3)
        ctx.set(dut.prog_start, 1)
        await ctx.tick()
        ctx.set(dut.prog_start, 0)
        for _ in range(config.analog_cycles_per_mvm):
            assert not ctx.get(dut.prog_busy)
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(analog, background=True)
    sim.add_testbench(bench)
    sim.run()
    done = events.index(("done", "program"))
    assert {kind for _, kind in events[:done]} == {"read"}, "computing ran during programming"
    assert {kind for _, kind in events[done + 1:]} == {"sample"}
