"""The PPA figures of a sweep's points (``cimtile sweep --ppa``): each point's metrics, their
plots and the Pareto front."""

import pytest

from cimtile.flows.ppa.study import METRICS, pareto_front, plot_ppa_sweep, point_metrics

from cli_helpers import run
from test_ppa import config


def test_sweep_metrics_of_a_point_and_their_plots():
    small = dict(rows=2, cols=1, in_bits=2, w_bits=3, bits_per_cell=2, adc_bits=3,
                 cols_per_adc=2)
    cfg = config(**small)          # synthesised by the area test as well (cached)
    metrics = point_metrics(cfg, 8, 0)
    assert set(metrics) == set(METRICS)
    assert metrics["tops_per_w"] == pytest.approx(
        2 * cfg.tile.rows * cfg.tile.cols / metrics["energy_per_mvm_pj"])
    assert metrics["mvm_ns"] == cfg.analog_cycles_per_mvm * 10
    rows = [{"tile.adc_bits": b, "tile.cols_per_adc": c, "normalized_rms_error": 0.1 / b}
            | metrics for b in (3, 4) for c in (1, 2)]
    plots = plot_ppa_sweep(rows, ["tile.adc_bits", "tile.cols_per_adc"])
    assert sorted(plots) == ["error_vs_energy.png", "pareto.png", "ppa_vs_tile.adc_bits.png",
                             "ppa_vs_tile.cols_per_adc.png"]
    assert all(png[:4] == b"\x89PNG" for png in plots.values())


def test_the_pareto_front_keeps_the_points_nothing_beats():
    rows = [dict(tops_per_w=t, gops_per_mm2=g, normalized_rms_error=e)
            for t, g, e in [(1, 1, 0.1), (2, 1, 0.1), (1, 2, 0.0), (0.5, 0.5, 0.0),
                            (2, 1, 0.1)]]
    # Row 0 is beaten by 1 and 2; 3 only by 2; the equal rows 1 and 4 both stay.
    assert pareto_front(rows) == [1, 2, 4]


def test_sweep_ppa_adds_the_metrics_and_plots(tmp_path):
    small = dict(rows=2, cols=1, in_bits=2, w_bits=3, bits_per_cell=2, adc_bits=3,
                 adc_shift=0, cols_per_adc=2)
    (tmp_path / "c.toml").write_text(
        "[tile]\n" + "".join(f"{k} = {v}\n" for k, v in small.items())
        + "[timing]\nt_settle = 2\nt_adc = 3\n")
    # A slower clock leaves the RTL (and its cached synthesis) as it is.
    proc = run("sweep", "--config", "c.toml", "--param", "ppa.clock_mhz=100,50", "--n", "8",
               "--ppa", "--workers", "0", "--out", "out", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = (tmp_path / "out" / "sweep.csv").read_text().splitlines()
    header = lines[0].split(",")
    rows = [dict(zip(header, line.split(","))) for line in lines[1:]]
    # Half the clock: the same events, held and leaking twice as long.
    assert float(rows[1]["mvm_ns"]) == 2 * float(rows[0]["mvm_ns"])
    assert float(rows[1]["energy_per_mvm_pj"]) > float(rows[0]["energy_per_mvm_pj"])
    assert rows[1]["area_mm2"] == rows[0]["area_mm2"]
    assert (tmp_path / "out" / "ppa_vs_ppa.clock_mhz.png").exists()
    assert (tmp_path / "out" / "error_vs_energy.png").exists()
    assert (tmp_path / "out" / "pareto.png").exists()
