"""The command line in the physical model: error reports, the sweep command, the benchmark."""

import csv
import json

import numpy as np
import pytest

from cimtile import cli
from cimtile.flows.metrics import error_metrics
from cli_helpers import SMALL, assert_bad_input, run

PHYSICAL = SMALL + """
[analog]
model = "physical"
read_noise = 0.05
fault_rate = 0.05
r_wl = 100
r_bl = 100
adc_cap_mismatch = 0.05
adc_noise = 0.5
"""


@pytest.fixture
def work(tmp_path):
    (tmp_path / "tile.toml").write_text(PHYSICAL)
    rng = np.random.default_rng(0)
    np.save(tmp_path / "W.npy", rng.integers(-15, 16, (12, 3)))
    np.save(tmp_path / "X.npy", rng.integers(-8, 8, (6, 12)))
    return tmp_path


def test_golden_report(work):
    proc = run("golden", "--config", "tile.toml", "--weights", "W.npy", "--inputs", "X.npy",
               "--out", "Y.npy", "--report", "R.json", "--seed", "5", "--json", cwd=work)
    assert proc.returncode == 0, proc.stderr
    W, X, Y = (np.load(work / name) for name in ("W.npy", "X.npy", "Y.npy"))
    report = json.loads((work / "R.json").read_text())
    assert json.loads(proc.stdout) == report
    assert report["mvms"] == 6 and report["wall_s"] >= 0
    assert {k: report[k] for k in error_metrics(Y, X, W)} == error_metrics(Y, X, W)
    assert report["normalized_rms_error"] > 0  # the effects are strong enough to show


def test_golden_report_prints_a_summary_without_json(work):
    proc = run("golden", "--config", "tile.toml", "--weights", "W.npy", "--inputs", "X.npy",
               "--out", "Y.npy", "--report", "R.json", cwd=work)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((work / "R.json").read_text())
    lines = proc.stdout.splitlines()
    assert lines[0] == f"golden model: 6 vectors in {report['wall_s']} s"
    assert lines[1] == (f"normalised RMS error  {report['normalized_rms_error']:.3g} of the "
                        "range of X @ W")


def test_golden_without_report_prints_nothing(work):
    proc = run("golden", "--config", "tile.toml", "--weights", "W.npy", "--inputs", "X.npy",
               "--out", "Y.npy", cwd=work)
    assert proc.returncode == 0 and proc.stdout == ""


def test_golden_report_directory_must_exist(work):
    proc = run("golden", "--config", "tile.toml", "--weights", "W.npy", "--inputs", "X.npy",
               "--out", "Y.npy", "--report", "no/R.json", cwd=work)
    assert_bad_input(proc, "no/R.json", "--report directory")
    assert not (work / "Y.npy").exists()


def test_sim_reports_the_error_and_equals_the_golden_command(work):
    common = ("--config", "tile.toml", "--weights", "W.npy", "--inputs", "X.npy",
              "--seed", "5")
    proc = run("sim", *common, "--out", "Y.npy", "--report", "R.json", cwd=work)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((work / "R.json").read_text())
    assert report["golden_mismatches"] == 0
    W, X, Y = (np.load(work / name) for name in ("W.npy", "X.npy", "Y.npy"))
    for key, value in error_metrics(Y, X, W).items():
        assert report[key] == value
    # A separate process running the golden model gets the same results bit for bit.
    assert run("golden", *common, "--out", "G.npy", cwd=work).returncode == 0
    assert np.array_equal(np.load(work / "G.npy"), Y)


def sweep(work, *params, out="out", extra=()):
    args = ["sweep", "--config", "tile.toml", "--out", out, "--n", "40", "--json", *extra]
    for param in params:
        args += ["--param", param]
    return run(*args, cwd=work)


