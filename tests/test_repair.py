"""Column repair: spare columns, the remap table and the write-verify-driven repair flow.

The flow's choices are checked against fault maps built so that the outcome is known in
advance; the co-simulated flow against the golden one; the co-simulated tile with a remap
table against the golden model under the same table, in both drives.
"""

import numpy as np
import pytest

from cimtile.flows.program_report import repair_report
from cimtile.models.repair import GoldenArray, repair
from cimtile.spec.config import parse_config
from cimtile.spec.mapping import (DataError, array_levels, check_remap, column_sources,
                                  random_operands, shift_add, weight_levels)
from cimtile.tb.runs.host_runner import simulate
from cimtile.tb.runs.repair_runner import SimulatedArray

CFG = parse_config({
    "tile": dict(rows=6, cols=2, in_bits=3, w_bits=3, bits_per_cell=1, adc_bits=3,
                 adc_shift=0, cols_per_adc=4, spare_cols=3),
    "timing": dict(t_settle=1, t_adc=2),
    "host": dict(data_width=32),
})
SHAPE = (CFG.tile.rows, CFG.cols_phys)
SA0, SA1 = 1, 2


def test_geometry_and_mapping_with_spares():
    assert (CFG.cols_data, CFG.cols_phys, CFG.n_adcs) == (8, 11, 3)
    W = np.array([[3, -2], [1, 0], [0, 1], [-3, 3], [2, -1], [0, 0]])
    levels = weight_levels(W, CFG)
    assert levels.shape == SHAPE and not levels[:, 8:].any()
    remap = np.zeros(8, np.int64)
    remap[[1, 6]] = [3, 1]
    assert column_sources(CFG, remap).tolist() == [0, 10, 2, 3, 4, 5, 8, 7]
    held = array_levels(W, CFG, remap)
    assert np.array_equal(held[:, 10], levels[:, 1]) and np.array_equal(held[:, 8], levels[:, 6])
    assert not held[:, 9].any()
    # Codes of a spare replace those of the column remapped to it, nothing else.
    codes = np.zeros((1, 3, 11), np.int64)
    codes[0, 0, 10] = 1             # spare 2, read as data column 1: w- slice 0 of column 0
    assert shift_add(codes, CFG, remap=remap).tolist() == [[-1, 0]]
    assert shift_add(codes, CFG).tolist() == [[0, 0]]
    with pytest.raises(DataError, match=r"remap: values must lie in \[0, 3\]; found 4 at \[2\]"):
        check_remap([0, 0, 4, 0, 0, 0, 0, 0], CFG)
    with pytest.raises(DataError, match=r"remap: shape must be \(cols_data=8,\)"):
        check_remap(np.zeros(11, int), CFG)


def _zero_targets_with_faults():
    """All targets level 0 (weights 0); stuck-at-g_max cells cannot reach it."""
    faults = np.zeros(SHAPE, np.int64)
    # Data columns 1, 2, 4, 7 fail; column 3 has a cell stuck at g_min, its target: it
    # converges and needs no spare. Spare 0 has a cell stuck at g_max, spare 1 one stuck at
    # g_min (harmless where its column's target is 0).
    for row, col in [(0, 1), (3, 1), (2, 2), (5, 4), (1, 7), (2, 8)]:
        faults[row, col] = SA1
    faults[4, 3] = faults[4, 9] = SA0
    return np.zeros((CFG.tile.rows, CFG.cols_data), np.int64), faults


def test_more_faulty_columns_than_spares():
    levels, faults = _zero_targets_with_faults()
    outcome = repair(CFG, levels, GoldenArray(CFG, faults, seed=1))
    # Written out from the fault map. Erasing the spares finds spare 0 bad. Failed columns
    # in repair order: the top slice first (columns 2 and 7, slice 1), then column 1 (two
    # failed cells) and column 4. Columns 2 and 7 take spares 1 and 2; none is left for
    # columns 1 and 4.
    assert outcome.failed_cells == [[0, 1], [1, 7], [2, 2], [3, 1], [5, 4]]
    assert outcome.repaired_columns == [2, 7]
    assert outcome.remap.tolist() == [0, 0, 2, 0, 0, 0, 0, 3]
    assert (outcome.spares_used, outcome.spares_rejected) == ([1, 2], [0])
    assert outcome.unrepaired_cells == [[0, 1], [3, 1], [5, 4]]
    assert outcome.passes == 2


