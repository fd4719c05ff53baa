import numpy as np
import pytest

from cimtile.behavioral import AnalogMacro
from cimtile.models import golden
from cimtile.models.golden import golden_mvm
from cimtile.spec.config import ConfigError, parse_config, reference_config
from cimtile.spec.mapping import DataError, random_operands, shift_add


def make_config(**tile):
    fields = dict(rows=4, cols=2, in_bits=4, w_bits=4, bits_per_cell=2, adc_bits=8,
                  adc_shift=0, cols_per_adc=1) | tile
    return parse_config({"tile": fields, "timing": {"t_settle": 1, "t_adc": 1}})


def random_config(rng, **tile):
    fields = dict(rows=int(rng.integers(1, 129)), cols=int(rng.integers(1, 17)),
                  in_bits=int(rng.integers(1, 9)), w_bits=int(rng.integers(2, 9)),
                  bits_per_cell=int(rng.integers(1, 5)), adc_bits=int(rng.integers(1, 11)),
                  adc_shift=int(rng.integers(0, 4)), cols_per_adc=int(rng.integers(1, 9)))
    return make_config(**fields | tile)


def random_data(rng, cfg, n):
    return random_operands(cfg, n, rng)


def ref_mvm(cfg, W, X):
    """The whole arithmetic contract of docs/architecture.md in plain Python, element by element."""
    t = cfg.tile
    Y = []
    for x in X:
        y = [0] * t.cols
        for i in range(t.in_bits):
            sign = -1 if i == t.in_bits - 1 else 1
            for j in range(t.cols):
                for s in range(cfg.slices):
                    for p in (0, 1):
                        count = 0
                        for r in range(t.rows):
                            w = int(W[r][j])
                            magnitude = max(w, 0) if p == 0 else max(-w, 0)
                            level = (magnitude >> (s * t.bits_per_cell)) & cfg.max_level
                            count += ((int(x[r]) >> i) & 1) * level
                        code = min(cfg.max_code, (2 * count + 2 ** t.adc_shift)
                                   // 2 ** (t.adc_shift + 1))  # floor(count/2**shift + 1/2)
                        y[j] += (sign * 2 ** i * 2 ** (s * t.bits_per_cell) * (1 - 2 * p)
                                 * code * 2 ** t.adc_shift)
        Y.append(y)
    return Y


def test_hand_example_1x1():
    # 2-bit cells, w_bits 4: slices 2, physical columns (s0+, s0-, s1+, s1-).
    # W = -5 = 0b01_01 on the minus side: levels (0, 1, 0, 1). X = -3 = 0b1101 in 4 bits:
    # planes 0, 2, 3 drive the row, each reading counts (0, 1, 0, 1), i.e. -1 - 4 = -5.
    # Y = (1 + 4 - 8) * -5 = 15 = X @ W, as this configuration is lossless.
    cfg = make_config(rows=1, cols=1, in_bits=4, w_bits=4, bits_per_cell=2, adc_bits=4)
    assert cfg.lossless
    assert golden_mvm(cfg, [[-5]], [[-3]]).tolist() == [[15]]


def test_hand_example_2x2_lossy():
    # 1-bit ADC with adc_shift 1: code = min(1, floor(count / 2 + 1/2)), worth 2 counts.
    # w_bits 3, 2-bit cells: one slice; physical columns (0+, 0-, 1+, 1-).
    # W = [[3, -2], [1, 2]] -> levels row 0 (3, 0, 0, 2), row 1 (1, 0, 2, 0).
    cfg = make_config(rows=2, cols=2, in_bits=2, w_bits=3, bits_per_cell=2, adc_bits=1,
                      adc_shift=1)
    W = [[3, -2], [1, 2]]
    # x = (1, -1) = (0b01, 0b11). Plane 0 drives both rows: counts (4, 0, 2, 2), codes
    # (1, 0, 1, 1): 4 clips, 2 -> 1.5 -> 1. Plane 1 (weight -2) drives row 1: counts
    # (1, 0, 2, 0), codes (1, 0, 1, 0): 1 -> exactly 1.0 -> 1, rounding half up.
    # Y0 = 2 * (1 - 0) - 4 * (1 - 0) = -2 (exact: 2), Y1 = 2 * (1 - 1) - 4 * (1 - 0) = -4.
    # x = (-2, 1) = (0b10, 0b01). Plane 0 drives row 1: codes (1, 0, 1, 0); plane 1 drives
    # row 0: counts (3, 0, 0, 2), codes (1, 0, 0, 1): 3 -> 2 clips.
    # Y0 = 2 * 1 - 4 * 1 = -2 (exact: -5), Y1 = 2 * 1 - 4 * (0 - 1) = 6 (exact: 6).
    X = [[1, -1], [-2, 1]]
    Y = golden_mvm(cfg, W, X)
    assert Y.tolist() == [[-2, -4], [-2, 6]]
    assert Y.tolist() == ref_mvm(cfg, W, X)
    assert (np.array(X) @ W).tolist() == [[2, -4], [-5, 6]]


def test_lossless_equals_matmul():
    rng = np.random.default_rng(21)
    checked = 0
    while checked < 20:
        cfg = random_config(rng, adc_shift=0, adc_bits=10)
        if not cfg.lossless:
            continue
        W, X = random_data(rng, cfg, 50)
        Y = golden_mvm(cfg, W, X)
        assert Y.dtype == np.int64
        assert (Y == X @ W).all(), cfg
        checked += 1


def test_reference_tile_lossless_variant():
    cfg = reference_config().replace(adc_bits=9)
    assert cfg.lossless
    rng = np.random.default_rng(22)
    W, X = random_data(rng, cfg, 1000)
    W[:, 0] = 127     # columns that fill the ADC range: the largest counts and results
    X[0] = 127
    X[1] = -128
    assert (golden_mvm(cfg, W, X) == X @ W).all()


def test_lossy_matches_reference():
    rng = np.random.default_rng(23)
    mismatches = 0
    for _ in range(25):
        cfg = random_config(rng)
        W, X = random_data(rng, cfg, 3)
        Y = golden_mvm(cfg, W, X)
        assert Y.tolist() == ref_mvm(cfg, W, X), cfg
        mismatches += (Y != X @ W).any()
    assert mismatches > 10  # most of these configurations do round or clip


def test_clipping_matches_reference():
    # Every row driven with the largest weights saturates a 3-bit ADC.
    cfg = make_config(rows=64, cols=3, in_bits=3, w_bits=5, bits_per_cell=2, adc_bits=3,
                      adc_shift=2)
    W = np.full((64, 3), 15)
    W[:, 1] = -15
    W[:, 2] = np.arange(64) % 31 - 15
    X = np.array([[-1] * 64, [3] * 64, [-4] * 64, list(range(-4, 4)) * 8])
    Y = golden_mvm(cfg, W, X)
    assert Y.tolist() == ref_mvm(cfg, W, X)
    # Saturated: every count well above 7 * 4, so each slice contributes max_code * 4 only.
    assert Y[:2, :2].tolist() == [[-7 * 4 * 5, 7 * 4 * 5], [3 * 7 * 4 * 5, -3 * 7 * 4 * 5]]


def test_equals_per_plane_cosimulation_order():
    # The co-simulation asks the macro for one plane at a time, LSB first, vector by vector.
    cfg = make_config(rows=20, cols=3, in_bits=5, w_bits=6, bits_per_cell=2, adc_bits=4,
                      adc_shift=1)
    rng = np.random.default_rng(24)
    W, X = random_data(rng, cfg, 7)
    macro = AnalogMacro.from_weights(cfg, W, np.random.default_rng(3))
    codes = [[macro.sample([(int(x) >> i) & 1 for x in vector]) for i in range(5)]
             for vector in X]
    assert (golden_mvm(cfg, W, X, seed=3) == shift_add(np.array(codes), cfg)).all()


def test_chunks(monkeypatch):
    cfg = make_config(rows=8, cols=2, in_bits=3, w_bits=4, adc_bits=2, adc_shift=1)
    rng = np.random.default_rng(25)
    W, X = random_data(rng, cfg, 23)
    expected = ref_mvm(cfg, W, X)
    for chunk in (1, 5, 23, 64):
        monkeypatch.setattr(golden, "CHUNK", chunk)
        assert golden_mvm(cfg, W, X).tolist() == expected


def test_large_batch_over_chunks():
    cfg = reference_config()
    rng = np.random.default_rng(26)
    W, X = random_data(rng, cfg, 3 * golden.CHUNK + 17)
    Y = golden_mvm(cfg, W, X)
    assert Y.shape == (len(X), cfg.tile.cols)
    assert (Y[-5:] == golden_mvm(cfg, W, X[-5:])).all()
    assert Y[-5:].tolist() == ref_mvm(cfg, W, X[-5:])


def test_input_dtypes():
    cfg = make_config()
    rng = np.random.default_rng(27)
    W, X = random_data(rng, cfg, 4)
    expected = golden_mvm(cfg, W, X).tolist()
    assert golden_mvm(cfg, W.astype(np.int8), X.astype(np.int8)).tolist() == expected
    assert golden_mvm(cfg, W.tolist(), X.tolist()).tolist() == expected


def test_rejects_bad_data():
    cfg = make_config()
    with pytest.raises(DataError, match=r"^weights: dtype must be integer, not float64$"):
        golden_mvm(cfg, np.zeros((4, 2)), np.zeros((1, 4), int))
    with pytest.raises(DataError, match=r"^inputs: shape must be \(N, rows=4\) with N >= 1, "
                                        r"not \(4,\)$"):
        golden_mvm(cfg, np.zeros((4, 2), int), np.zeros(4, int))
    with pytest.raises(DataError, match=r"^inputs: values must lie in \[-8, 7\]; "
                                        r"found 8 at \[0, 2\]$"):
        golden_mvm(cfg, np.zeros((4, 2), int), [[0, 0, 8, 0]])


@pytest.mark.parametrize("tile", [dict(), dict(adc_shift=2, adc_bits=5),
                                  dict(in_bits=3, bits_per_cell=1, w_bits=5)])
def test_golden_model_equals_a_plain_numpy_emulation_and_outruns_it(tile):
    from cimtile.flows.bench import golden_against_numpy
    figures = golden_against_numpy(reference_config().replace(**tile), n=3000)
    assert figures["agree"]
    assert figures["golden_mvm_per_s"] > 0 and figures["numpy_mvm_per_s"] > 0


def test_run_time_in_bits_equals_matmul():
    """At a lower run-time precision the tile reads each input's low bits as two's complement."""
    cfg = reference_config().replace(adc_bits=10)
    assert cfg.lossless
    rng = np.random.default_rng(11)
    W, _ = random_operands(cfg, 1, rng)
    for in_bits in (1, 3, 8):
        X = rng.integers(-2 ** (in_bits - 1), 2 ** (in_bits - 1), (40, cfg.tile.rows))
        assert (golden_mvm(cfg, W, X, in_bits=in_bits) == X @ W).all(), in_bits


def test_run_time_in_bits_rejects_wider_inputs():
    cfg = reference_config()
    X = np.full((1, cfg.tile.rows), 4)
    with pytest.raises(DataError, match="inputs"):
        golden_mvm(cfg, np.zeros((cfg.tile.rows, cfg.tile.cols), int), X, in_bits=3)


@pytest.mark.parametrize("model", ["ideal", "physical"])
def test_run_time_adc_shift_equals_configured_shift(model):
    """A run-time range select behaves as a tile configured with that shift (matched range)."""
    cfg = parse_config({"tile": dict(rows=32, cols=4, in_bits=4, w_bits=6, bits_per_cell=2,
                                     adc_bits=5, adc_shift=0, cols_per_adc=4),
                        "timing": {"t_settle": 1, "t_adc": 1}, "analog": {"model": model}})
    W, X = random_operands(cfg, 50, np.random.default_rng(3))
    assert cfg.adc_shift_max == 2
    for shift in range(cfg.adc_shift_max + 1):
        expected = golden_mvm(cfg.replace(adc_shift=shift), W, X, seed=5)
        assert (golden_mvm(cfg, W, X, seed=5, adc_shift=shift) == expected).all(), shift


def test_batches_share_the_macro_generator():
    cfg = parse_config({"tile": dict(rows=16, cols=2, in_bits=4, w_bits=4, bits_per_cell=1,
                                     adc_bits=4, adc_shift=0, cols_per_adc=2),
                        "timing": {"t_settle": 1, "t_adc": 1},
                        "analog": {"model": "physical"}})
    W, X = random_operands(cfg, 30, np.random.default_rng(4))
    first, second = golden.golden_batches(cfg, W, [(X[:10], None, None), (X[10:], None, None)],
                                          seed=9)
    whole = golden_mvm(cfg, W, X, seed=9)
    assert (np.concatenate([first, second]) == whole).all()
    # Different settings per batch are applied batch by batch.
    low, = golden.golden_batches(cfg, W, [(X[:10] % 2, 2, 1)], seed=9)
    assert (low == golden_mvm(cfg, W, X[:10] % 2, seed=9, in_bits=2, adc_shift=1)).all()


def test_run_time_settings_resolve_in_one_place():
    """``Config.at``: None keeps the configured value; the result is checked like a config."""
    cfg = reference_config()
    assert cfg.at() is cfg
    at = cfg.at(in_bits=4)
    assert (at.tile.in_bits, at.tile.adc_shift) == (4, cfg.tile.adc_shift)
    assert cfg.at(adc_shift=2).tile.in_bits == cfg.tile.in_bits
    with pytest.raises(ConfigError, match="tile.in_bits"):
        cfg.at(in_bits=0)