def test_sweep_writes_csv_and_plots(work):
    proc = sweep(work, "analog.read_noise=0,0.02,0.1", "analog.adc_noise=0,1")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    out = work / "out"
    assert summary == {"points": 6, "csv": "out/sweep.csv",
                       "plots": ["out/error_vs_analog.read_noise.png",
                                 "out/error_vs_analog.adc_noise.png"]}
    rows = list(csv.DictReader((out / "sweep.csv").open()))
    assert len(rows) == 6 and rows[0]["analog.read_noise"] == "0"
    assert {"rms_error", "max_abs_error", "normalized_rms_error"} <= set(rows[0])
    for name in ("error_vs_analog.read_noise.png", "error_vs_analog.adc_noise.png"):
        assert (out / name).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert proc.stderr == ""  # no progress bar when stderr is not a terminal


def test_sweep_report_is_the_json_and_the_summary_names_the_files(work):
    args = ("sweep", "--config", "tile.toml", "--out", "out", "--n", "8", "--param",
            "analog.read_noise=0,0.1")
    proc = run(*args, "--report", "R.json", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "sweep of 2 points (no co-simulated spot checks)", "points  2",
        "table   out/sweep.csv", "plots   1 in out"]
    assert json.loads((work / "R.json").read_text()) == {
        "points": 2, "csv": "out/sweep.csv", "plots": ["out/error_vs_analog.read_noise.png"]}


@pytest.mark.parametrize("param, fragments", [
    ("analog.read_noise=0,-0.1", ["--param analog.read_noise:", "must be a number in [0, 1], "
                                  "not -0.1"]),
    ("analog.read_nois=0.1", ["--param analog.read_nois:", "unknown key analog.read_nois"]),
    ("analog.read_noise=0.1,abc", ["--param analog.read_noise:", "not 'abc'"]),
    ("analog.read_noise=", ["--param analog.read_noise: empty value"]),
    ("read_noise=0.1", ["--param read_noise=0.1: expected TABLE.KEY=V1,V2,..."]),
    ("tile.rows=0", ["--param tile.rows:", "tile.rows must be an integer in 1..1024, not 0"]),
    ("analog.model=spice", ["--param analog.model:", "must be one of ideal, physical"]),
])
def test_sweep_bad_param(work, param, fragments):
    proc = sweep(work, "analog.adc_noise=0,1", param)
    assert_bad_input(proc, *fragments)
    assert not (work / "out").exists()
    assert proc.stdout == ""


def test_sweep_bad_arguments(work):
    assert_bad_input(sweep(work, "analog.read_noise=0", extra=["--n", "0"]),
                     "--n must be in 1..100000, not 0")
    (work / "file").write_text("")
    assert_bad_input(sweep(work, "analog.read_noise=0", out="file"),
                     "file: --out must be a directory")
    assert_bad_input(run("sweep", "--config", "tile.toml", "--out", "o", cwd=work),
                     "the following arguments are required: --param")
    assert not (work / "o").exists()


def test_bench_rejects_an_unknown_model(work):
    assert_bad_input(run("bench", "--analog", "spice", cwd=work),
                     "argument --analog: invalid choice: 'spice'")


def test_bench_physical_reports_both_models_and_drives(work, capsys):
    assert cli.main(["bench", "--config", str(work / "tile.toml"), "--mvms", "6",
                     "--analog", "physical", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["analog"] == "physical" and report["mvms"] == 6
    for key in ("cosim_mvm_per_s", "vip_mvm_per_s", "ideal_mvm_per_s", "golden_mvm_per_s",
                "numpy_mvm_per_s"):
        assert report[key] > 0, key
    # The report gives the ratio to two decimals.
    assert report["physical_to_ideal"] == pytest.approx(
        report["cosim_mvm_per_s"] / report["ideal_mvm_per_s"], abs=0.005)
    assert 0 < report["wakeups_per_mvm"] < 6
    # The small tile's conversions are too short for the emulator, which says so.
    assert report["emulator"].startswith("not run: timing.t_adc must be at least 3")
    assert report["macro_setup_s"] >= 0
    assert 0 < report["plane_us"] and 0 < report["plane_us_without_ir_drop"]