def test_spare_failing_its_columns_targets_is_rejected():
    levels = np.zeros((CFG.tile.rows, CFG.cols_data), np.int64)
    levels[:, 0] = 1
    faults = np.zeros(SHAPE, np.int64)
    faults[0, 0] = SA0              # column 0 cannot reach level 1 in row 0
    faults[3, 8] = SA0              # spare 0 erases to 0, but cannot hold column 0
    outcome = repair(CFG, levels, GoldenArray(CFG, faults, seed=2))
    assert (outcome.repaired_columns, outcome.spares_used, outcome.spares_rejected,
            outcome.unrepaired_cells, outcome.passes) == ([0], [1], [0], [], 3)
    assert outcome.remap.tolist() == [2, 0, 0, 0, 0, 0, 0, 0]
    assert np.array_equal(outcome.levels[:, 9], levels[:, 0])


def test_cosimulated_repair_and_compute_equal_the_golden_model():
    rng = np.random.default_rng(11)
    W, X = random_operands(CFG, 6, rng)
    faults = (rng.random(SHAPE) < 0.08) * rng.integers(1, 3, SHAPE)
    faults[1, 9] = SA1              # a fault in a spare
    levels = weight_levels(W, CFG)
    golden = GoldenArray(CFG, faults, seed=5)
    expected = repair(CFG, levels, golden)
    # Some columns repaired, a spare rejected for its own fault, a cell left unrepaired.
    assert (expected.repaired_columns, expected.spares_rejected,
            expected.unrepaired_cells) == ([3, 7], [1], [[4, 5]])
    assert faults[5, 8] == SA0 and 0 in expected.spares_used   # harmless there
    array = SimulatedArray(CFG, faults, seed=5)
    outcome = repair(CFG, levels, array)
    assert outcome.report() == expected.report()
    assert np.array_equal(outcome.remap, expected.remap)
    G = array.last.conductance
    assert np.array_equal(G, golden.device.conductances())
    # Pass by pass, cell by cell: pulses and outcomes of every replayed pass.
    report, verdict = repair_report(CFG, levels, faults, 5, array.last, outcome)
    assert report["golden_mismatches"] == 0 and verdict.ok
    runs = {drive: simulate(CFG, W, X, seed=3, conductances=G, remap=outcome.remap,
                            drive=drive)
            for drive in ("bulk", "vip")}
    for run in runs.values():
        assert run.golden_mismatches == 0
    assert np.array_equal(runs["bulk"].Y, runs["vip"].Y)
    assert np.array_equal(runs["bulk"].frame_cycles, runs["vip"].frame_cycles)
    # Repair pays: the golden model reads the faulty columns without the table.
    ideal = X @ W
    from cimtile.models.golden import golden_mvm
    unrepaired = golden_mvm(CFG, W, X, 3, G)
    assert np.abs(runs["bulk"].Y - ideal).sum() < np.abs(unrepaired - ideal).sum()


TOML = """
[tile]
rows = 6
cols = 2
in_bits = 3
w_bits = 3
bits_per_cell = 1
adc_bits = 3
adc_shift = 0
cols_per_adc = 4
spare_cols = {spares}

[timing]
t_settle = 1
t_adc = 2

[host]
data_width = 32
"""


