"""Constrained-random co-simulation of the whole tile in Verilator, against the golden model.

Each configuration is built once (the build cache is shared by every scenario and by later
runs); the scenarios then vary the stream timing, the seed and resets.
"""

import concurrent.futures
import time

import numpy as np
import pytest

from cimtile.hdl import tile
from cimtile.models.golden import golden_mvm
from cimtile.spec.config import parse_config, reference_config
from cimtile.tb.build import build as runner
from cimtile.tb.runs.runner import Scenario, simulate_tile

# Together they span rows 1..128, cols 1..16, in_bits 1..8, w_bits 2..8, bits_per_cell 1..4,
# adc_bits 1..10, adc_shift 0..3 and cols_per_adc 1..8; the first three are lossless.
CONFIGS = {
    "minimal": dict(rows=1, cols=1, in_bits=1, w_bits=2, bits_per_cell=1, adc_bits=1,
                    adc_shift=0, cols_per_adc=1, t_settle=1, t_adc=1),
    "lossless": dict(rows=12, cols=3, in_bits=4, w_bits=5, bits_per_cell=2, adc_bits=6,
                     adc_shift=0, cols_per_adc=3, t_settle=2, t_adc=2),
    "lossless_wide": dict(rows=31, cols=16, in_bits=8, w_bits=8, bits_per_cell=4, adc_bits=9,
                          adc_shift=0, cols_per_adc=8, t_settle=3, t_adc=1),
    "rounding": dict(rows=64, cols=5, in_bits=6, w_bits=7, bits_per_cell=3, adc_bits=4,
                     adc_shift=3, cols_per_adc=5, t_settle=1, t_adc=2),
    "clipping": dict(rows=128, cols=2, in_bits=2, w_bits=3, bits_per_cell=1, adc_bits=3,
                     adc_shift=1, cols_per_adc=7, t_settle=2, t_adc=1),
    "adc10": dict(rows=100, cols=7, in_bits=5, w_bits=6, bits_per_cell=2, adc_bits=10,
                  adc_shift=2, cols_per_adc=4, t_settle=1, t_adc=1),
}


def make_config(name):
    if name == "reference":
        return reference_config()
    fields = dict(CONFIGS[name])
    timing = {key: fields.pop(key) for key in ("t_settle", "t_adc")}
    return parse_config({"tile": fields, "timing": timing})


def random_problem(cfg, n, seed):
    """Random weights and inputs, with the corners of both ranges always present."""
    rng = np.random.default_rng(seed)
    w_max = 2 ** (cfg.tile.w_bits - 1) - 1
    x_half = 2 ** (cfg.tile.in_bits - 1)
    rows, cols = cfg.tile.rows, cfg.tile.cols
    W = rng.integers(-w_max, w_max, (rows, cols), endpoint=True)
    W[:, 0] = w_max
    if cols > 1:
        W[:, 1] = -w_max
    X = rng.integers(-x_half, x_half, (n, rows))
    X[0] = -x_half
    X[1 % n] = -1
    X[2 % n] = x_half - 1
    X[3 % n] = 0
    return W, X


