"""The ``[adc]`` table: its rate gives ``[timing] t_adc`` at the clock, once."""

import pytest

from cimtile.spec.config import ConfigError, parse_config

from cli_helpers import SMALL, assert_bad_input, run

TILE = dict(rows=8, cols=2, in_bits=4, w_bits=5, bits_per_cell=2, adc_bits=6, adc_shift=0,
            cols_per_adc=4)


def config(timing, adc, ppa=None):
    return parse_config({"tile": TILE, "timing": timing, "adc": adc, "ppa": ppa or {}})


@pytest.mark.parametrize("rate, clock, cycles", [(100, 100, 1), (50, 100, 2), (30, 100, 4),
                                                 (1200, 1200, 1), (0.1, 100, 1000)])
def test_the_rate_gives_the_cycles_of_one_conversion(rate, clock, cycles):
    cfg = config({"t_settle": 1}, {"rate_msps": rate}, {"clock_mhz": clock})
    assert cfg.timing.t_adc == cycles
    assert cfg.adc_rate_msps == pytest.approx(clock / cycles)


def test_a_config_of_cycles_is_unchanged():
    assert config({"t_settle": 1, "t_adc": 9}, {}).timing.t_adc == 9


@pytest.mark.parametrize("timing, adc, message", [
    ({"t_settle": 1, "t_adc": 9}, {"rate_msps": 50},
     "timing.t_adc (9) and adc.rate_msps (50) both given; give one: t_adc in 1..1024 cycles "
     "or rate_msps in (0, ppa.clock_mhz = 100] MS/s"),
    ({"t_settle": 1}, {}, "missing key timing.t_adc (or adc.rate_msps)"),
    ({"t_settle": 1}, {"rate_msps": 200}, "adc.rate_msps must be at most ppa.clock_mhz (100)"),
    ({"t_settle": 1}, {"rate_msps": 0.05}, "adc.rate_msps must give t_adc = "
     "ceil(ppa.clock_mhz / rate_msps) in 1..1024 cycles, not 2000"),
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
