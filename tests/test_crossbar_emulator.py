"""The crossbar emulator: block tests in the Amaranth simulator against the behavioural ideal
macro, and the all-RTL host top (host tile + emulator in the bulk top, in Verilator) against
the golden model and the bulk co-simulation."""

import json

import numpy as np
import pytest

from cimtile.behavioral import AnalogMacro
from cimtile.hdl.analog_port import Polarity
from cimtile.hdl.crossbar_emulator import CrossbarEmulator, emulator_geometry
from cimtile.hdl.write_verify import target_code
from cimtile.models.golden import golden_mvm
from cimtile.spec.config import ConfigError, parse_config
from cimtile.spec.mapping import random_operands
from cimtile.tb.tops.bulk_top import bulk_verilog
from cimtile.tb.runs.emulator_runner import simulate_emulator
from cimtile.tb.runs.runner import Scenario, simulate

from amaranth_sim import run
from cli_helpers import assert_bad_input, small_at
from cli_helpers import run as run_command


def make_config(rows, cols, in_bits, w_bits, bits_per_cell, adc_bits, adc_shift,
                cols_per_adc, t_settle, t_adc, **tables):
    return parse_config({"tile": dict(rows=rows, cols=cols, in_bits=in_bits, w_bits=w_bits,
                                      bits_per_cell=bits_per_cell, adc_bits=adc_bits,
                                      adc_shift=adc_shift, cols_per_adc=cols_per_adc),
                         "timing": dict(t_settle=t_settle, t_adc=t_adc)} | tables)


# Block configs: one chunk, several chunks with idle ADC slots, one row per cycle, one
# column per ADC, wide cells, and rows that do not fill the last chunk.
BLOCK_CONFIGS = {
    "one_chunk": make_config(6, 2, 3, 4, 2, 5, 0, 2, 1, 3),
    "idle_slots": make_config(23, 3, 4, 6, 2, 4, 1, 5, 2, 5),
    "row_per_cycle": make_config(5, 1, 2, 3, 1, 2, 0, 3, 1, 7),
    "one_column_per_adc": make_config(9, 2, 2, 5, 4, 6, 2, 1, 3, 4),
    "wide_cells": make_config(17, 1, 3, 9, 8, 12, 3, 4, 1, 6),
}


async def load(ctx, dut, cfg, levels):
    """Write `levels` (rows, cols_phys) through ``l_stream``, one row of one conversion a
    cycle."""
    cpa = cfg.tile.cols_per_adc
    ctx.set(dut.l_stream.valid, 1)
    for row in range(cfg.tile.rows):
        for k in range(cpa):
            entries = [int(levels[row, a * cpa + k]) if a * cpa + k < cfg.cols_phys else 0
                       for a in range(cfg.n_adcs)]
            ctx.set(dut.l_stream.payload, {"row": row, "conversion": k, "levels": entries})
            await ctx.tick()
    ctx.set(dut.l_stream.valid, 0)


def rtl_codes(cfg, levels, planes, shifts):
    """Codes the emulator gives for each plane, read as the ADC sequencer latches them: the
    wordlines change at the plane's first cycle, ``sample`` rises at ``t_settle``, and
    conversion k's columns are read in cycle ``t_settle + (k + 1) * t_adc - 1``."""
    dut = CrossbarEmulator(cfg)
    t_settle, t_adc, cpa = cfg.timing.t_settle, cfg.timing.t_adc, cfg.tile.cols_per_adc
    latch = {t_settle + (k + 1) * t_adc - 1: k for k in range(cpa)}
    got = np.zeros((len(planes), cfg.cols_phys), np.int64)

    async def bench(ctx):
        await load(ctx, dut, cfg, levels)
        for p, (plane, shift) in enumerate(zip(planes, shifts)):
            ctx.set(dut.analog.wl, int("".join(str(b) for b in plane[::-1]), 2))
            ctx.set(dut.analog.adc_shift, int(shift))
            for cycle in range(cfg.plane_cycles):
                ctx.set(dut.analog.sample, cycle == t_settle)
                if cycle in latch:
                    codes = ctx.get(dut.analog.codes)
                    for column in range(latch[cycle], cfg.cols_phys, cpa):
                        got[p, column] = codes[column]
                await ctx.tick()

    run(dut, bench)
    return got