def test_cli_program_repair(tmp_path, capsys):
    import json

    from cimtile import cli
    levels, faults = _zero_targets_with_faults()
    (tmp_path / "cfg.toml").write_text(TOML.format(spares=3))
    (tmp_path / "none.toml").write_text(TOML.format(spares=0))
    np.save(tmp_path / "W.npy", np.zeros((6, 2), np.int64))
    np.save(tmp_path / "F.npy", faults)
    args = ["program", "--weights", str(tmp_path / "W.npy"), "--faults",
            str(tmp_path / "F.npy"), "--seed", "1", "--report", str(tmp_path / "R.json"),
            "--repair"]
    assert not cli.main(args + ["--config", str(tmp_path / "cfg.toml")])
    report = json.loads((tmp_path / "R.json").read_text())
    # The outcome written out in test_more_faulty_columns_than_spares.
    assert report["repaired_columns"] == [2, 7] and report["spares_used"] == [1, 2]
    assert report["unrepaired_cells"] == [[0, 1], [3, 1], [5, 4]]
    # One run per pass: the table the second wrote and read back is the final one.
    assert report["golden_mismatches"] == 0 and report["simulator_runs"] == 2
    capsys.readouterr()
    # The kept state computes with its remap table: results equal the golden model with the
    # table, and the repaired columns no longer read their stuck cells.
    assert not cli.main(args + ["--config", str(tmp_path / "cfg.toml"), "--state",
                                str(tmp_path / "S.npz")])
    with np.load(tmp_path / "S.npz") as state:
        assert np.flatnonzero(state["remap"]).tolist() == report["repaired_columns"]
        np.savez(tmp_path / "unrepaired.npz", conductance=state["conductance"],
                 window=state["window"])
    X = np.random.default_rng(2).integers(-4, 4, (5, 6))
    np.save(tmp_path / "X.npy", X)

    def stuck_high_error(cells):
        # Weights 0: each failed cell (stuck at g_max, the top level of a 1-bit cell) adds
        # its row's input times its slice's weight, negated on the w- column.
        Y = np.zeros((len(X), 2), np.int64)
        for row, col in cells:
            column, polarity = divmod(col, 2)
            j, s = divmod(column, 2)
            Y[:, j] += (-1) ** polarity * 2 ** s * X[:, row]
        return Y

    for state, cells in (("S.npz", report["unrepaired_cells"]),
                         ("unrepaired.npz", report["failed"])):
        assert not cli.main(["sim", "--config", str(tmp_path / "cfg.toml"), "--weights",
                             str(tmp_path / "W.npy"), "--inputs", str(tmp_path / "X.npy"),
                             "--out", str(tmp_path / "Y.npy"), "--report",
                             str(tmp_path / "SR.json"), "--programmed", str(tmp_path / state)])
        assert json.loads((tmp_path / "SR.json").read_text())["golden_mismatches"] == 0
        assert np.array_equal(np.load(tmp_path / "Y.npy"), stuck_high_error(cells)), state
    capsys.readouterr()
    # One line naming the key, exit status 2, no report, without spares.
    (tmp_path / "R.json").unlink()
    assert cli.main(args + ["--config", str(tmp_path / "none.toml")]) == cli.EXIT_BAD_INPUT
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "spare_cols" in err[0], err
    assert not (tmp_path / "R.json").exists()


def test_board_session_repairs_through_the_bridge():
    # The board's crossbar emulator has no stuck cells: the flow programs the array and the
    # erased spares through the UART bridge, writes every remap entry (a board may hold an
    # earlier session's) and reads them back, and the tile computes exactly.
    import tomllib

    from cimtile.fpga.board_sim import simulate_board
    board = parse_config(tomllib.loads(TOML.format(spares=2).replace("t_adc = 2", "t_adc = 3")))
    rng = np.random.default_rng(6)
    W, X = random_operands(board, 5, rng)
    seen, _, _ = simulate_board(board, W, [X])
    report = seen["report"]
    assert seen["remap"].tolist() == [0] * board.cols_data
    assert report["repair"]["repair_passes"] == 1 and report["repair"]["unrepaired_cells"] == []
    assert np.array_equal(seen["Y0"], X @ W)
