"""The one verdict: the comparator, the golden check built on it, and how the command line
turns verdicts into its first summary line and its exit status."""

import numpy as np
import pytest

from cimtile.cli.summary import summary_text
from cimtile.cli.verdicts import exit_status, verdict_line
from cimtile.models.golden import VERDICT_ROWS, golden_mvm, golden_verdict
from cimtile.models.verdict import Verdict, combine, compare
from cimtile.spec.config import reference_config
from cimtile.spec.mapping import random_operands


def test_equal_results_pass():
    rows = np.arange(12).reshape(4, 3)
    verdict = compare("golden model", rows, rows.copy())
    assert verdict == Verdict("golden model", 4, 0)
    assert verdict.ok and verdict.where() is None and verdict.first_difference() is None
    assert verdict.describe() == "0 of 4 results differ from the golden model"
    assert verdict.report() == {"golden_mismatches": 0}


def test_rows_that_differ_are_counted_once_and_the_first_is_named():
    expected = np.arange(15).reshape(5, 3)
    got = expected.copy()
    got[1, 2] = -7
    got[1, 0] = 99
    got[4, 1] = 0
    verdict = compare("golden model", got, expected, noun="cells")
    assert (verdict.compared, verdict.differ) == (5, 2)
    assert (verdict.index, verdict.column, verdict.got, verdict.expected) == (1, 0, 99, 3)
    assert verdict.describe() == ("2 of 5 cells differ from the golden model, first at "
                                  "[1, 0]: got 99, expected 3")
    assert verdict.report("cosim") == {
        "cosim_mismatches": 2,
        "cosim_first_difference": {"index": 1, "column": 0, "got": 99, "expected": 3}}


def test_one_value_results_have_no_column():
    verdict = compare("expectation", np.array([1, 2, 3]), np.array([1, 5, 3]), start=10)
    assert (verdict.differ, verdict.index, verdict.column) == (1, 11, None)
    assert verdict.where() == "at [11]: got 2, expected 5"


@pytest.mark.parametrize("got_rows, expected_rows", [(3, 5), (5, 3)])
def test_missing_and_unexpected_results_differ(got_rows, expected_rows):
    got, expected = np.zeros((got_rows, 2)), np.zeros((expected_rows, 2))
    verdict = compare("golden model", got, expected)
    assert (verdict.compared, verdict.differ, verdict.index) == (5, 2, 3)
    assert verdict.where() == "at [3]"


def test_results_shaped_unlike_their_expectation_all_differ():
    verdict = compare("golden model", np.zeros((4, 2)), np.zeros((4, 3)))
    assert (verdict.compared, verdict.differ, verdict.index, verdict.column) == (4, 4, 0, None)


def test_combine_adds_counts_and_keeps_the_first_difference():
    passed = Verdict("golden model", 3, 0)
    failed = compare("golden model", np.array([[1, 2]]), np.array([[1, 3]]))
    later = compare("golden model", np.array([[5]]), np.array([[6]]))
    verdict = combine([passed, failed, later], noun="tile results")
    assert verdict == Verdict("golden model", 5, 2, 0, 1, 2, 3, "tile results")
    assert combine([]).ok


def test_golden_verdict_names_a_planted_difference_past_the_first_chunk():
    cfg = reference_config()
    W, X = random_operands(cfg, VERDICT_ROWS + 10, np.random.default_rng(1))
    Y = golden_mvm(cfg, W, X, seed=2)
    assert golden_verdict(cfg, W, X, Y, seed=2).ok
    Y[VERDICT_ROWS + 3, 5] += 1
    verdict = golden_verdict(cfg, W, X, Y, seed=2)
    assert (verdict.compared, verdict.differ) == (len(X), 1)
    assert (verdict.index, verdict.column) == (VERDICT_ROWS + 3, 5)
    assert verdict.got == verdict.expected + 1
    missing = golden_verdict(cfg, W, X, Y[:-1], seed=2)
    assert (missing.differ, missing.index) == (len(X), 0)


def test_exit_status_is_one_line_per_failed_verdict(capsys):
    passed = Verdict("golden model", 3, 0)
    failed = Verdict("golden model", 4, 1, 2, 0, 7, 6)
    assert exit_status(passed, passed) == 0
    assert capsys.readouterr().err == ""
    assert exit_status(passed, failed, failed) == 1
    assert capsys.readouterr().err == 2 * ("cimtile: error: 1 of 4 results differ from the "
                                           "golden model, first at [2, 0]: got 7, "
                                           "expected 6\n")
    assert verdict_line(passed) == "PASS: 0 of 3 results differ from the golden model"
    assert verdict_line(passed, failed).startswith("FAIL: 0 of 3 results differ from the "
                                                   "golden model; 1 of 4 results differ")


def test_summary_aligns_the_values():
    text = summary_text("PASS: all well", [("speed", 1234.56, "MVM/s"), ("vectors", 5, ""),
                                           ("normalised error", 0.01234, "of the range")])
    assert text.splitlines() == ["PASS: all well",
                                 "speed             1,235 MVM/s",
                                 "vectors           5",
                                 "normalised error  0.0123 of the range"]


def test_an_empty_comparison_is_ok():
    verdict = compare("golden model", np.zeros((0, 3), np.int64), np.zeros((0, 3), np.int64))
    assert (verdict.ok, verdict.compared, verdict.differ) == (True, 0, 0)