@pytest.mark.parametrize("name", BLOCK_CONFIGS)
def test_codes_equal_the_ideal_macro_at_every_run_time_shift(name):
    cfg = BLOCK_CONFIGS[name]
    rng = np.random.default_rng(len(name))
    levels = rng.integers(0, cfg.max_level, (cfg.tile.rows, cfg.cols_phys), endpoint=True)
    levels[:, 0] = cfg.max_level          # a column at full scale, to reach the clip
    planes = rng.integers(0, 2, (24, cfg.tile.rows))
    planes[0] = 1
    planes[1] = 0
    shifts = rng.integers(0, cfg.adc_shift_max, len(planes), endpoint=True)
    shifts[:2] = 0
    macro = AnalogMacro(cfg, levels, np.random.default_rng(0))
    expected = np.array([macro.sample(plane, adc_shift=int(shift))
                         for plane, shift in zip(planes, shifts)])
    assert np.array_equal(rtl_codes(cfg, levels, planes, shifts), expected)


def test_pulses_step_one_level_and_reads_answer_the_target_code():
    cfg = BLOCK_CONFIGS["idle_slots"]
    dut = CrossbarEmulator(cfg)
    cell = dut.analog.cell
    rng = np.random.default_rng(3)
    levels = rng.integers(0, cfg.max_level, (cfg.tile.rows, cfg.cols_phys), endpoint=True)
    model = levels.copy()
    steps = [(int(rng.integers(cfg.tile.rows)), int(rng.integers(cfg.cols_phys)),
              int(rng.integers(2))) for _ in range(60)]
    # Saturation at both ends, on one cell.
    steps += [(4, 7, 0)] * (cfg.max_level + 1) + [(4, 7, 1)] * (cfg.max_level + 1)
    mismatches = []

    def code(level):
        return target_code(level, bits_per_cell=cfg.tile.bits_per_cell,
                           adc_bits=cfg.tile.adc_bits)

    async def bench(ctx):
        await load(ctx, dut, cfg, levels)
        for row, col, reset in steps:
            ctx.set(cell.row, row)
            ctx.set(cell.col, col)
            ctx.set(cell.polarity, Polarity.RESET if reset else Polarity.SET)
            ctx.set(cell.pulse, 1)
            await ctx.tick()
            ctx.set(cell.pulse, 0)
            # The next read may come in the very next cycle (pulse width 1).
            ctx.set(cell.read, 1)
            await ctx.tick()
            ctx.set(cell.read, 0)
            model[row, col] = min(max(model[row, col] + (-1 if reset else 1), 0),
                                  cfg.max_level)
            # Answered one cycle after the read, then held.
            answers = [ctx.get(cell.read_code)]
            await ctx.tick().repeat(2)
            answers.append(ctx.get(cell.read_code))
            if answers != [code(model[row, col])] * 2:
                mismatches.append((row, col, reset, answers, code(model[row, col])))

    run(dut, bench)
    assert not mismatches


def test_an_adc_conversion_too_short_for_the_pipeline_is_refused():
    with pytest.raises(ConfigError, match=r"^timing\.t_adc must be at least 3 for the crossbar "
                       r"emulator \(memory read and code register take 2 cycles of each "
                       r"conversion\), not 2$"):
        emulator_geometry(make_config(4, 1, 2, 3, 1, 4, 0, 2, 1, 2))


def test_too_few_rows_per_cycle_for_the_adc_timing_are_refused():
    cfg = make_config(20, 1, 2, 3, 1, 6, 0, 2, 1, 5)
    assert emulator_geometry(cfg) == (7, 3)
    with pytest.raises(ConfigError, match=r"^timing\.t_adc must be at least 6 for the "
                       r"crossbar emulator summing 5 of 20 rows a cycle, not 5$"):
        emulator_geometry(cfg, rows_per_cycle=5)
    with pytest.raises(ValueError, match=r"^rows_per_cycle must be an integer in 1\.\.20, "
                       r"not 0$"):
        emulator_geometry(cfg, rows_per_cycle=0)


# All-RTL configs: lossless; lossy (rounding and clipping, idle ADC slots, several chunks);
# one-bit cells with one column per ADC and a clipping 2-bit ADC.
RTL_CONFIGS = {
    "lossless": make_config(12, 3, 4, 5, 2, 6, 0, 3, 2, 3),
    "lossy": make_config(40, 4, 5, 6, 3, 4, 2, 5, 1, 5),
    "clipping": make_config(7, 2, 3, 3, 1, 2, 1, 1, 3, 4),
}


def random_problem(cfg, n, seed):
    W, X = random_operands(cfg, n, np.random.default_rng(seed))
    w_max, x_half = 2 ** (cfg.tile.w_bits - 1) - 1, 2 ** (cfg.tile.in_bits - 1)
    W[:, 0] = w_max
    X[0], X[1] = -x_half, x_half - 1
    return W, X


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=pytest.mark.xdist_group(f"emulator_{name}")) for name in RTL_CONFIGS])
def test_all_rtl_host_equals_the_golden_model(name):
    cfg = RTL_CONFIGS[name]
    W, X = random_problem(cfg, 30, seed=len(name))
    scenario = Scenario(seed=5, in_gap_prob=0.3, in_gap_max=4, out_stall_prob=0.3,
                        out_stall_max=6)
    result = simulate_emulator(cfg, W, X, scenario=scenario)
    assert result.golden_mismatches == 0
    assert np.array_equal(result.Y, golden_mvm(cfg, W, X))
    assert cfg.lossless == (name == "lossless")
    if cfg.lossless:
        assert np.array_equal(result.Y, X @ W)
    else:
        assert not np.array_equal(result.Y, X @ W)


