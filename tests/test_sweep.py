"""Parameter sweeps: grid validation, the table of errors, the plots and the progress bar."""

import csv
import io

import numpy as np
import pytest

from cimtile.flows.engine import progress_bar
from cimtile.flows.metrics import error_metrics
from cimtile.flows.sweep import (COSIM_VECTORS, SweepError, config_with, parse_param, plot_sweep,
                                 run_sweep, sweep_points, write_csv, write_outputs)
from cimtile.models.golden import golden_mvm
from cimtile.spec.config import parse_config
from cimtile.spec.mapping import random_operands

PNG = b"\x89PNG\r\n\x1a\n"

TILE = dict(rows=12, cols=3, in_bits=4, w_bits=5, bits_per_cell=2, adc_bits=6, adc_shift=0,
            cols_per_adc=3)
BASE = parse_config({"tile": TILE, "timing": {"t_settle": 2, "t_adc": 2},
                     "analog": {"model": "physical", "r_wl": 0, "r_bl": 0}})


class TestParam:
    @pytest.mark.parametrize("spec, expected", [
        ("analog.read_noise=0,0.01,0.02,0.05", ("analog.read_noise", [0, 0.01, 0.02, 0.05])),
        (" tile.adc_bits = 4, 6", ("tile.adc_bits", [4, 6])),
        ("analog.model=ideal,physical", ("analog.model", ["ideal", "physical"])),
        ('analog.d2d_distribution="lognormal"', ("analog.d2d_distribution", ["lognormal"])),
        ("analog.drift_time=1e3,86400", ("analog.drift_time", [1000.0, 86400])),
    ])
    def test_parse(self, spec, expected):
        assert parse_param(spec) == expected

    @pytest.mark.parametrize("spec, message", [
        ("analog.read_noise", "--param analog.read_noise: expected TABLE.KEY=V1,V2,... "
                              "(e.g. analog.read_noise=0,0.01)"),
        ("read_noise=0.1", "--param read_noise=0.1: expected TABLE.KEY=V1,V2,..."),
        ("analog.=1", "--param analog.=1: expected TABLE.KEY=V1,V2,..."),
        ("analog.read_noise=", "--param analog.read_noise: empty value in ''"),
        ("analog.read_noise=0,,1", "--param analog.read_noise: empty value in '0,,1'"),
    ])
    def test_malformed(self, spec, message):
        with pytest.raises(SweepError) as error:
            parse_param(spec)
        assert str(error.value).startswith(message)


class TestPoints:
    def test_grid_is_the_product(self):
        points = sweep_points(BASE, [("analog.read_noise", [0, 0.05]),
                                     ("tile.adc_bits", [4, 5, 6])])
        assert [values for values, _ in points] == [
            {"analog.read_noise": r, "tile.adc_bits": b} for r in (0, 0.05) for b in (4, 5, 6)]
        cfg = points[4][1]
        assert cfg.analog.read_noise == 0.05 and cfg.tile.adc_bits == 5
        assert cfg.analog.physical and cfg.tile.rows == 12

    @pytest.mark.parametrize("params, message", [
        ([("analog.read_noise", [0, -0.1])],
         "--param analog.read_noise: analog.read_noise must be a number in [0, 1], not -0.1"),
        ([("analog.read_noise", ["abc"])],
         "--param analog.read_noise: analog.read_noise must be a number in [0, 1], "
         "not 'abc'"),
        ([("analog.noise", [0.1])],
         "--param analog.noise: unknown key analog.noise; expected one of model, "),
        ([("dac.noise", [0.1])], "--param dac.noise: unknown table [dac]; expected one of "),
        ([("tile.rows", [1.5])], "--param tile.rows: tile.rows must be an integer in 1..1024, "
                                 "not 1.5"),
        ([("analog.r_wl", [1]), ("analog.r_wl", [2])], "--param analog.r_wl: given more "
                                                       "than once"),
        ([("analog.g_min", [1, 50]), ("analog.g_max", [40, 60])],
         "--param analog.g_min: analog.g_min must be less than analog.g_max (40.0), "
         "not 50.0"),
        ([("analog.g_min", [1, 30]), ("analog.g_max", [20, 60])],
         "--param analog.g_min=30, analog.g_max=20: analog.g_min must be less than "
         "analog.g_max (20.0), not 30.0"),
    ])
    def test_rejects(self, params, message):
        with pytest.raises(SweepError) as error:
            sweep_points(BASE, params)
        assert str(error.value).startswith(message)

    def test_config_with_keeps_everything_else(self):
        cfg = config_with(BASE, {"analog.adc_inl": [0.1] * 63})
        assert cfg.analog.adc_inl == (0.1,) * 63
        assert config_with(cfg, {}) == cfg


