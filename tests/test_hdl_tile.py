"""The whole tile in the Amaranth simulator, its analog port answered by the behavioural macro.

A fast, Verilator-free check of the tile's schedule and arithmetic; the cocotb suite repeats
it at scale in Verilator.
"""

import numpy as np
import pytest
from amaranth.sim import Simulator

from cimtile.behavioral import AnalogMacro
from cimtile.config import parse_config
from cimtile.golden import golden_mvm
from cimtile.hdl import Tile

LOSSLESS = dict(rows=6, cols=2, in_bits=3, w_bits=4, bits_per_cell=2, adc_bits=5, adc_shift=0,
                cols_per_adc=3)
LOSSY = dict(rows=9, cols=3, in_bits=4, w_bits=5, bits_per_cell=1, adc_bits=3, adc_shift=1,
             cols_per_adc=2)


def simulate(config, W, X, *, seed, ready_probability=1.0, gap_probability=0.0):
    """Stream X through the tile; return results and the cycle of every output transfer."""
    dut = Tile(config)
    macro = AnalogMacro.from_weights(config, W, np.random.default_rng(seed))
    traffic = np.random.default_rng(seed + 1)
    rows, in_bits = config.tile.rows, config.tile.in_bits
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


def random_operands(config, n, seed):
    rng = np.random.default_rng(seed)
    t = config.tile
    w_max = 2 ** (t.w_bits - 1) - 1
    W = rng.integers(-w_max, w_max + 1, size=(t.rows, t.cols))
    X = rng.integers(-2 ** (t.in_bits - 1), 2 ** (t.in_bits - 1), size=(n, t.rows))
    return W, X


def test_lossless_tile_computes_x_times_w_at_the_analog_rate():
    config = parse_config({"tile": LOSSLESS, "timing": {"t_settle": 2, "t_adc": 2}})
    assert config.lossless
    W, X = random_operands(config, 6, seed=3)
    Y, out_cycles = simulate(config, W, X, seed=0)
    np.testing.assert_array_equal(Y, X @ W)
    assert set(np.diff(out_cycles)) == {config.analog_cycles_per_mvm}


@pytest.mark.parametrize("seed", [11, 12])
def test_lossy_tile_matches_golden_under_back_pressure_and_gaps(seed):
    config = parse_config({"tile": LOSSY, "timing": {"t_settle": 1, "t_adc": 1}})
    assert not config.lossless
    W, X = random_operands(config, 8, seed=seed)
    Y, _ = simulate(config, W, X, seed=seed, ready_probability=0.2, gap_probability=0.3)
    np.testing.assert_array_equal(Y, golden_mvm(config, W, X, seed=seed))
    assert not np.array_equal(Y, X @ W), "config meant to be lossy rounds nothing"