def vectors_for(cfg):
    """Enough vectors for a steady state, few enough to keep a run around a second."""
    return int(np.clip(40_000 // cfg.analog_cycles_per_mvm, 12, 60))


def check_exact(cfg, W, X, Y, seed):
    assert Y.shape == (len(X), cfg.tile.cols)
    assert np.array_equal(Y, golden_mvm(cfg, W, X, seed))
    if cfg.lossless:
        assert np.array_equal(Y, X @ W)


def test_configs_cover_the_required_ranges():
    cfgs = [make_config(name) for name in CONFIGS]
    spans = {
        "rows": (1, 128), "cols": (1, 16), "in_bits": (1, 8), "w_bits": (2, 8),
        "bits_per_cell": (1, 4), "adc_bits": (1, 10), "adc_shift": (0, 3),
        "cols_per_adc": (1, 8),
    }
    for name, (lo, hi) in spans.items():
        values = [getattr(cfg.tile, name) for cfg in cfgs]
        assert (min(values), max(values)) == (lo, hi), name
    assert sum(cfg.lossless for cfg in cfgs) >= 2
    assert sum(not cfg.lossless for cfg in cfgs) >= 2


# One xdist group per configuration (with ``--dist loadgroup``) keeps a configuration's
# scenarios on one worker, so the other never waits on its build.
ALL = [pytest.param(name, marks=pytest.mark.xdist_group(name))
       for name in [*CONFIGS, "reference"]]


@pytest.mark.parametrize("name", ALL)
def test_steady_state(name):
    """Back-to-back vectors: exact results, one plane every plane_cycles, one MVM every
    analog_cycles_per_mvm."""
    cfg = make_config(name)
    W, X = random_problem(cfg, vectors_for(cfg), seed=1)
    result = simulate_tile(cfg, W, X, scenario=Scenario(seed=1))
    check_exact(cfg, W, X, result.Y, seed=1)
    # The corner vectors make a lossy ADC round or clip somewhere.
    assert cfg.lossless or not np.array_equal(result.Y, X @ W)
    assert result.golden_mismatches == 0
    assert np.all(np.diff(result.request_cycles) == cfg.plane_cycles)
    assert len(result.request_cycles) == len(X) * cfg.tile.in_bits
    assert np.all(np.diff(result.out_cycles) == cfg.analog_cycles_per_mvm)
    assert result.cycles_per_mvm == cfg.analog_cycles_per_mvm


@pytest.mark.parametrize("name", ALL)
def test_gaps_and_back_pressure(name):
    """Random idle gaps on the input and stalls on the output lose and reorder nothing."""
    cfg = make_config(name)
    W, X = random_problem(cfg, vectors_for(cfg), seed=2)
    scenario = Scenario(seed=2, in_gap_prob=0.4, in_gap_max=cfg.analog_cycles_per_mvm + 3,
                        out_stall_prob=0.5, out_stall_max=2 * cfg.analog_cycles_per_mvm + 3)
    result = simulate_tile(cfg, W, X, scenario=scenario)
    check_exact(cfg, W, X, result.Y, seed=2)
    # Gaps and stalls of up to two MVMs must have slowed the tile down at least once.
    assert np.max(np.diff(result.out_cycles)) > cfg.analog_cycles_per_mvm


@pytest.mark.parametrize("name", ALL)
def test_reset_mid_computation(name):
    """A reset in the middle of an MVM drops it and every result still held; a fresh batch
    afterwards is exact."""
    cfg = make_config(name)
    n = vectors_for(cfg) // 2
    W, X = random_problem(cfg, n, seed=3)
    _, X_after = random_problem(cfg, n, seed=4)
    in_bits = cfg.tile.in_bits
    # Halfway through the planes of the third vector (or just after its only plane), with
    # the output stalled long enough that earlier results are still inside the tile.
    scenario = Scenario(seed=3, reset_after_requests=2 * in_bits + in_bits // 2 + 1,
                        out_stall_prob=1.0, out_stall_max=4 * cfg.analog_cycles_per_mvm)
    result = simulate_tile(cfg, W, X, scenario=scenario, X_after_reset=X_after)
    assert result.stale_outputs == 0
    assert len(result.Y) <= 2
    assert np.array_equal(result.Y, golden_mvm(cfg, W, X, 3)[:len(result.Y)])
    check_exact(cfg, W, X_after, result.Y_after_reset, seed=3)


def test_seeded_runs_agree_with_the_golden_model_for_each_seed():
    cfg = make_config("rounding")
    W, X = random_problem(cfg, 8, seed=5)
    for seed in (0, 7):
        result = simulate_tile(cfg, W, X, scenario=Scenario(seed=seed))
        check_exact(cfg, W, X, result.Y, seed=seed)


def test_a_cached_build_is_reused_without_building(monkeypatch):
    cfg = make_config("lossless")
    runner.build(cfg)

    def no_build():
        raise AssertionError("the build step ran for a cached configuration")
    monkeypatch.setattr(runner, "get_runner", no_build)
    assert runner.build(cfg)[1] == 0


class FakeRunner:
    """Stands in for cocotb's runner: a slow build that leaves an executable behind."""
    calls = 0

    def build(self, *, build_dir, **kwargs):
        FakeRunner.calls += 1
        time.sleep(1.0)
        (build_dir / runner.TOPLEVEL).write_text("")


def test_concurrent_builds_of_one_configuration_share_the_result(tmp_path, monkeypatch):
    """Two builders of the same new configuration: one builds, both get its directory."""
    cfg = make_config("minimal")
    verilog = tile.verilog_source(cfg)
    monkeypatch.setattr(tile, "verilog_source", lambda cfg: verilog)
    monkeypatch.setenv("CIMTILE_CACHE", str(tmp_path))
    monkeypatch.setattr(runner, "get_runner", FakeRunner)
    FakeRunner.calls = 0
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: runner.build(cfg), range(2)))
    assert FakeRunner.calls == 1
    assert results[0][0] == results[1][0]
    assert max(build_s for _, build_s in results) > 0.9
    builds = [path for path in tmp_path.iterdir() if path.is_dir()]
    assert builds == [results[0][0]]
    assert (builds[0] / "COMPLETE").is_file() and (builds[0] / runner.TOPLEVEL).is_file()
    assert runner.build(cfg) == (builds[0], 0.0)