class TestRun:
    def test_rows_match_the_golden_model(self):
        points = sweep_points(BASE, [("analog.read_noise", [0, 0.2]),
                                     ("analog.adc_noise", [0, 1.0])])
        rows, _ = run_sweep(points, n=64, seed=3)
        assert len(rows) == 4
        for row, (values, cfg) in zip(rows, points):
            W, X = random_operands(cfg, 64, np.random.default_rng(3))
            expected = error_metrics(golden_mvm(cfg, W, X, 3), X, W)
            assert row == values | expected | {"golden_s": row["golden_s"]}
        assert rows[0]["normalized_rms_error"] < rows[3]["normalized_rms_error"]

    def test_csv_and_plots(self, tmp_path):
        params = [("analog.read_noise", [0, 0.1, 0.3]), ("analog.model", ["ideal",
                                                                          "physical"])]
        rows, _ = run_sweep(sweep_points(BASE, params), n=32)
        paths = write_outputs(tmp_path / "out", rows, [key for key, _ in params])
        assert [p.name for p in paths] == ["sweep.csv", "error_vs_analog.read_noise.png",
                                           "error_vs_analog.model.png"]
        table = list(csv.DictReader(io.StringIO((tmp_path / "out/sweep.csv").read_text())))
        assert list(table[0]) == ["analog.read_noise", "analog.model", "rms_error",
                                  "max_abs_error", "normalized_rms_error", "golden_s"]
        assert [(r["analog.read_noise"], r["analog.model"]) for r in table] == [
            ("0", "ideal"), ("0", "physical"), ("0.1", "ideal"), ("0.1", "physical"),
            ("0.3", "ideal"), ("0.3", "physical")]
        for path in paths[1:]:
            assert path.read_bytes().startswith(PNG) and path.stat().st_size > 5000
        assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
            p.name for p in paths)  # no temporary files left

    def test_single_valued_keys_get_no_plot(self):
        rows, _ = run_sweep(sweep_points(BASE, [("analog.read_noise", [0.1])]), n=8)
        assert plot_sweep(rows, ["analog.read_noise"]) == {}
        assert write_csv(rows).startswith("analog.read_noise,rms_error,")

    def test_cosim_spot_checks(self):
        points = sweep_points(BASE, [("analog.read_noise", [0.3])])
        rows, verdicts = run_sweep(points, n=20, seed=2, cosim=True)
        for row in rows:
            assert row["cosim_vectors"] == COSIM_VECTORS
            assert row["cosim_golden_mismatches"] == 0
            assert row["cosim_equals_sweep"] is True
        assert [(v.check, v.compared, v.ok) for v in verdicts] == [
            ("golden model", COSIM_VECTORS, True),
            ("sweep's golden run", COSIM_VECTORS, True)]


class TestProgress:
    def test_draws_each_job(self):
        stream = io.StringIO()
        with progress_bar("sweep", 4, enabled=True, stream=stream) as advance:
            for i in range(4):
                advance(f"p={i}")
        text = stream.getvalue()
        assert "sweep" in text and "4/4" in text and "p=3" in text

    def test_silent_when_not_a_terminal(self):
        stream = io.StringIO()
        with progress_bar("sweep", 2, stream=stream) as advance:
            advance()
            advance()
        assert stream.getvalue() == ""


def test_the_same_rows_on_two_dask_workers_as_in_process():
    points = sweep_points(BASE, [("analog.read_noise", [0.0, 0.05, 0.1])])
    here, _ = run_sweep(points, n=16, seed=4)
    there, _ = run_sweep(points, n=16, seed=4, workers=2)
    for a, b in zip(here, there):
        assert {k: v for k, v in a.items() if k != "golden_s"} == \
            {k: v for k, v in b.items() if k != "golden_s"}


def test_random_operands_are_in_range_and_seeded():
    W, X = random_operands(BASE, 50, np.random.default_rng(1))
    assert W.shape == (12, 3) and X.shape == (50, 12)
    assert np.abs(W).max() <= 15 and X.min() >= -8 and X.max() <= 7
    W2, X2 = random_operands(BASE, 50, np.random.default_rng(1))
    assert (W == W2).all() and (X == X2).all()