# The tile counts the analog timing itself and latches every conversion in the same cycle
# whoever answers, so the emulator and the analog queue give the same cycles.
@pytest.mark.xdist_group("emulator_lossy")
@pytest.mark.parametrize("frame_vectors, pauses", [
    (1, None), (1, (0.4, 5, 0.5, 9)), (7, (0.3, 30, 0.7, 20)), (25, (0.2, 3, 0.3, 60))])
def test_all_rtl_host_equals_the_bulk_co_simulation_cycle_for_cycle(frame_vectors, pauses):
    cfg = RTL_CONFIGS["lossy"]
    W, X = random_problem(cfg, 25, seed=11)
    in_prob, in_max, out_prob, out_max = pauses or (0, 0, 0, 0)
    scenario = Scenario(seed=3, in_gap_prob=in_prob, in_gap_max=in_max,
                        out_stall_prob=out_prob, out_stall_max=out_max)
    emulated = simulate_emulator(cfg, W, X, scenario=scenario, frame_vectors=frame_vectors)
    cosim = simulate(cfg, W, X, scenario=scenario, frame_vectors=frame_vectors, drive="bulk")
    assert np.array_equal(emulated.Y, cosim.Y)
    assert np.array_equal(emulated.frame_cycles, cosim.frame_cycles), \
        f"frames ended in other cycles: {emulated.frame_cycles} vs {cosim.frame_cycles}"
    assert np.array_equal(emulated.frame_vectors, cosim.frame_vectors)
    assert emulated.first_request == cosim.first_request
    if pauses is None:
        assert emulated.cycles_per_mvm == cfg.analog_cycles_per_mvm


def test_the_emulator_backend_refuses_the_physical_model():
    cfg = make_config(4, 1, 2, 3, 1, 4, 0, 2, 1, 3, analog={"model": "physical"})
    W, X = random_problem(cfg, 2, seed=0)
    with pytest.raises(ValueError, match="only the ideal analog model"):
        simulate_emulator(cfg, W, X)


def test_the_emulator_backend_refuses_a_mid_run_reset():
    cfg = RTL_CONFIGS["lossless"]
    W, X = random_problem(cfg, 2, seed=0)
    with pytest.raises(ValueError, match="^the emulator backend does not reset mid-run$"):
        simulate_emulator(cfg, W, X, scenario=Scenario(reset_after_requests=3))


def test_the_bulk_top_refuses_an_unknown_analog_side():
    cfg = RTL_CONFIGS["lossless"]
    with pytest.raises(ValueError, match="^analog must be one of queue, emulator, not 'dpi'$"):
        bulk_verilog(cfg, analog="dpi")


CLI_CONFIG = small_at(2, 3)


@pytest.fixture
def cli_work(tmp_path):
    (tmp_path / "small.toml").write_text(CLI_CONFIG)
    W, X = random_problem(RTL_CONFIGS["lossless"], 7, seed=4)
    np.save(tmp_path / "W.npy", W)
    np.save(tmp_path / "X.npy", X)
    return tmp_path


def sim_args(config, backend):
    return ("sim", "--config", config, "--weights", "W.npy", "--inputs", "X.npy",
            "--out", "Y.npy", "--backend", backend)


def test_cli_sim_on_the_emulator_backend_equals_x_times_w(cli_work):
    proc = run_command(*sim_args("small.toml", "emulator"), "--json", cwd=cli_work)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["backend"] == "emulator" and report["golden_mismatches"] == 0
    W, X = np.load(cli_work / "W.npy"), np.load(cli_work / "X.npy")
    assert np.array_equal(np.load(cli_work / "Y.npy"), X @ W)


@pytest.mark.parametrize("change, message", [
    (("t_adc = 3", "t_adc = 2"), "short.toml: timing.t_adc must be at least 3 for the "
                                 "crossbar emulator"),
    (("t_adc = 3", "t_adc = 3\n[analog]\nmodel = \"physical\""),
     "--backend emulator models the ideal analog mode only"),
])
def test_cli_sim_refuses_what_the_emulator_cannot_serve(cli_work, change, message):
    (cli_work / "short.toml").write_text(CLI_CONFIG.replace(*change))
    proc = run_command(*sim_args("short.toml", "emulator"), cwd=cli_work)
    assert_bad_input(proc, message)
    assert not (cli_work / "Y.npy").exists()
