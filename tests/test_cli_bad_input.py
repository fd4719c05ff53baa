"""Bad input to every ``cimtile`` command: status 2, one line naming the culprit, no
traceback, no output, and every input file as it was.

The table runs the command line in this process; anything that would reach a simulator, a
board or a toolchain is replaced by a stand-in that fails the test, so every case must be
refused before any work. A few cases, and the interrupts, run as users run them."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from numpy.lib import format as npy_format

from cimtile.cli import main
from cli_helpers import SMALL, assert_bad_input, children, run

ROWS, COLS, COLS_PHYS = 12, 3, 12      # SMALL: 3 logical columns x 2 slices x 2 polarities
HUGE_SHAPE = (10**7, 10**7)            # 800 TB of int64


def _npy_header_only(path, shape, descr="<i8"):
    with open(path, "wb") as file:
        npy_format.write_array_header_1_0(file, {"descr": descr, "fortran_order": False,
                                                 "shape": shape})
        file.write(bytes(64))


def _state(**change):
    window = np.array([2.0, 40.0])
    arrays = dict(conductance=np.full((ROWS, COLS_PHYS), 10.0), window=window) | change
    return {key: value for key, value in arrays.items() if value is not None}


def _model(**change):
    rng = np.random.default_rng(1)
    arrays = dict(W0=rng.normal(size=(ROWS, 5)), b0=np.zeros(5),
                  W1=rng.normal(size=(5, 3)), b1=np.zeros(3)) | change
    return {key: value for key, value in arrays.items() if value is not None}


def _data(**change):
    rng = np.random.default_rng(2)
    arrays = dict(x_test=rng.random((4, ROWS)), y_test=np.array([0, 1, 2, 0]),
                  x_cal=rng.random((4, ROWS))) | change
    return {key: value for key, value in arrays.items() if value is not None}


def make_files(work):
    """Good inputs, and one bad file for each way a file can be bad."""
    (work / "small.toml").write_text(SMALL)
    (work / "phys.toml").write_text(SMALL + '\n[analog]\nmodel = "physical"\n')
    for name, text in {
        "malformed.toml": SMALL.replace("[tile]", "[tile"),
        "unknown.toml": SMALL.replace("rows = 12", "rows = 12\nrowz = 3"),
        "range.toml": SMALL.replace("adc_bits = 6", "adc_bits = 17"),
        "type.toml": SMALL.replace("rows = 12", 'rows = "12"'),
        "bool.toml": SMALL.replace("rows = 12", "rows = true"),
        "inf.toml": SMALL + "\n[analog]\nread_noise = inf\n",
        "nan.toml": SMALL + "\n[analog]\nadc_offset = nan\n",
        "notable.toml": SMALL.split("[timing]")[0],
    }.items():
        (work / name).write_text(text)
    (work / "latin1.toml").write_bytes(SMALL.encode() + b"# caf\xe9\n")
    (work / "adir.toml").mkdir()
    (work / "adir.npy").mkdir()
    (work / "outdir").mkdir()

    rng = np.random.default_rng(0)
    arrays = {
        "W.npy": rng.integers(-15, 16, (ROWS, COLS)),
        "X.npy": rng.integers(-8, 8, (5, ROWS)),
        "F.npy": np.zeros((ROWS, COLS_PHYS), np.int64),
        "w_high.npy": np.full((ROWS, COLS), 16),
        "w_shape.npy": np.zeros((11, COLS), np.int64),
        "w_float.npy": np.zeros((ROWS, COLS)),
        "w_1e308.npy": np.full((ROWS, COLS), 1e308),
        "w_nan.npy": np.full((ROWS, COLS), np.nan),
        "w_bool.npy": np.zeros((ROWS, COLS), bool),
        "w_td.npy": np.zeros((ROWS, COLS), "m8[s]"),
        "w_dt.npy": np.zeros((ROWS, COLS), "M8[s]"),
        "w_complex.npy": np.zeros((ROWS, COLS), complex),
        "w_str.npy": np.full((ROWS, COLS), "1"),
        "w_struct.npy": np.zeros((ROWS, COLS), [("a", "<i8")]),
        "x_low.npy": np.full((5, ROWS), -9),
        "x_1d.npy": np.zeros(ROWS, np.int64),
        "x_empty.npy": np.zeros((0, ROWS), np.int64),
        "x_td.npy": np.zeros((5, ROWS), "m8[ns]"),
        "x_uint_huge.npy": np.full((5, ROWS), 2**64 - 1, np.uint64),
        "f_td.npy": np.zeros((ROWS, COLS_PHYS), "m8[s]"),
        "f_float.npy": np.zeros((ROWS, COLS_PHYS)),
        "f_three.npy": np.full((ROWS, COLS_PHYS), 3),
        "f_shape.npy": np.zeros((ROWS, COLS), np.int64),
    }
    for name, array in arrays.items():
        np.save(work / name, array)
    np.save(work / "w_obj.npy", np.array([[1, "a"]], object), allow_pickle=True)
    _npy_header_only(work / "w_huge.npy", HUGE_SHAPE)
    (work / "w_cut.npy").write_bytes((work / "W.npy").read_bytes()[:-40])
    (work / "w_empty.npy").write_bytes(b"")
    (work / "w_text.npy").write_text("not numpy\n")
    np.savez(work / "W.npz", W=arrays["W.npy"])

    npz = {
        "S.npz": _state(),
        "s_str.npz": _state(conductance=np.full((ROWS, COLS_PHYS), "1.0")),
        "s_window_inf.npz": _state(window=np.array([2.0, np.inf])),
        "s_window_nan.npz": _state(window=np.array([np.nan, 40.0])),
        "s_window_order.npz": _state(window=np.array([40.0, 2.0])),
        "s_window_range.npz": _state(window=np.array([2.0, 1e7])),
        "s_window_td.npz": _state(window=np.array([2, 40], "m8[s]")),
        "s_g_nan.npz": _state(conductance=np.full((ROWS, COLS_PHYS), np.nan)),
        "s_g_neg.npz": _state(conductance=np.full((ROWS, COLS_PHYS), -1.0)),
        "s_g_huge.npz": _state(conductance=np.full((ROWS, COLS_PHYS), 1e300)),
        "s_g_shape.npz": _state(conductance=np.zeros((ROWS, 3))),
        "s_no_window.npz": _state(window=None),
        "s_remap_range.npz": _state(remap=np.ones(COLS_PHYS, np.int64)),
        "s_remap_float.npz": _state(remap=np.zeros(COLS_PHYS)),
        "s_remap_shape.npz": _state(remap=np.zeros(3, np.int64)),
        "model.npz": _model(),
        "m_1e308.npz": _model(W0=np.full((ROWS, 5), 1e308)),
        "m_td.npz": _model(W0=np.zeros((ROWS, 5), "m8[s]")),
        "m_bool.npz": _model(b0=np.zeros(5, bool)),
        "m_str.npz": _model(W1=np.full((5, 3), "x")),
        "m_nan.npz": _model(W1=np.full((5, 3), np.nan)),
        "m_rows.npz": _model(W0=np.zeros((ROWS + 1, 5))),
        "data.npz": _data(),
        "d_td.npz": _data(y_test=np.zeros(4, "m8[s]")),
        "d_label.npz": _data(y_test=np.array([0, 1, 2, 3])),
        "d_inf.npz": _data(x_cal=np.full((4, ROWS), np.inf)),
        "d_no_cal.npz": _data(x_cal=None),
    }
    for name, content in npz.items():
        np.savez(work / name, **content)
    (work / "s_cut.npz").write_bytes((work / "S.npz").read_bytes()[:200])
    (work / "m_cut.npz").write_bytes((work / "model.npz").read_bytes()[:-30])
    # An archive whose member's header claims terabytes.
    _npy_header_only(work / "huge_member.npy", HUGE_SHAPE, "<f8")
    import zipfile
    with zipfile.ZipFile(work / "s_huge.npz", "w") as archive:
        archive.write(work / "huge_member.npy", "conductance.npy")
        with archive.open("window.npy", "w") as member:
            np.lib.format.write_array(member, np.array([2.0, 40.0]))
    (work / "huge_member.npy").unlink()


def snapshot(root):
    """Every file under `root` with its bytes (symbolic links as their target)."""
    state = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        if path.is_symlink():
            state[key] = ("link", os.readlink(path))
        elif path.is_dir():
            state[key] = ("dir",)
        elif path.is_file():
            state[key] = ("file", path.read_bytes())
        else:
            state[key] = ("special",)
    return state


@pytest.fixture
def work(tmp_path, monkeypatch):
    """A directory with good and bad inputs, the current directory of the test; whatever
    would start a simulator, build or board run fails the test instead."""
    make_files(tmp_path)
    monkeypatch.chdir(tmp_path)

    def reached(*args, **kwargs):
        raise AssertionError("the command reached the simulator, toolchain or board")
    monkeypatch.setattr("cimtile.tb.runs.runner.simulate", reached)
    monkeypatch.setattr("cimtile.tb.runs.runner.program", reached)
    monkeypatch.setattr("cimtile.tb.runs.emulator_runner.simulate_emulator", reached)
    monkeypatch.setattr("cimtile.flows.network_run.run_network", reached)
    monkeypatch.setattr("cimtile.flows.sweep.run_sweep", reached)
    monkeypatch.setattr("cimtile.flows.regress.regress", reached)
    monkeypatch.setattr("cimtile.cli.regress._one_seed", reached)
    monkeypatch.setattr("cimtile.flows.digits.digits_split", reached)
    monkeypatch.setattr("cimtile.fpga.run.open_serial", reached)
    monkeypatch.setattr("cimtile.fpga.build.build_bitstream", reached)
    return tmp_path


def golden(*extra, weights="W.npy", inputs="X.npy", out="Y.npy", config="small.toml"):
    return ["golden", "--config", config, "--weights", weights, "--inputs", inputs,
            "--out", out, *extra]


def sim(*extra, weights="W.npy", inputs="X.npy", out="Y.npy", config="small.toml"):
    return ["sim", "--config", config, "--weights", weights, "--inputs", inputs,
            "--out", out, *extra]


def program(*extra, weights="W.npy", report="R.json", config="small.toml"):
    return ["program", "--config", config, "--weights", weights, "--report", report, *extra]


def run_cmd(*extra, model="model.npz", data="data.npz", config="small.toml"):
    return ["run", "--model", model, "--config", config, "--data", data, *extra]


def sweep(*extra, out="sweep_out", config="small.toml", param="analog.adc_noise=0,1"):
    return ["sweep", "--config", config, "--param", param, "--out", out, *extra]


def regress(*extra):
    return ["regress", *extra]


def fpga_run(*extra, weights="W.npy", inputs="X.npy", out="Y.npy", config="small.toml"):
    return ["fpga", "run", "--port", "/dev/null", "--config", config, "--weights", weights,
            "--inputs", inputs, "--out", out, *extra]


CASES = {
    # Configuration files.
    "config missing": (golden(config="absent.toml"), ["absent.toml", "cannot read"]),
    "config is a directory": (golden(config="adir.toml"), ["adir.toml", "Is a directory"]),
    "config malformed TOML": (golden(config="malformed.toml"),
                              ["malformed.toml", "malformed TOML"]),
    "config unknown key": (golden(config="unknown.toml"), ["unknown.toml", "tile.rowz"]),
    "config out of range": (golden(config="range.toml"),
                            ["range.toml", "tile.adc_bits must be an integer in 1..16"]),
    "config string for integer": (golden(config="type.toml"), ["type.toml", "tile.rows"]),
    "config bool for integer": (golden(config="bool.toml"), ["bool.toml", "tile.rows"]),
    "config inf": (golden(config="inf.toml"), ["inf.toml", "analog.read_noise", "not inf"]),
    "config nan": (golden(config="nan.toml"), ["nan.toml", "analog.adc_offset", "not nan"]),
    "config missing table": (golden(config="notable.toml"),
                             ["notable.toml", "missing table [timing]"]),
    "config not UTF-8": (golden(config="latin1.toml"), ["latin1.toml", "cannot read"]),
    "config empty name": (golden(config=""), ["argument --config: empty file name"]),
    "config FIFO": (golden(config="fifo.toml"), ["fifo.toml", "--config",
                                                 "not a regular file"]),
    "bench config missing": (["bench", "--config", "absent.toml"], ["absent.toml"]),
    "verilog config missing": (["verilog", "--config", "absent.toml", "-o", "t.v"],
                               ["absent.toml"]),

    # Weights and inputs.
    "weights missing": (golden(weights="absent.npy"), ["absent.npy", "cannot read weights"]),
    "weights directory": (golden(weights="adir.npy"), ["adir.npy", "Is a directory"]),
    "weights FIFO": (golden(weights="fifo.npy"), ["fifo.npy", "not a regular file"]),
    "weights out of range": (golden(weights="w_high.npy"),
                             ["w_high.npy", "weights: values must lie in [-15, 15]"]),
    "weights wrong shape": (golden(weights="w_shape.npy"),
                            ["w_shape.npy", "shape must be (rows=12, cols=3)"]),
    "weights float": (golden(weights="w_float.npy"), ["w_float.npy", "not float64"]),
    "weights 1e308": (golden(weights="w_1e308.npy"), ["w_1e308.npy", "not float64"]),
    "weights NaN": (golden(weights="w_nan.npy"), ["w_nan.npy", "not float64"]),
    "weights bool": (golden(weights="w_bool.npy"), ["w_bool.npy", "not bool"]),
    "weights timedelta64": (golden(weights="w_td.npy"), ["w_td.npy", "timedelta64"]),
    "weights datetime64": (golden(weights="w_dt.npy"), ["w_dt.npy", "datetime64"]),
    "weights complex": (golden(weights="w_complex.npy"), ["w_complex.npy", "complex128"]),
    "weights strings": (golden(weights="w_str.npy"), ["w_str.npy", "<U1"]),
    "weights structured": (golden(weights="w_struct.npy"), ["w_struct.npy", "dtype"]),
    "weights objects": (golden(weights="w_obj.npy"), ["w_obj.npy", "allow_pickle=False"]),
    "weights header claims terabytes": (golden(weights="w_huge.npy"),
                                        ["w_huge.npy", "cannot read weights",
                                         "800,000,000,000,000 bytes"]),
    "weights truncated": (golden(weights="w_cut.npy"), ["w_cut.npy", "cannot read weights"]),
    "weights empty file": (golden(weights="w_empty.npy"), ["w_empty.npy", "not in .npy"]),
    "weights text file": (golden(weights="w_text.npy"), ["w_text.npy", "not in .npy"]),
    "weights .npz": (golden(weights="W.npz"), ["W.npz", "must be a .npy file"]),
    "weights empty name": (golden(weights=""), ["argument --weights: empty file name"]),
    "inputs out of range": (golden(inputs="x_low.npy"), ["x_low.npy", "found -9"]),
    "inputs 1-D": (golden(inputs="x_1d.npy"), ["x_1d.npy", "shape must be (N, rows=12)"]),
    "inputs no vectors": (golden(inputs="x_empty.npy"), ["x_empty.npy", "N >= 1"]),
    "inputs timedelta64": (golden(inputs="x_td.npy"), ["x_td.npy", "timedelta64"]),
    "inputs uint64 beyond int64": (golden(inputs="x_uint_huge.npy"),
                                   ["x_uint_huge.npy", "values must lie in [-8, 7]"]),
    "inputs wider than --in-bits": (sim("--in-bits", "2"), ["X.npy", "inputs"]),
    "sim weights timedelta64": (sim(weights="w_td.npy"), ["w_td.npy", "timedelta64"]),
    "fpga run inputs timedelta64": (fpga_run(inputs="x_td.npy"), ["x_td.npy", "timedelta64"]),
    "fpga run weights terabytes": (fpga_run(weights="w_huge.npy"), ["w_huge.npy"]),

    # Seeds and sizes.
    "seed negative": (golden("--seed", "-1"), ["--seed", "-1"]),
    "seed 2**64": (golden("--seed", str(2**64)), ["--seed", str(2**64)]),
    "seed not a number": (golden("--seed", "many"), ["--seed", "many"]),
    "sim seed 2**63": (sim("--seed", str(2**63)), ["--seed", str(2**63)]),
    "program seed negative": (program("--seed", "-3"), ["--seed", "-3"]),
    "run seed negative": (run_cmd("--seed", "-5"), ["--seed", "-5"]),
    "demo seed beyond 32 bits": (["demo", "--seed", str(2**32)], ["--seed", str(2**32)]),
    "demo --cnn unknown data set": (["demo", "--cnn", "cifar"], ["--cnn", "'cifar'"]),
    "sweep seed negative": (sweep("--seed", "-1"), ["--seed", "-1"]),
    "sweep --n 0": (sweep("--n", "0"), ["--n must be in 1..", "not 0"]),
    "sweep --n beyond memory": (sweep("--n", str(10**12)), ["--n must be in 1..100000"]),
    "bench --mvms beyond memory": (["bench", "--mvms", str(10**12)],
                                   ["--mvms must be in 2..100000"]),
    "bench --mvms 1": (["bench", "--mvms", "1"], ["--mvms", "not 1"]),
    "bench --memory Unicode digit": (["bench", "--memory", "\u0663"], ["--memory"]),
    "bench --memory 0": (["bench", "--memory", "10,0"], ["--memory", "1..10000000"]),
    "bench --memory empty count": (["bench", "--memory", "10,,20"], ["--memory"]),
    "seed Unicode digit": (golden("--seed", "\u0663"), ["--seed", "invalid int value"]),
    "seed superscript digit": (golden("--seed", "\u00b2"), ["--seed", "invalid int value"]),
    "seed with underscore": (golden("--seed", "1_0"), ["--seed", "'1_0'"]),
    "sim --in-bits Unicode digit": (sim("--in-bits", "\u0663"), ["--in-bits"]),
    "sweep --n Unicode digit": (sweep("--n", "\u0663"), ["--n", "invalid int value"]),
    "ppa seed 2**63": (["ppa", "--config", "small.toml", "--seed", str(2**63)],
                       ["--seed", str(2**63)]),
    "ppa --n 0": (["ppa", "--config", "small.toml", "--n", "0"], ["--n must be in 1.."]),

    # Regressions and sweeps on Dask.
    "regress --seed 2**64": (regress("--seed", str(2**64)), ["--seed", str(2**64)]),
    "regress --seed 2**63": (regress("--seed", str(2**63)), ["--seed", "0..9223372036854775807"]),
    "regress --seed negative": (regress("--seed", "-1"), ["--seed", "not -1"]),
    "regress --seed superscript": (regress("--seed", "\u00b2"), ["--seed"]),
    "regress --seeds 0": (regress("--seeds", "0"), ["--seeds", "1..5000", "not 0"]),
    "regress --seeds beyond the cap": (regress("--seeds", "5001"), ["--seeds", "not 5001"]),
    "regress --seeds 1e3": (regress("--seeds", "1e3"), ["--seeds", "'1e3'"]),
    "regress seeds pass the largest seed": (
        regress("--seeds", "10", "--first-seed", str(2**63 - 5)),
        ["--first-seed", "largest seed"]),
    "regress --first-seed negative": (regress("--first-seed", "-2"), ["--first-seed"]),
    "regress --time-budget nan": (regress("--time-budget", "nan"), ["--time-budget", "nan"]),
    "regress --time-budget inf": (regress("--time-budget", "inf"), ["--time-budget", "inf"]),
    "regress --time-budget 0": (regress("--time-budget", "0"), ["--time-budget", "'0'"]),
    "regress --time-budget negative": (regress("--time-budget", "-5"), ["--time-budget"]),
    "regress --time-budget beyond a week": (regress("--time-budget", "1e9"),
                                            ["--time-budget", "604800"]),
    "regress --time-budget text": (regress("--time-budget", "soon"), ["--time-budget",
                                                                       "soon"]),
    "regress --waves unknown format": (regress("--seed", "1", "--waves", "w.ghw"),
                                       ["--waves", "w.ghw", ".fst or .vcd"]),
    "regress --waves without --seed": (regress("--waves", "w.vcd"), ["--waves", "--seed"]),
    "regress --waves in a missing directory": (regress("--seed", "1", "--waves", "no/w.vcd"),
                                               ["no/w.vcd", "--waves"]),
    "regress --junit is a directory": (regress("--junit", "outdir"), ["outdir", "--junit"]),
    "regress --coverage is --junit": (regress("--junit", "j.xml", "--coverage", "j.xml"),
                                      ["--coverage", "--junit"]),
    "regress --mutant unknown": (regress("--mutant", "nope"), ["--mutant", "'nope'"]),
    "regress --workers 0": (regress("--workers", "0"), ["--workers", "1..64", "not 0"]),
    "regress --workers 65": (regress("--workers", "65"), ["--workers", "not 65"]),
    "regress --scheduler with spaces": (regress("--scheduler", "no such host!"),
                                        ["--scheduler", "'no such host!'"]),
    "regress --scheduler http URL": (regress("--scheduler", "http://localhost:8786"),
                                     ["--scheduler", "http://localhost:8786"]),
    "regress --scheduler without port": (regress("--scheduler", "tcp://localhost"),
                                         ["--scheduler", "HOST:PORT"]),
    "regress --scheduler port 0": (regress("--scheduler", "localhost:0"), ["--scheduler"]),
    "regress --scheduler port 65536": (regress("--scheduler", "localhost:65536"),
                                       ["--scheduler", "1..65535"]),
    "regress --dashboard malformed": (regress("--dashboard", "everywhere"), ["--dashboard"]),
    "sweep --workers -1": (sweep("--workers", "-1"), ["--workers", "0..64", "not -1"]),
    "sweep --workers 10**6": (sweep("--workers", str(10**6)), ["--workers"]),
    "sweep --scheduler with spaces": (sweep("--scheduler", "no such host!"), ["--scheduler"]),
    "sweep --scheduler http URL": (sweep("--scheduler", "http://[::1]:8786"),
                                   ["--scheduler", "http://"]),
    "sweep --dashboard port 99999": (sweep("--dashboard", ":99999"), ["--dashboard"]),

    # Run-time settings and options.
    "sim --in-bits 0": (sim("--in-bits", "0"), ["--in-bits must be in 1..4"]),
    "sim --adc-shift 99": (sim("--adc-shift", "99"), ["--adc-shift must be in 0.."]),
    "sim --waves unknown format": (sim("--waves", "w.ghw"), ["--waves", "w.ghw"]),
    "sim emulator physical": (sim("--backend", "emulator", config="phys.toml"),
                              ["--backend emulator"]),
    "sim emulator programmed": (sim("--backend", "emulator", "--programmed", "S.npz"),
                                ["--programmed"]),
    "sweep bad param": (sweep(param="analog.read_noise=0,-1"), ["--param analog.read_noise"]),
    "sweep unknown param": (sweep(param="analog.nope=1"), ["--param analog.nope"]),
    "missing required option": (["golden", "--config", "small.toml"],
                                ["the following arguments are required"]),
    "unknown command": (["transmogrify"], ["invalid choice: 'transmogrify'"]),
    "fpga run --timeout inf": (fpga_run("--timeout", "inf"), ["--timeout", "inf"]),
    "fpga run --timeout nan": (fpga_run("--timeout", "nan"), ["--timeout", "nan"]),
    "fpga run --timeout -1": (fpga_run("--timeout", "-1"), ["--timeout", "-1"]),
    "fpga run --timeout 0": (fpga_run("--timeout", "0"), ["--timeout must be positive"]),
    "fpga run --timeout 1e9": (fpga_run("--timeout", "1e9"), ["--timeout", "at most 3600"]),
    "fpga run --baud 0": (fpga_run("--baud", "0"), ["--baud must be positive"]),
    "fpga run physical config": (fpga_run(config="phys.toml"), ["crossbar emulator is ideal"]),
    "fpga run empty port": (["fpga", "run", "--port", "", "--config", "small.toml",
                             "--weights", "W.npy", "--inputs", "X.npy", "--out", "Y.npy"],
                            ["argument --port: empty file name"]),
    "fpga build --baud 0": (["fpga", "build", "--board", "icebreaker", "--config",
                             "small.toml", "--out", "fpga_out", "--baud", "0"], ["--baud 0"]),

    # Fault maps.
    "faults empty name": (program("--faults", ""), ["argument --faults: empty file name"]),
    "faults missing": (program("--faults", "absent.npy"), ["absent.npy", "faults"]),
    "faults timedelta64": (program("--faults", "f_td.npy"), ["f_td.npy", "timedelta64"]),
    "faults float": (program("--faults", "f_float.npy"), ["f_float.npy", "not float64"]),
    "faults out of range": (program("--faults", "f_three.npy"), ["f_three.npy", "found 3"]),
    "faults wrong shape": (program("--faults", "f_shape.npy"), ["f_shape.npy", "shape"]),

    # Programmed states.
    "state is .npy": (sim("--programmed", "X.npy"), ["X.npy", "not an .npz archive"]),
    "state missing": (sim("--programmed", "absent.npz"), ["absent.npz", "cannot read"]),
    "state truncated": (sim("--programmed", "s_cut.npz"), ["s_cut.npz", "cannot read"]),
    "state strings": (sim("--programmed", "s_str.npz"), ["s_str.npz", "conductance", "<U3"]),
    "state window inf": (sim("--programmed", "s_window_inf.npz"),
                         ["s_window_inf.npz", "window", "finite"]),
    "state window nan": (sim("--programmed", "s_window_nan.npz"),
                         ["s_window_nan.npz", "window"]),
    "state window reversed": (sim("--programmed", "s_window_order.npz"),
                              ["s_window_order.npz", "g_lo < g_hi"]),
    "state window beyond g_max": (sim("--programmed", "s_window_range.npz"),
                                  ["s_window_range.npz", "analog.g_max"]),
    "state window timedelta64": (sim("--programmed", "s_window_td.npz"),
                                 ["s_window_td.npz", "timedelta64"]),
    "state conductance nan": (sim("--programmed", "s_g_nan.npz"),
                              ["s_g_nan.npz", "conductance"]),
    "state conductance negative": (sim("--programmed", "s_g_neg.npz"),
                                   ["s_g_neg.npz", "conductance"]),
    "state conductance huge": (sim("--programmed", "s_g_huge.npz"),
                               ["s_g_huge.npz", "conductance"]),
    "state conductance shape": (sim("--programmed", "s_g_shape.npz"),
                                ["s_g_shape.npz", "conductance"]),
    "state lacks window": (sim("--programmed", "s_no_window.npz"),
                           ["s_no_window.npz", "lacks window"]),
    "state remap beyond the spares": (sim("--programmed", "s_remap_range.npz"),
                                      ["s_remap_range.npz", "remap", "[0, 0]"]),
    "state remap float": (sim("--programmed", "s_remap_float.npz"),
                          ["s_remap_float.npz", "remap must hold integers"]),
    "state remap shape": (sim("--programmed", "s_remap_shape.npz"),
                          ["s_remap_shape.npz", "remap: shape"]),
    "state header claims terabytes": (sim("--programmed", "s_huge.npz"),
                                      ["s_huge.npz", "conductance", "bytes"]),

    # Models and data.
    "model is .npy": (run_cmd(model="W.npy"), ["W.npy", "not an .npz archive"]),
    "model truncated": (run_cmd(model="m_cut.npz"), ["m_cut.npz", "cannot read model"]),
    "model 1e308 overflows": (run_cmd(model="m_1e308.npz"), ["m_1e308.npz", "float64"]),
    "model timedelta64": (run_cmd(model="m_td.npz"), ["m_td.npz", "W0", "timedelta64"]),
    "model bool": (run_cmd(model="m_bool.npz"), ["m_bool.npz", "b0", "bool"]),
    "model strings": (run_cmd(model="m_str.npz"), ["m_str.npz", "W1", "<U1"]),
    "model NaN": (run_cmd(model="m_nan.npz"), ["m_nan.npz", "W1 must be finite"]),
    "data is .npy": (run_cmd(data="X.npy"), ["X.npy", "not an .npz archive"]),
    "data wrong width": (run_cmd(model="m_rows.npz"), ["data.npz", "x_test"]),
    "data labels timedelta64": (run_cmd(data="d_td.npz"), ["d_td.npz", "y_test"]),
    "data label out of range": (run_cmd(data="d_label.npz"), ["d_label.npz", "y_test"]),
    "data inf": (run_cmd(data="d_inf.npz"), ["d_inf.npz", "x_cal must be finite"]),
    "data lacks x_cal": (run_cmd(data="d_no_cal.npz"), ["d_no_cal.npz", "x_cal"]),

    # Outputs that name an input or another output.
    "--out is --inputs": (golden(out="X.npy"), ["--out", "--inputs"]),
    "--out is --weights": (golden(out="W.npy"), ["--out", "--weights"]),
    "--out is --config": (golden(out="small.toml"), ["--out", "--config"]),
    "--out is --weights by another name": (golden(out="./sub/../W.npy"),
                                           ["--out", "--weights"]),
    "--out is a symlink to --weights": (golden(out="link.npy"), ["link.npy", "--weights"]),
    "--out is a hard link to --weights": (golden(out="hard.npy"), ["hard.npy", "--weights"]),
    "--report is --weights": (golden("--report", "W.npy"), ["--report", "--weights"]),
    "--out is --report": (golden("--report", "Y.npy"), ["Y.npy", "--report", "--out"]),
    "verilog -o is --config": (["verilog", "--config", "small.toml", "-o", "small.toml"],
                               ["-o", "--config"]),
    "regmap --out is --config": (["regmap", "--config", "small.toml", "--format", "md",
                                  "--out", "small.toml"], ["--out", "--config"]),
    "sim --out is --inputs": (sim(out="X.npy"), ["--out", "--inputs"]),
    "sim --report is --weights": (sim("--report", "W.npy"), ["--report", "--weights"]),
    "sim --waves is --out": (sim("--waves", "Y.npy"), ["--waves", "--out"]),
    "sim --out is --programmed": (sim("--programmed", "S.npz", out="S.npz"),
                                  ["--out", "--programmed"]),
    "program --state is --weights": (program("--state", "W.npy"), ["--state", "--weights"]),
    "program --plot is --report": (program("--plot", "R.json"), ["--plot", "--report"]),
    "program --report is --faults": (program("--faults", "F.npy", report="F.npy"),
                                     ["--report", "--faults"]),
    "run --report is --model": (run_cmd("--report", "model.npz"), ["--report", "--model"]),
    "run --report is --data": (run_cmd("--report", "data.npz"), ["--report", "--data"]),
    "run --plots is --report": (run_cmd("--report", "R.json", "--plots", "R.json"),
                                ["--plots", "--report"]),
    "fpga run --out is --weights": (fpga_run(out="W.npy"), ["--out", "--weights"]),
    "fpga run --report is --inputs": (fpga_run("--report", "X.npy"), ["--report", "--inputs"]),

    # Outputs that cannot be written.
    "--out is a directory": (golden(out="outdir"), ["outdir", "--out", "is a directory"]),
    "--out is .": (golden(out="."), ["--out", "directory"]),
    "--out is ..": (golden(out=".."), ["--out", "directory"]),
    "--out ends in /": (golden(out="new/"), ["new/", "--out"]),
    "--out empty": (golden(out=""), ["argument --out: empty file name"]),
    "--out in a missing directory": (golden(out="no/such/Y.npy"),
                                     ["no/such/Y.npy", "--out directory"]),
    "--out under a file": (golden(out="W.npy/Y.npy"), ["W.npy/Y.npy", "--out"]),
    "--out in an unwritable directory": (golden(out="/proc/Y.npy"),
                                         ["/proc/Y.npy", "--out", "not writable"]),
    # A FIFO, not a device: replacing /dev/null would break the machine for everyone.
    "--out is a FIFO": (golden(out="fifo.npy"), ["fifo.npy", "--out",
                                                 "must be a regular file"]),
    "--report in a missing directory": (golden("--report", "no/R.json"),
                                        ["no/R.json", "--report directory"]),
    "--report is a directory": (golden("--report", "outdir"), ["outdir", "--report"]),
    "verilog -o is .": (["verilog", "--config", "small.toml", "-o", "."], ["-o"]),
    "regmap --out is a directory": (["regmap", "--config", "small.toml", "--format", "c",
                                     "--out", "outdir"], ["outdir", "--out"]),
    "sim --waves in a missing directory": (sim("--waves", "no/w.vcd"), ["no/w.vcd",
                                                                         "--waves"]),
    "sim --report empty": (sim("--report", ""), ["argument --report: empty file name"]),
    "program --plot is a directory": (program("--plot", "outdir"), ["outdir", "--plot"]),
    "program --state in /proc": (program("--state", "/proc/S.npz"), ["/proc/S.npz",
                                                                    "--state"]),
    "sweep --out is a file": (sweep(out="W.npy"), ["W.npy", "--out must be a directory"]),
    "sweep --out under a file": (sweep(out="W.npy/sub"), ["W.npy/sub", "--out"]),
    "sweep --out in /proc": (sweep(out="/proc/sweep"), ["/proc/sweep", "--out"]),
    "run --plots is a file": (run_cmd("--plots", "X.npy"), ["X.npy", "--plots"]),
    "demo --report is a directory": (["demo", "--report", "outdir"], ["outdir", "--report"]),
    "demo --plots under a file": (["demo", "--plots", "W.npy/plots"], ["--plots"]),
    "fpga build --out is a file": (["fpga", "build", "--board", "icebreaker", "--config",
                                    "small.toml", "--out", "W.npy"], ["W.npy", "--out"]),
    "fpga run --out is a directory": (fpga_run(out="outdir"), ["outdir", "--out"]),
}


def _special_files(work):
    os.mkfifo(work / "fifo.toml")
    os.mkfifo(work / "fifo.npy")
    (work / "sub").mkdir()
    os.symlink("W.npy", work / "link.npy")
    os.link(work / "W.npy", work / "hard.npy")


@pytest.mark.parametrize("argv, fragments", CASES.values(), ids=CASES.keys())
def test_bad_input_is_refused_before_any_work(work, capsys, argv, fragments):
    _special_files(work)
    before = snapshot(work)
    status = main(argv)
    out, err = capsys.readouterr()
    assert status == 2, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("cimtile: error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0]
    assert out == ""
    assert snapshot(work) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="permissions do not stop root")
def test_unreadable_file(work, capsys):
    (work / "W.npy").chmod(0)
    assert main(golden()) == 2
    assert "W.npy: cannot read weights: Permission denied" in capsys.readouterr().err


def test_refused_outputs_leave_earlier_outputs_alone(work, capsys):
    """An existing output is kept as it was when another output of the command is refused."""
    (work / "Y.npy").write_bytes(b"old results")
    assert main(golden("--report", "no/R.json")) == 2
    assert (work / "Y.npy").read_bytes() == b"old results"
    assert capsys.readouterr().err.count("\n") == 1


def test_a_failed_write_writes_nothing(work, capsys, monkeypatch):
    """When writing the second output fails, the first does not appear either, and no
    temporary file is left."""
    from cimtile.spec.files import OutputFiles
    stage = OutputFiles.stage

    def full_disk(file):
        raise OSError(28, "No space left on device")

    def failing_stage(self, path, option, write):
        return stage(self, path, option, full_disk if option == "--report" else write)
    monkeypatch.setattr(OutputFiles, "stage", failing_stage)
    before = snapshot(work)
    assert main(golden("--report", "R.json")) == 2
    err = capsys.readouterr().err
    assert err == "cimtile: error: R.json: cannot write --report: No space left on device\n"
    assert snapshot(work) == before


@pytest.mark.parametrize("argv, fragments", [
    (golden(weights="w_huge.npy"), ["w_huge.npy", "cannot read weights"]),
    (golden("--seed", "-1"), ["--seed"]),
    (run_cmd(model="m_1e308.npz"), ["m_1e308.npz", "float64"]),
], ids=["terabyte header", "negative seed", "overflowing model"])
def test_refusals_as_users_see_them(work, argv, fragments):
    """In a process of its own: nothing else (no numpy warning) reaches stderr."""
    before = snapshot(work)
    assert_bad_input(run(*argv, cwd=work), *fragments)
    assert snapshot(work) == before


@pytest.mark.parametrize("signum, status, line", [
    (signal.SIGINT, 130, "cimtile: interrupted"),
    (signal.SIGTERM, 143, "cimtile: terminated"),
])
def test_interrupted_simulation_ends_in_one_line(tmp_path, signum, status, line):
    make_files(tmp_path)
    np.save(tmp_path / "X.npy", np.random.default_rng(3).integers(-8, 8, (20000, ROWS)))
    before = snapshot(tmp_path)
    command = [str(Path(sys.executable).with_name("cimtile")), *sim("--report", "R.json")]
    # SIGINT may be ignored by the process running the tests (a background job), which
    # the child would inherit; the command's own behaviour is under test.
    proc = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    # Signal once the command is at work: it has started a build or the simulator.
    while not children(proc.pid) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == status, err
    assert err.splitlines() == [line], err
    assert snapshot(tmp_path) == before
