"""``cimtile program``: bad input and one whole co-simulated programming run."""

import json
import math

import numpy as np
import pytest

from cli_helpers import SMALL, assert_bad_input, run

ROWS, COLS_PHYS = 12, 12      # SMALL: 3 logical columns x 2 slices x 2 polarities


@pytest.fixture
def work(tmp_path):
    (tmp_path / "small.toml").write_text(SMALL)
    np.save(tmp_path / "W.npy", np.random.default_rng(0).integers(-15, 16, (12, 3)))
    return tmp_path


def program(work, *extra):
    return run("program", "--config", "small.toml", "--weights", "W.npy",
               "--report", "R.json", *extra, cwd=work)


@pytest.mark.parametrize("faults, fragments", [
    (np.zeros((ROWS, 3), np.int64), ("F.npy: faults: shape must be (rows=12, cols_phys=12), "
                                     "not (12, 3)",)),
    (np.zeros((ROWS, COLS_PHYS)), ("F.npy: faults: dtype must be integer, not float64",)),
    (np.zeros((ROWS, COLS_PHYS), bool), ("faults: dtype must be integer, not bool",)),
    (np.full((ROWS, COLS_PHYS), 3), ("faults: values must be 0 (healthy), 1 (stuck at g_min) "
                                     "or 2 (stuck at g_max); found 3 at [0, 0]",)),
])
def test_bad_fault_map_is_refused(work, faults, fragments):
    np.save(work / "F.npy", faults)
    proc = program(work, "--faults", "F.npy")
    assert_bad_input(proc, *fragments)
    assert not (work / "R.json").exists()


def test_bad_write_verify_setting_is_refused(work):
    (work / "small.toml").write_text(SMALL + "\n[write_verify]\nset_start = 90\nset_limit = 80\n")
    proc = program(work)
    assert_bad_input(proc, "write_verify.set_start must not exceed write_verify.set_limit")
    assert not (work / "R.json").exists()


def test_programs_the_array_and_reports_failed_stuck_cells(work):
    faults = np.zeros((ROWS, COLS_PHYS), np.int64)
    # Stuck at g_max fails unless its target is the top level, stuck at g_min unless it is
    # level 0; with these weights (0, 0) has the top level and (5, 7) level 0.
    stuck = {(0, 0): 2, (0, 1): 2, (1, 1): 1, (5, 7): 1}
    for cell, kind in stuck.items():
        faults[cell] = kind
    np.save(work / "F.npy", faults)
    proc = program(work, "--faults", "F.npy", "--plot", "P.png", "--state", "S.npz",
                   "--seed", "3", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads((work / "R.json").read_text())
    assert proc.stdout == json.dumps(report, indent=2) + "\n"
    from cimtile.spec.config import load_config
    from cimtile.spec.mapping import weight_levels
    cfg = load_config(work / "small.toml")
    levels = weight_levels(np.load(work / "W.npy"), cfg)
    expected_failed = [[r, c] for r, c in stuck
                       if levels[r, c] != {2: cfg.max_level, 1: 0}[faults[r, c]]]
    assert len(expected_failed) == 2, "two stuck cells should conflict with their targets"
    assert report["failed"] == expected_failed
    assert report["cells"] == ROWS * COLS_PHYS
    assert report["converged"] == ROWS * COLS_PHYS - len(expected_failed)
    assert report["golden_mismatches"] == 0
    assert sum(report["pulses_histogram"]) == report["cells"]
    assert report["pulses_total"] == sum(k * n for k, n in enumerate(report["pulses_histogram"]))
    assert report["cycles_total"] > 0 and report["wall_s"] > 0
    assert (work / "P.png").read_bytes()[:4] == b"\x89PNG"
    # The energy of the run's own reads and pulses, which the co-simulation made as well.
    energy = report["energy"]
    assert energy["cosim_requests_agree"] is True
    assert energy["breakdown"]["cell_pulses"]["count"] == energy["pulses"] == \
        report["pulses_total"]
    assert energy["verify_reads"] == report["pulses_total"] + report["cells"]
    assert math.fsum(item["pj"] for item in energy["breakdown"].values()) == energy["total_pj"]
    with np.load(work / "S.npz") as state:
        assert state["conductance"].shape == (ROWS, COLS_PHYS)
    # The programmed conductances, not the ideal levels, feed the crossbar: the stuck cells
    # that failed show up as errors against X @ W, and co-simulation still equals golden.
    X = np.random.default_rng(1).integers(-8, 8, (6, ROWS))
    np.save(work / "X.npy", X)
    proc = run("sim", "--config", "small.toml", "--weights", "W.npy", "--inputs", "X.npy",
               "--out", "Y.npy", "--report", "SR.json", "--programmed", "S.npz", "--seed", "3",
               cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "PASS: 0 of 6 results differ from the golden model"
    sim_report = json.loads((work / "SR.json").read_text())
    assert sim_report["golden_mismatches"] == 0
    Y = np.load(work / "Y.npy")
    assert sim_report["max_abs_error"] == np.abs(Y - X @ np.load(work / "W.npy")).max() > 0
    # The crossbar energy is that of the conductances programming left, plane by plane.
    with np.load(work / "S.npz") as state:
        G = state["conductance"]
    driven = sum(G[r].sum() for x in X for b in range(cfg.tile.in_bits)
                 for r in range(ROWS) if (int(x[r]) >> b) & 1)
    expected = cfg.analog.v_read ** 2 * driven * 1e-6 * cfg.plane_cycles * 1e-8 * 1e12
    energy = sim_report["energy"]
    assert energy["breakdown"]["crossbar"]["pj"] == pytest.approx(expected, rel=1e-12)
    assert energy["activity"]["planes"] == len(X) * cfg.tile.in_bits


@pytest.mark.parametrize("state, fragment", [
    (dict(conductance=np.zeros((ROWS, 3)), window=np.array([1.0, 2.0])),
     "S.npz: conductance must be shaped (rows=12, cols_phys=12) and finite, in [0, 1000000] "
     "uS"),
    (dict(conductance=np.zeros((ROWS, COLS_PHYS)), window=np.array([2.0, 1.0])),
     "S.npz: window must be [g_lo, g_hi] with 0 <= g_lo < g_hi"),
    (dict(conductance=np.zeros((ROWS, COLS_PHYS))), "S.npz: programmed state lacks window"),
])
def test_bad_programmed_state_is_refused(work, state, fragment):
    np.savez(work / "S.npz", **state)
    np.save(work / "X.npy", np.zeros((2, ROWS), np.int64))
    proc = run("sim", "--config", "small.toml", "--weights", "W.npy", "--inputs", "X.npy",
               "--out", "Y.npy", "--programmed", "S.npz", cwd=work)
    assert_bad_input(proc, fragment)
    assert not (work / "Y.npy").exists()
