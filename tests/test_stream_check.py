"""The checks of a run that reads its inputs once: expectations from the answers the analog
queue was given, results compared as they arrive, in any chunking."""

import numpy as np

from cimtile.behavioral import AnalogMacro
from cimtile.flows.metrics import error_metrics
from cimtile.models.golden import golden_mvm
from cimtile.models.stream_check import ExactProduct, StreamCheck
from cimtile.models.verdict import Verdict
from cimtile.spec.config import parse_config
from cimtile.spec.mapping import bit_planes, random_operands
from cimtile.tb.runs.host_runner import simulate

CFG = parse_config({
    "tile": dict(rows=12, cols=3, in_bits=6, w_bits=5, bits_per_cell=2, adc_bits=4,
                 adc_shift=1, cols_per_adc=2),
    "timing": dict(t_settle=2, t_adc=3),
    "host": dict(data_width=32),
})


def expected_in_chunks(W, X, sizes, seed=3):
    """A StreamCheck given `X` in chunks of `sizes`, answered by one macro in order."""
    check = StreamCheck(CFG, W)
    macro = AnalogMacro.for_array(CFG, W, np.random.default_rng(seed))
    start = 0
    for size in sizes:
        x = X[start:start + size]
        planes = bit_planes(x, CFG.tile.in_bits)
        codes = macro.sample(planes.reshape(-1, CFG.tile.rows).astype(np.float32))
        check.expect(x, planes, codes.reshape(len(x), CFG.tile.in_bits, -1))
        start += size
    return check


def test_golden_results_from_the_answers_equal_the_golden_model_in_any_chunking():
    W, X = random_operands(CFG, 23, np.random.default_rng(1))
    Y = golden_mvm(CFG, W, X, seed=3)
    check = expected_in_chunks(W, X, [5, 1, 10, 7])
    for start, stop in [(0, 3), (3, 12), (12, 23)]:
        check.take(Y[start:stop])
    assert (check.verdict.compared, check.verdict.differ, check.checked) == (23, 0, 23)
    assert check.errors.metrics() == error_metrics(Y, X, W)
    assert check.driven.tolist() == bit_planes(X, 6).sum(axis=(0, 1)).tolist()


def test_the_exact_product_is_exact_in_floating_point_and_beyond_it():
    rng = np.random.default_rng(0)
    W = rng.integers(-2 ** 20, 2 ** 20, (CFG.tile.rows, CFG.tile.cols))
    product = ExactProduct(W)
    small = rng.integers(-2 ** 10, 2 ** 10, (9, CFG.tile.rows))
    # Beyond 2**53 a float64 product would round: the integer product is taken.
    large = rng.integers(2 ** 30, 2 ** 31, (9, CFG.tile.rows))
    for x in (small, large):
        assert np.array_equal(product(x), np.asarray(
            [[sum(int(a) * int(b) for a, b in zip(row, col)) for col in W.T] for row in x]))


def test_the_first_difference_names_vector_column_and_both_values():
    W, X = random_operands(CFG, 9, np.random.default_rng(2))
    Y = golden_mvm(CFG, W, X, seed=3)
    wrong = Y.copy()
    wrong[6, 2] += 1
    wrong[7, 0] -= 5
    check = expected_in_chunks(W, X, [4, 5])
    check.take(wrong[:5])
    check.take(wrong[5:])
    assert check.verdict.describe() == (f"2 of 9 results differ from the golden model, first "
                                        f"at [6, 2]: got {Y[6, 2] + 1}, expected {Y[6, 2]}")
    assert check.errors.metrics() == error_metrics(wrong, X, W)


def test_the_bulk_run_is_checked_as_it_streams():
    """The co-simulation's own verdict, error and activity equal those computed afresh."""
    W, X = random_operands(CFG, 40, np.random.default_rng(5))
    run = simulate(CFG, W, X, seed=7, drive="bulk")
    assert run.verdict == Verdict("golden model", 40, 0)
    assert np.array_equal(run.Y, golden_mvm(CFG, W, X, seed=7))
    assert run.errors == error_metrics(run.Y, X, W)
    assert run.driven.tolist() == bit_planes(X, 6).sum(axis=(0, 1)).tolist()
