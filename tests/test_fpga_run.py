"""``cimtile fpga run`` as users run it: against the simulated board core behind a
pseudo-terminal (the serial port it opens), and its refusals of bad input."""

import json
from pathlib import Path

import numpy as np
import pytest

import cimtile.fpga
from cimtile.fpga.board_sim import board_on_pty
from cimtile.spec.config import load_config
from cimtile.spec.mapping import random_operands
from cli_helpers import assert_bad_input, run

ICEBREAKER = Path(cimtile.fpga.__file__).parent / "configs" / "icebreaker.toml"


@pytest.fixture
def work(tmp_path):
    """The iCEBreaker config, weights and inputs that fit it, and a config of another
    build (its ADC conversion is longer)."""
    text = ICEBREAKER.read_text()
    (tmp_path / "board.toml").write_text(text)
    assert "t_adc = 6" in text
    (tmp_path / "other.toml").write_text(text.replace("t_adc = 6", "t_adc = 7"))
    W, X = random_operands(load_config(ICEBREAKER), 11, np.random.default_rng(8))
    np.save(tmp_path / "W.npy", W)
    np.save(tmp_path / "X.npy", X)
    return tmp_path


def fpga_run(work, port, *extra, config="board.toml", weights="W.npy", inputs="X.npy"):
    return run("fpga", "run", "--port", port, "--config", config, "--weights", weights,
               "--inputs", inputs, "--out", "Y.npy", *extra, cwd=work)


def test_run_programs_and_computes_on_the_simulated_board(work):
    with board_on_pty(load_config(ICEBREAKER)) as port:
        mismatch = fpga_run(work, port, "--timeout", "60", config="other.toml")
        proc = fpga_run(work, port, "--report", "R.json", "--timeout", "60", "--json")
    assert_bad_input(mismatch, f"--port {port}: the board was built for another config")
    assert proc.returncode == 0, proc.stderr
    W, X = np.load(work / "W.npy"), np.load(work / "X.npy")
    np.testing.assert_array_equal(np.load(work / "Y.npy"), X @ W)
    report = json.loads((work / "R.json").read_text())
    assert report == json.loads(proc.stdout)
    assert report["golden_mismatches"] == 0
    assert report["vectors"] == report["mvm_count"] == len(X)
    assert report["cells"] == 16 * 16 and report["port"] == port


@pytest.mark.parametrize("change, fragments", [
    (dict(port="/nonexistent/ttyUSB9"), ["--port /nonexistent/ttyUSB9: cannot open"]),
    (dict(weights="missing.npy"), ["missing.npy: cannot read weights"]),
    (dict(inputs="W.npy"), ["W.npy", "inputs"]),
    (dict(extra=("--timeout", "0")), ["--timeout must be positive, not 0.0"]),
    (dict(extra=("--baud", "-5")), ["--baud must be positive, not -5"]),
    (dict(config="physical.toml"), ["the FPGA's crossbar emulator is ideal"]),
])
def test_bad_input_is_refused_in_one_line(work, change, fragments):
    (work / "physical.toml").write_text(ICEBREAKER.read_text().replace(
        'model = "ideal"', 'model = "physical"'))
    proc = fpga_run(work, change.get("port", "/dev/null"), *change.get("extra", ()),
                    config=change.get("config", "board.toml"),
                    weights=change.get("weights", "W.npy"),
                    inputs=change.get("inputs", "X.npy"))
    assert_bad_input(proc, *fragments)
    assert not (work / "Y.npy").exists()