def test_a_failed_build_leaves_nothing_behind(tmp_path, monkeypatch):
    class BrokenRunner:
        def build(self, **kwargs):
            raise RuntimeError("Command failed with return code: 2")
    monkeypatch.setenv("CIMTILE_CACHE", str(tmp_path))
    monkeypatch.setattr(runner, "get_runner", BrokenRunner)
    with pytest.raises(runner.BuildError, match="Verilator build failed"):
        runner.build(make_config("minimal"))
    # The Verilog elaborated before the build is kept, a finished text (unless this process
    # had it in memory already); no build directory, finished or partial, is.
    left = [path for path in tmp_path.iterdir() if path.is_dir()]
    assert [path.name for path in left] in ([], ["verilog"])
    assert all(path.suffix == ".v" for folder in left for path in folder.iterdir())


LINT_CONFIGS = [
    dict(rows=1, cols=1, in_bits=1, w_bits=2, bits_per_cell=1, adc_bits=1, adc_shift=0,
         cols_per_adc=1),
    dict(rows=3, cols=2, in_bits=16, w_bits=16, bits_per_cell=8, adc_bits=16, adc_shift=16,
         cols_per_adc=64),
    dict(rows=5, cols=4, in_bits=3, w_bits=9, bits_per_cell=3, adc_bits=7, adc_shift=5,
         cols_per_adc=6),
    dict(rows=256, cols=1, in_bits=2, w_bits=2, bits_per_cell=1, adc_bits=9, adc_shift=0,
         cols_per_adc=2),
    dict(rows=7, cols=9, in_bits=12, w_bits=4, bits_per_cell=5, adc_bits=2, adc_shift=1,
         cols_per_adc=3),
]


@pytest.mark.parametrize("tile", LINT_CONFIGS)
@pytest.mark.parametrize("timing", [dict(t_settle=1, t_adc=1), dict(t_settle=17, t_adc=5)])
def test_generated_verilog_passes_lint_with_the_documented_waivers(tile, timing):
    runner.lint(parse_config({"tile": tile, "timing": timing}))


def test_every_waiver_is_justified():
    for flag, reason in runner.LINT_WAIVERS.items():
        assert flag.startswith("-Wno-") and flag != "-Wno-fatal"
        assert len(reason) > 20, flag

