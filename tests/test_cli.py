"""The ``cimtile`` command line, run as users run it: bad input, and the happy paths."""

import json
import subprocess
import sys

import numpy as np
import pytest

from cimtile.spec.config import REFERENCE_CONFIG
from cli_helpers import SMALL, assert_bad_input, run


@pytest.fixture
def work(tmp_path):
    """A directory with a small valid config, weights and inputs."""
    (tmp_path / "small.toml").write_text(SMALL)
    rng = np.random.default_rng(0)
    np.save(tmp_path / "W.npy", rng.integers(-15, 16, (12, 3)))
    np.save(tmp_path / "X.npy", rng.integers(-8, 8, (5, 12)))
    return tmp_path


def golden(work, *, config="small.toml", weights="W.npy", inputs="X.npy"):
    return run("golden", "--config", config, "--weights", weights, "--inputs", inputs,
               "--out", "Y.npy", cwd=work)


def with_line(text, old, new):
    assert old in text
    return text.replace(old, new)


# Configuration errors: each message names the file and the offending table or key.
@pytest.mark.parametrize("toml, fragments", [
    (with_line(SMALL, "[timing]", "[timng]"), ["small.toml", "unknown table [timng]"]),
    (with_line(SMALL, "rows = 12", "rows = 12\nrowz = 3"),
     ["small.toml", "unknown key tile.rowz"]),
    (with_line(SMALL, "adc_bits = 6\n", ""), ["small.toml", "missing key tile.adc_bits"]),
    (SMALL.split("[timing]")[0], ["small.toml", "missing table [timing]"]),
    (with_line(SMALL, "adc_bits = 6", "adc_bits = 17"),
     ["small.toml", "tile.adc_bits must be an integer in 1..16, not 17"]),
    (with_line(SMALL, "t_adc = 2", "t_adc = 0"),
     ["small.toml", "timing.t_adc must be an integer in 1..1024, not 0"]),
    (with_line(SMALL, "rows = 12", "rows = 1.5"), ["small.toml", "tile.rows must be an integer"]),
    (with_line(SMALL, "[tile]", "[tile"), ["small.toml", "malformed TOML"]),
])
def test_bad_config(work, toml, fragments):
    (work / "small.toml").write_text(toml)
    proc = golden(work)
    assert_bad_input(proc, *fragments)
    assert not (work / "Y.npy").exists()


def test_missing_config_file(work):
    proc = golden(work, config="absent.toml")
    assert_bad_input(proc, "absent.toml", "cannot read")


# Data errors: each message names the file and says what was expected.
@pytest.mark.parametrize("which, array, fragments", [
    ("weights", np.full((12, 3), 16), ["weights: values must lie in [-15, 15]; found 16"]),
    ("weights", np.full((12, 3), -16), ["weights: values must lie in [-15, 15]; found -16"]),
    ("weights", np.zeros((11, 3), np.int64), ["weights: shape must be (rows=12, cols=3)"]),
    ("weights", np.zeros((12, 3)), ["weights: dtype must be integer, not float64"]),
    ("weights", np.zeros((12, 3), bool), ["weights: dtype must be integer, not bool"]),
    ("inputs", np.full((5, 12), 8), ["inputs: values must lie in [-8, 7]; found 8"]),
    ("inputs", np.full((5, 12), -9), ["inputs: values must lie in [-8, 7]; found -9"]),
    ("inputs", np.zeros(12, np.int64), ["inputs: shape must be (N, rows=12)"]),
    ("inputs", np.zeros((0, 12), np.int64), ["inputs: shape must be (N, rows=12) with N >= 1"]),
    ("inputs", np.zeros((5, 12), np.float32), ["inputs: dtype must be integer, not float32"]),
])
def test_bad_data(work, which, array, fragments):
    np.save(work / "bad.npy", array)
    proc = golden(work, **{which: "bad.npy"})
    assert_bad_input(proc, "bad.npy", *fragments)
    assert not (work / "Y.npy").exists()


def test_object_arrays_are_refused(work):
    np.save(work / "obj.npy", np.array([[1, "a"]], object), allow_pickle=True)
    proc = golden(work, weights="obj.npy")
    assert_bad_input(proc, "obj.npy", "cannot read weights", "allow_pickle=False")


