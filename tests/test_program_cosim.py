"""Co-simulated programming (Verilator) against the golden program-and-verify, cell for cell."""

import dataclasses

import numpy as np
import pytest

from cimtile.behavioral.device import STUCK_GMAX, STUCK_GMIN, MemdiodeArray
from cimtile.models.program import Rectangle, program_golden
from cimtile.spec.config import parse_config
from cimtile.tb.transport.exchange import SimulationError
from cimtile.tb.runs.runner import program, program_tile

# 64 x 64 physical cells: 16 logical columns of 2 slices x 2 polarities.
LARGE = parse_config({
    "tile": dict(rows=64, cols=16, in_bits=4, w_bits=5, bits_per_cell=2, adc_bits=6,
                 adc_shift=0, cols_per_adc=8),
    "timing": dict(t_settle=1, t_adc=2),
})
SMALL = parse_config({
    "tile": dict(rows=5, cols=3, in_bits=2, w_bits=4, bits_per_cell=1, adc_bits=5,
                 adc_shift=0, cols_per_adc=2),
    "timing": dict(t_settle=2, t_adc=1),
})


def random_faults(cfg, fraction, seed):
    rng = np.random.default_rng(seed)
    shape = (cfg.tile.rows, cfg.cols_phys)
    stuck = rng.random(shape) < fraction
    return np.where(stuck, rng.integers(STUCK_GMIN, STUCK_GMAX + 1, shape), 0)


def golden(cfg, levels, faults, settings, rect, seed, runs=1):
    device = MemdiodeArray(cfg.device, (cfg.tile.rows, cfg.cols_phys),
                           np.random.default_rng(seed), faults)
    cut = levels[rect.row_first:rect.row_last + 1, rect.col_first:rect.col_last + 1]
    outcomes = [program_golden(device, cut, rect, settings,
                               bits_per_cell=cfg.tile.bits_per_cell,
                               adc_bits=cfg.tile.adc_bits) for _ in range(runs)]
    return outcomes, device


def check(cfg, *, fraction=0.0, settings=None, rect=None, seed=0, runs=1, runner=program):
    settings = settings or cfg.write_verify
    rect = rect or Rectangle.whole(cfg.tile.rows, cfg.cols_phys)
    levels = np.random.default_rng(seed + 7).integers(0, cfg.max_level + 1,
                                                      (cfg.tile.rows, cfg.cols_phys))
    faults = random_faults(cfg, fraction, seed + 8)
    run = runner(cfg, levels, faults=faults, settings=settings, rect=rect, runs=runs,
                 seed=seed)
    outcomes, device = golden(cfg, levels, faults, settings, rect, seed, runs)
    np.testing.assert_array_equal(run.pulses, np.concatenate([o.pulses for o in outcomes]))
    np.testing.assert_array_equal(run.converged,
                                  np.concatenate([o.converged for o in outcomes]))
    np.testing.assert_array_equal(run.state, device.state.reshape(device.shape))
    return run, outcomes, levels, faults


@pytest.mark.parametrize("fraction", [0.0, 0.02, 0.10])
def test_whole_64x64_array_matches_golden_with_stuck_cells(fraction):
    run, (outcome,), levels, faults = check(LARGE, fraction=fraction, seed=1)
    flat_levels, flat_faults = levels.reshape(-1), faults.reshape(-1)
    matches_stuck = (((flat_faults == STUCK_GMIN) & (flat_levels == 0))
                     | ((flat_faults == STUCK_GMAX) & (flat_levels == LARGE.max_level)))
    expected_failed = (flat_faults != 0) & ~matches_stuck
    np.testing.assert_array_equal(~outcome.converged, expected_failed)
    assert (fraction == 0) == (not expected_failed.any())


def test_the_bare_tile_programs_event_by_event_as_the_golden_model():
    """The bare tile core, its targets, cell requests and results each an event (no host,
    no rings), twice over a rectangle with stuck cells."""
    rect = Rectangle(1, 3, 2, SMALL.cols_phys - 1)
    run, (first, second), _, _ = check(SMALL, fraction=0.1, rect=rect, seed=5, runs=2,
                                       runner=program_tile)
    assert len(run.pulses) == 2 * 3 * (SMALL.cols_phys - 2) and first.pulses.sum() > 0


def test_reprogramming_takes_few_pulses():
    run, (first, second), _, _ = check(SMALL, runs=2, seed=3)
    assert first.pulses.sum() > 0
    assert second.pulses.sum() <= first.pulses.sum() // 10
    assert second.converged.all()


@pytest.mark.parametrize("tol", [0, 65535])
def test_tolerance_extremes(tol):
    settings = dataclasses.replace(SMALL.write_verify, tol=tol, max_pulses=30)
    run, (outcome,), _, _ = check(SMALL, settings=settings, seed=4,
                                  rect=Rectangle(1, 3, 2, 9))
    if tol:
        assert (outcome.pulses == 0).all() and outcome.converged.all()


def test_unreachable_window_fails_after_max_pulses():
    weak = dataclasses.replace(SMALL, device=dataclasses.replace(SMALL.device, tau0=1.0))
    settings = dataclasses.replace(SMALL.write_verify, max_pulses=4)
    run, (outcome,), levels, _ = check(weak, settings=settings, seed=5)
    failing = levels.reshape(-1) != 0
    np.testing.assert_array_equal(outcome.converged, ~failing)
    assert (outcome.pulses[failing] == 4).all()


@pytest.mark.parametrize("change", [dict(set_start=90, set_limit=80), dict(reset_step=0),
                                    dict(max_pulses=0)])
def test_bad_settings_are_refused_by_the_tile(change):
    settings = dataclasses.replace(SMALL.write_verify, **change)
    levels = np.zeros((SMALL.tile.rows, SMALL.cols_phys), np.int64)
    with pytest.raises(SimulationError, match="refused the write-verify settings"):
        program(SMALL, levels, settings=settings)
