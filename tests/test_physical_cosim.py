"""Co-simulation in the physical model: the RTL, driven by the noisy behavioural macro one
bit plane at a time, equals the batched golden model bit for bit."""

import dataclasses

import numpy as np
import pytest

from cimtile.models.golden import golden_mvm
from cimtile.spec.config import parse_config
from cimtile.tb.runs.runner import Scenario, simulate

# The same tiles as test_cosim.py's "minimal", "lossless" and "rounding": their Verilator
# builds are shared through the build cache, since the analog model does not change the RTL.
TILES = {
    "minimal": dict(rows=1, cols=1, in_bits=1, w_bits=2, bits_per_cell=1, adc_bits=1,
                    adc_shift=0, cols_per_adc=1, t_settle=1, t_adc=1),
    "lossless": dict(rows=12, cols=3, in_bits=4, w_bits=5, bits_per_cell=2, adc_bits=6,
                     adc_shift=0, cols_per_adc=3, t_settle=2, t_adc=2),
    "rounding": dict(rows=64, cols=5, in_bits=6, w_bits=7, bits_per_cell=3, adc_bits=4,
                     adc_shift=3, cols_per_adc=5, t_settle=1, t_adc=2),
}

# Every effect on, strongly: IR drop, drift, faults, variation, read and ADC noise, and a
# successive-approximation ADC with capacitor mismatch.
EFFECTS = dict(model="physical", d2d_sigma=0.1, read_noise=0.05, drift_time=3600.0,
               fault_rate=0.05, r_wl=100.0, r_bl=100.0, adc_offset=0.3, adc_gain_error=0.02,
               adc_cap_mismatch=0.05, adc_noise=0.5)


def physical_config(name):
    fields = dict(TILES[name])
    timing = {key: fields.pop(key) for key in ("t_settle", "t_adc")}
    return parse_config({"tile": fields, "timing": timing, "analog": EFFECTS})


@pytest.mark.parametrize("name", TILES)
def test_cosimulation_equals_golden_model(name):
    cfg = physical_config(name)
    rng = np.random.default_rng(31)
    w_max = 2 ** (cfg.tile.w_bits - 1) - 1
    x_half = 2 ** (cfg.tile.in_bits - 1)
    W = rng.integers(-w_max, w_max, (cfg.tile.rows, cfg.tile.cols), endpoint=True)
    X = rng.integers(-x_half, x_half, (12, cfg.tile.rows))
    result = simulate(cfg, W, X, scenario=Scenario(seed=7, out_stall_prob=0.3,
                                                   out_stall_max=4))
    assert result.golden_mismatches == 0
    Y = golden_mvm(cfg, W, X, seed=7)
    assert np.array_equal(result.Y, Y)
    # The effects did act: the same tile in the ideal model answers differently.
    ideal = dataclasses.replace(cfg, analog=dataclasses.replace(cfg.analog, model="ideal"))
    if name != "minimal":
        assert not np.array_equal(Y, golden_mvm(ideal, W, X, seed=7))