@pytest.mark.parametrize("content", [b"", b"not numpy at all\n", b"PK\x03\x04zip"])
def test_files_that_are_not_npy_are_refused(work, content):
    (work / "junk.npy").write_bytes(content)
    proc = golden(work, inputs="junk.npy")
    assert_bad_input(proc, "junk.npy", "inputs file is not in .npy format")


def test_truncated_npy_is_refused(work):
    data = (work / "W.npy").read_bytes()
    (work / "cut.npy").write_bytes(data[:len(data) - 40])
    proc = golden(work, weights="cut.npy")
    assert_bad_input(proc, "cut.npy", "cannot read weights")


def test_non_npy_name_is_refused(work):
    np.savez(work / "W.npz", W=np.zeros((12, 3), np.int64))
    proc = golden(work, weights="W.npz")
    assert_bad_input(proc, "W.npz", "weights must be a .npy file")


@pytest.mark.parametrize("name, reason", [("absent.npy", "No such file"),
                                          ("adir.npy", "Is a directory")])
def test_unreadable_data_file(work, name, reason):
    (work / "adir.npy").mkdir()
    proc = golden(work, inputs=name)
    assert_bad_input(proc, name, "cannot read inputs", reason)


def test_output_directory_must_exist(work):
    proc = run("golden", "--config", "small.toml", "--weights", "W.npy", "--inputs", "X.npy",
               "--out", "no/such/dir/Y.npy", cwd=work)
    assert_bad_input(proc, "no/such/dir/Y.npy", "--out directory")


@pytest.mark.parametrize("args, fragment", [
    (["golden", "--config", "small.toml"], "the following arguments are required"),
    (["golden", "--config", "small.toml", "--weights", "W.npy", "--inputs", "X.npy",
      "--out", "Y.npy", "--seed", "many"], "argument --seed: invalid int value: 'many'"),
    (["transmogrify"], "invalid choice: 'transmogrify'"),
    ([], "the following arguments are required: COMMAND"),
])
def test_bad_command_line(work, args, fragment):
    assert_bad_input(run(*args, cwd=work), fragment)
    assert not (work / "Y.npy").exists()


def test_sim_bad_input_writes_nothing(work):
    np.save(work / "bad.npy", np.full((5, 12), 99))
    proc = run("sim", "--config", "small.toml", "--weights", "W.npy", "--inputs", "bad.npy",
               "--out", "Y.npy", "--report", "R.json", cwd=work)
    assert_bad_input(proc, "bad.npy", "inputs: values must lie in [-8, 7]; found 99")
    assert sorted(p.name for p in work.iterdir()) == ["W.npy", "X.npy", "bad.npy", "small.toml"]


def test_sim_refuses_unknown_waveform_format(work):
    proc = run("sim", "--config", "small.toml", "--weights", "W.npy", "--inputs", "X.npy",
               "--out", "Y.npy", "--waves", "w.ghw", cwd=work)
    assert_bad_input(proc, "--waves", "w.ghw", "must end in .fst or .vcd")
    assert not (work / "Y.npy").exists()


def test_verilog_host_top(work):
    proc = run("verilog", "--config", "small.toml", "-o", "host.v", cwd=work)
    assert proc.returncode == 0, proc.stderr
    text = (work / "host.v").read_text()
    assert "module cim_host(" in text
    for port in ("s_axil__awaddr", "s_axil__rresp", "s_axis_in__tkeep", "m_axis_out__tlast",
                 "s_axis_target__tdata", "m_axis_cell__tvalid", "irq", "analog__adc_shift"):
        assert port in text


def test_verilog(work):
    proc = run("verilog", "--config", "small.toml", "-o", "tile.v", "--top", "tile", cwd=work)
    assert proc.returncode == 0, proc.stderr
    text = (work / "tile.v").read_text()
    assert "module cim_tile(" in text
    for port in ("i_stream__payload", "o_stream__ready", "analog__wl", "analog__sample",
                 "analog__codes"):
        assert port in text


def test_golden(work):
    proc = golden(work)
    assert proc.returncode == 0, proc.stderr
    Y = np.load(work / "Y.npy")
    assert Y.dtype == np.int64
    # This configuration is lossless, so the golden model equals the product.
    assert np.array_equal(Y, np.load(work / "X.npy") @ np.load(work / "W.npy"))
    assert [p.name for p in work.iterdir() if p.name.startswith(".")] == []


