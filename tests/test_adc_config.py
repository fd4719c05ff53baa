"""The ``[adc]`` table: its rate gives ``[timing] t_adc`` at the clock, once."""

import pytest

from cimtile.spec.config import ConfigError, parse_config

from cli_helpers import SMALL, assert_bad_input, run

TILE = dict(rows=8, cols=2, in_bits=4, w_bits=5, bits_per_cell=2, adc_bits=6, adc_shift=0,
            cols_per_adc=4)


def config(timing, adc, ppa=None):
    return parse_config({"tile": TILE, "timing": timing, "adc": adc, "ppa": ppa or {}})


@pytest.mark.parametrize("rate, clock, cycles, per_step", [
    (100, 100, 1, 1), (50, 100, 2, 1), (30, 100, 4, 1), (1200, 1200, 1, 1),
    (0.1, 100, 1000, 1), (800, 100, 1, 8), (1250, 100, 1, 12)])
def test_the_rate_gives_the_cycles_of_one_conversion(rate, clock, cycles, per_step):
    cfg = config({"t_settle": 1}, {"rate_msps": rate}, {"clock_mhz": clock})
    assert (cfg.timing.t_adc, cfg.timing.adc_per_step) == (cycles, per_step)
    assert cfg.adc_rate_msps == pytest.approx(clock * per_step / cycles)
    assert cfg.conversion_cycles == -(-TILE["cols_per_adc"] // per_step) * cycles


def test_a_config_of_cycles_is_unchanged():
    assert config({"t_settle": 1, "t_adc": 9}, {}).timing.t_adc == 9


@pytest.mark.parametrize("timing, adc, message", [
    ({"t_settle": 1, "t_adc": 9}, {"rate_msps": 50},
     "timing.t_adc (9) and adc.rate_msps (50) both given; give one: t_adc in 1..1024 cycles "
     "or rate_msps in (0, 100000] MS/s"),
    ({"t_settle": 1, "adc_per_step": 2}, {"rate_msps": 50}, "timing.adc_per_step (2) and "
     "adc.rate_msps (50) both given"),
    ({"t_settle": 1}, {}, "missing key timing.t_adc (or adc.rate_msps)"),
    ({"t_settle": 1}, {"rate_msps": 0.05}, "adc.rate_msps must give 1..1024 cycles a "
     "conversion and at most 64 conversions a cycle at ppa.clock_mhz = 100, not 0.05"),
    ({"t_settle": 1}, {"rate_msps": 7000}, "adc.rate_msps must give 1..1024 cycles"),
    ({"t_settle": 1}, {"rate_msps": -1}, "adc.rate_msps must be a number in [0, 100000]"),
    ({"t_settle": 1, "t_adc": 2}, {"fom_fj": 0}, "adc.fom_fj must be a number in (0, "),
])
def test_bad_adc_settings_name_the_field(timing, adc, message):
    with pytest.raises(ConfigError) as error:
        config(timing, adc)
    assert str(error.value).startswith(message)


def test_a_parsed_rate_config_written_out_parses_again():
    import dataclasses
    cfg = config({"t_settle": 1}, {"rate_msps": 25})
    assert parse_config(dataclasses.asdict(cfg)) == cfg


def test_giving_both_is_one_line_and_exit_status_2(tmp_path):
    (tmp_path / "both.toml").write_text(SMALL + "\n[adc]\nrate_msps = 50\n")
    proc = run("ppa", "--config", "both.toml", "--n", "4", cwd=tmp_path)
    assert_bad_input(proc, "both.toml: timing.t_adc (2) and adc.rate_msps (50) both given")


def test_a_sweep_over_the_rate_replaces_the_cycles():
    from cimtile.flows.sweep import config_with
    cfg = config({"t_settle": 1, "t_adc": 9}, {})
    assert config_with(cfg, {"adc.rate_msps": 50}).timing.t_adc == 2
    fast = config_with(cfg, {"adc.rate_msps": 800}).timing
    assert (fast.t_adc, fast.adc_per_step) == (1, 8)
