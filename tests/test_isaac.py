"""``configs/isaac.toml`` against ISAAC's Table I (Shafiee et al., ISCA 2016): the power and
area of each analog component of one array, where ISAAC's table gives them per in-situ
multiply-accumulate unit (IMA) of 8 arrays.

The table's power is that of every DAC driving every read, so the inputs are all ones (-1
in two's complement: every wordline driven in every plane). The array's own power and area
are not compared: cimtile derives them from its conductance window and cell size, not from
ISAAC's figures (the README's comparison says why they differ).
"""

import numpy as np
import pytest

from cimtile.flows.ppa.activity import compute_activity
from cimtile.flows.ppa.area import analog_area
from cimtile.flows.ppa.energy import compute_energy
from cimtile.flows.ppa.figures import figures
from cimtile.spec.config import REFERENCE_CONFIG, load_config

ISAAC = load_config(REFERENCE_CONFIG.with_name("isaac.toml"))

#: ISAAC's Table I per IMA of 8 arrays: power (mW) and area (um2).
TABLE_I = {"adcs": (16.0, 9600.0), "wordline_drivers": (4.0, 170.0),
           "sample_hold": (0.01, 40.0)}
ARRAYS_PER_IMA = 8
#: Largest relative difference accepted for the whole comparison.
TOLERANCE = 0.25


@pytest.fixture(scope="module")
def measured():
    cfg = ISAAC
    rng = np.random.default_rng(0)
    w_max = 2 ** (cfg.tile.w_bits - 1) - 1
    W = rng.integers(-w_max, w_max, (cfg.tile.rows, cfg.tile.cols), endpoint=True)
    X = -np.ones((4, cfg.tile.rows), np.int64)
    activity = compute_activity(cfg, W, X)
    energy = compute_energy(cfg, activity)
    seconds = activity.cycles * figures(cfg).cycle_s
    power = {item.name: item.pj * 1e-12 / seconds * 1e3 for item in energy.items}
    return power, analog_area(cfg)


def test_the_isaac_tile_is_one_array_with_one_adc():
    assert (ISAAC.tile.rows, ISAAC.cols_phys, ISAAC.n_adcs) == (128, 128, 1)
    assert ISAAC.adc_rate_msps == 1200


@pytest.mark.parametrize("component", TABLE_I)
def test_each_component_is_isaacs_table_i_per_array(measured, component):
    power, area = measured
    isaac_mw, isaac_um2 = (value / ARRAYS_PER_IMA for value in TABLE_I[component])
    assert power[component] == pytest.approx(isaac_mw, rel=TOLERANCE)
    assert area[component] == pytest.approx(isaac_um2, rel=TOLERANCE)