def test_the_package_runs_as_a_module(work):
    """``cimtile bench --memory`` starts the command as ``python -m cimtile.cli``."""
    proc = subprocess.run([sys.executable, "-m", "cimtile.cli", "golden", "--config",
                           "small.toml", "--weights", "W.npy", "--inputs", "X.npy", "--out",
                           "Y.npy", "--json"], cwd=work, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    W, X = np.load(work / "W.npy"), np.load(work / "X.npy")
    assert np.array_equal(np.load(work / "Y.npy"), X @ W)
    assert json.loads(proc.stdout)["mvms"] == 5


def test_weights_must_fit_the_configured_tile(work):
    proc = run("golden", "--config", REFERENCE_CONFIG, "--weights", "W.npy", "--inputs",
               "X.npy", "--out", "Y.npy", "--seed", "3", cwd=work)
    assert_bad_input(proc, "W.npy", "weights: shape must be (rows=128, cols=16)")


def test_sim_end_to_end(work):
    proc = run("sim", "--config", "small.toml", "--weights", "W.npy", "--inputs", "X.npy",
               "--out", "Y.npy", "--report", "R.json", "--waves", "tile.vcd", "--seed", "4",
               "--json", cwd=work)
    assert proc.returncode == 0, proc.stderr
    W, X = np.load(work / "W.npy"), np.load(work / "X.npy")
    Y = np.load(work / "Y.npy")
    assert Y.dtype == np.int64 and Y.shape == (5, 3)
    assert np.array_equal(Y, X @ W)
    report = json.loads((work / "R.json").read_text())
    # With --json the report file's JSON is all that is printed.
    assert proc.stdout == json.dumps(report, indent=2) + "\n" and proc.stderr == ""
    assert report["mvms"] == 5
    assert report["golden_mismatches"] == 0
    assert report["analog_cycles_per_mvm"] == 4 * (2 + 3 * 2)
    assert report["cycles_per_mvm"] == report["analog_cycles_per_mvm"]
    assert report["cycles_total"] >= 5 * report["analog_cycles_per_mvm"]
    assert report["build_s"] >= 0 and report["wall_s"] > 0
    assert report["mvm_per_s"] == pytest.approx(5 / report["wall_s"], rel=0.05)
    assert (work / "tile.vcd").read_text().startswith("$version")


def test_sim_prints_a_summary_with_its_verdict_first(work):
    proc = run("sim", "--config", "small.toml", "--weights", "W.npy", "--inputs", "X.npy",
               "--out", "Y.npy", "--report", "R.json", cwd=work)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((work / "R.json").read_text())
    assert "golden_first_difference" not in report
    lines = proc.stdout.splitlines()
    assert lines[0] == "PASS: 0 of 5 results differ from the golden model"
    assert f"cycles per MVM        {report['cycles_per_mvm']:.2f} (analog 32)" in lines
    assert len(lines) < 20 and "{" not in proc.stdout


def test_sim_at_a_lower_run_time_precision(work):
    X = np.random.default_rng(2).integers(-2, 2, (4, 12))
    np.save(work / "X2.npy", X)
    proc = run("sim", "--config", "small.toml", "--weights", "W.npy", "--inputs", "X2.npy",
               "--out", "Y.npy", "--in-bits", "2", "--json", cwd=work)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["in_bits"] == 2 and report["analog_cycles_per_mvm"] == 2 * (2 + 3 * 2)
    assert np.array_equal(np.load(work / "Y.npy"), X @ np.load(work / "W.npy"))


@pytest.mark.parametrize("args, fragment", [
    (["--in-bits", "0"], "--in-bits must be in 1..4"),
    (["--in-bits", "5"], "--in-bits must be in 1..4"),
    (["--adc-shift", "99"], "--adc-shift must be in 0.."),
    (["--in-bits", "2", "--backend", "emulator"], "--in-bits and --adc-shift need"),
])
def test_sim_refuses_bad_run_time_settings(work, args, fragment):
    proc = run("sim", "--config", "small.toml", "--weights", "W.npy", "--inputs", "X.npy",
               "--out", "Y.npy", *args, cwd=work)
    assert_bad_input(proc, fragment)
    assert not (work / "Y.npy").exists()


def test_sim_refuses_inputs_wider_than_the_run_time_precision(work):
    proc = run("sim", "--config", "small.toml", "--weights", "W.npy", "--inputs", "X.npy",
               "--out", "Y.npy", "--in-bits", "2", "--json", cwd=work)
    assert_bad_input(proc, "X.npy", "inputs")
