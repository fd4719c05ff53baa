"""One conductance window: the memdiode that write-verify programs reads the [analog] window."""

import dataclasses

import numpy as np
import pytest

from cimtile.behavioral.device import MemdiodeArray, read_code
from cimtile.spec.config import ConfigError, parse_config
from cimtile.spec.config_physics import DeviceConfig

TILE = {"rows": 4, "cols": 2, "in_bits": 4, "w_bits": 4, "bits_per_cell": 2, "adc_bits": 8,
        "adc_shift": 0, "cols_per_adc": 4}
TIMING = {"t_settle": 1, "t_adc": 1}


def config(analog=None, device=None):
    return parse_config({"tile": TILE, "timing": TIMING, "analog": analog or {},
                         "device": device or {}})


def nominal(cfg):
    return MemdiodeArray(cfg.device, (1, 1), np.random.default_rng(0))


@pytest.mark.parametrize("analog, device", [
    ({}, {}),
    ({"g_min": 2.0, "g_max": 120.0, "v_read": 0.1}, {"r_s": 500.0, "alpha": 3.0}),
    ({"g_min": 0.0, "g_max": 10.0}, {"beta": 0.3}),
])
def test_nominal_device_spans_the_analog_window(analog, device):
    cfg = config(analog, device)
    a = cfg.analog
    G = nominal(cfg).conductance_of(np.array([0.0, 1.0]))
    np.testing.assert_allclose(G, [a.g_min, a.g_max], rtol=1e-12, atol=1e-12)
    assert nominal(cfg).window == (a.g_min, a.g_max)
    # The verify read puts the window's ends on the ADC's end codes.
    assert read_code(G, nominal(cfg).window, 8).tolist() == [0, 255]


def test_read_current_solves_the_series_resistance():
    cfg = config({"g_max": 200.0}, {"r_s": 2000.0})
    d = cfg.device
    state, volts = np.array([0.0, 0.3, 1.0]), 1.7
    current = nominal(cfg).current_at(state, volts)
    diode = volts - current * 1e-6 * d.r_s
    i0 = d.i_min + (d.i_max - d.i_min) * state
    expected = i0 * (np.exp(d.beta * d.alpha * diode) - np.exp(-(1 - d.beta) * d.alpha * diode))
    np.testing.assert_allclose(current, expected, rtol=1e-10)


def test_window_follows_every_way_a_config_is_made():
    cfg = config({"g_min": 1.0, "g_max": 20.0, "v_read": 0.15})
    # Written out and parsed again (as the simulator process receives it), or replaced.
    again = parse_config(dataclasses.asdict(cfg))
    assert (again.device.g_min, again.device.g_max, again.device.v_read) == (1.0, 20.0, 0.15)
    moved = dataclasses.replace(cfg, analog=dataclasses.replace(cfg.analog, g_max=30.0))
    assert moved.device.g_max == 30.0
    assert DeviceConfig().g_max == config().analog.g_max


@pytest.mark.parametrize("device, analog, message", [
    ({"g_min": 1.0}, {}, "unknown key device.g_min"),
    ({"v_read": 0.1}, {}, "unknown key device.v_read"),
    ({"i_max": 90.0}, {}, "unknown key device.i_max"),
    ({"r_s": 25000.0}, {"g_max": 40.0},
     "device.r_s must be below 1 / analog.g_max = 25000 ohm, not 25000.0"),
])
def test_window_is_set_in_one_place(device, analog, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        config(analog, device)


def test_pulse_width_unit_is_the_clock():
    cfg = config()
    assert cfg.device.cycle_s == 1e-8 == 1e-6 / cfg.ppa.clock_mhz
    fast = parse_config({"tile": TILE, "timing": TIMING, "ppa": {"clock_mhz": 1200}})
    assert fast.device.cycle_s == 1e-6 / 1200
    with pytest.raises(ConfigError, match=r"unknown key device\.cycle_s"):
        config(device={"cycle_s": 1e-9})
