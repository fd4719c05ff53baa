import numpy as np
import pytest

from cimtile.spec.config import parse_config, reference_config
from cimtile.spec.mapping import (DataError, bit_planes, check_inputs, check_weights, shift_add,
                                  weight_levels)


def make_config(**tile):
    fields = dict(rows=4, cols=2, in_bits=4, w_bits=4, bits_per_cell=2, adc_bits=8,
                  adc_shift=0, cols_per_adc=1) | tile
    return parse_config({"tile": fields, "timing": {"t_settle": 1, "t_adc": 1}})


def random_config(rng):
    return make_config(rows=int(rng.integers(1, 129)), cols=int(rng.integers(1, 17)),
                       in_bits=int(rng.integers(1, 9)), w_bits=int(rng.integers(2, 9)),
                       bits_per_cell=int(rng.integers(1, 5)), adc_bits=int(rng.integers(1, 11)),
                       adc_shift=int(rng.integers(0, 4)), cols_per_adc=int(rng.integers(1, 9)))


def random_weights(rng, cfg):
    limit = 2 ** (cfg.tile.w_bits - 1) - 1
    return rng.integers(-limit, limit, (cfg.tile.rows, cfg.tile.cols), endpoint=True)


# Plain-Python readings of the contract in docs/architecture.md, one element at a time.

def ref_levels(W, cfg):
    t = cfg.tile
    levels = [[0] * cfg.cols_phys for _ in range(t.rows)]
    for r in range(t.rows):
        for j in range(t.cols):
            w = int(W[r][j])
            for s in range(cfg.slices):
                for p, magnitude in enumerate((max(w, 0), max(-w, 0))):
                    level = (magnitude >> (s * t.bits_per_cell)) & (2 ** t.bits_per_cell - 1)
                    levels[r][(j * cfg.slices + s) * 2 + p] = level
    return levels


def ref_bit(x, i):
    return (x >> i) & 1  # Python ints shift arithmetically: two's complement of any width


def ref_shift_add(codes, cfg):
    t = cfg.tile
    Y = []
    for vector in codes:
        row = []
        for j in range(t.cols):
            y = 0
            for i in range(t.in_bits):
                sign = -1 if i == t.in_bits - 1 else 1
                for s in range(cfg.slices):
                    plus = int(vector[i][(j * cfg.slices + s) * 2]) << t.adc_shift
                    minus = int(vector[i][(j * cfg.slices + s) * 2 + 1]) << t.adc_shift
                    y += sign * 2 ** i * 2 ** (s * t.bits_per_cell) * (plus - minus)
            row.append(y)
        Y.append(row)
    return Y


class TestCheckWeights:
    def test_returns_int64_copy(self):
        cfg = make_config(rows=2, cols=2, w_bits=8)
        W = np.array([[127, -127], [0, 5]], np.int8)
        checked = check_weights(W, cfg)
        assert checked.dtype == np.int64
        assert checked.tolist() == [[127, -127], [0, 5]]
        checked[0, 0] = 0
        assert W[0, 0] == 127

    def test_accepts_nested_lists(self):
        cfg = make_config(rows=1, cols=2)
        assert check_weights([[7, -7]], cfg).tolist() == [[7, -7]]

    def test_shape(self):
        with pytest.raises(DataError, match=r"^weights: shape must be \(rows=128, cols=16\), "
                                            r"not \(3, 4\)$"):
            check_weights(np.zeros((3, 4), int), reference_config())

    def test_one_dimensional(self):
        with pytest.raises(DataError, match=r"^weights: shape must be \(rows=4, cols=2\), "
                                            r"not \(8,\)$"):
            check_weights(np.zeros(8, int), make_config())

    def test_transposed(self):
        with pytest.raises(DataError, match=r"not \(2, 4\)$"):
            check_weights(np.zeros((2, 4), int), make_config())

    def test_float_dtype(self):
        with pytest.raises(DataError, match=r"^weights: dtype must be integer, not float64$"):
            check_weights(np.zeros((4, 2)), make_config())

    def test_bool_dtype(self):
        with pytest.raises(DataError, match=r"^weights: dtype must be integer, not bool$"):
            check_weights(np.zeros((4, 2), bool), make_config())

    def test_range_high(self):
        W = np.zeros((128, 16), int)
        W[3, 4] = 200
        with pytest.raises(DataError, match=r"^weights: values must lie in \[-127, 127\]; "
                                            r"found 200 at \[3, 4\]$"):
            check_weights(W, reference_config())

    def test_range_symmetric(self):
        # -2**(w_bits-1) fits two's complement but not a differential pair of magnitudes.
        W = np.zeros((4, 2), int)
        W[1, 0] = -8
        with pytest.raises(DataError, match=r"^weights: values must lie in \[-7, 7\]; "
                                            r"found -8 at \[1, 0\]$"):
            check_weights(W, make_config(w_bits=4))

    def test_range_reports_first_offender(self):
        W = np.zeros((4, 2), np.uint8)
        W[2, 1] = 9
        W[3, 0] = 200
        with pytest.raises(DataError, match=r"found 9 at \[2, 1\]$"):
            check_weights(W, make_config(w_bits=4))


class TestCheckInputs:
    def test_returns_int64_copy(self):
        cfg = make_config(rows=3, in_bits=8)
        X = np.array([[-128, 127, 0]], np.int16)
        checked = check_inputs(X, cfg)
        assert checked.dtype == np.int64
        assert checked.tolist() == [[-128, 127, 0]]
        checked[0, 0] = 1
        assert X[0, 0] == -128

    def test_shape(self):
        with pytest.raises(DataError, match=r"^inputs: shape must be \(N, rows=128\) with "
                                            r"N >= 1, not \(5, 127\)$"):
            check_inputs(np.zeros((5, 127), int), reference_config())

    def test_one_dimensional(self):
        with pytest.raises(DataError, match=r"^inputs: shape must be \(N, rows=4\) with "
                                            r"N >= 1, not \(4,\)$"):
            check_inputs(np.zeros(4, int), make_config())

    def test_empty_batch(self):
        with pytest.raises(DataError, match=r"not \(0, 4\)$"):
            check_inputs(np.zeros((0, 4), int), make_config())

    def test_float_dtype(self):
        with pytest.raises(DataError, match=r"^inputs: dtype must be integer, not float32$"):
            check_inputs(np.zeros((1, 4), np.float32), make_config())

    def test_bool_dtype(self):
        with pytest.raises(DataError, match=r"^inputs: dtype must be integer, not bool$"):
            check_inputs(np.ones((1, 4), bool), make_config())

    @pytest.mark.parametrize("value", [-9, 8])
    def test_range(self, value):
        X = np.zeros((3, 4), int)
        X[2, 3] = value
        with pytest.raises(DataError, match=rf"^inputs: values must lie in \[-8, 7\]; "
                                            rf"found {value} at \[2, 3\]$"):
            check_inputs(X, make_config(in_bits=4))

    def test_one_bit_inputs(self):
        cfg = make_config(in_bits=1)
        assert check_inputs([[-1, 0, -1, 0]], cfg).tolist() == [[-1, 0, -1, 0]]
        with pytest.raises(DataError, match=r"\[-1, 0\]; found 1 at \[0, 1\]$"):
            check_inputs([[0, 1, 0, 0]], cfg)


class TestWeightLevels:
    def test_hand_example(self):
        # w_bits 8 with 2-bit cells: 4 slices. -45 = 0b10_11_01 goes to the minus columns as
        # slice levels 1, 3, 2, 0; the plus columns stay 0. +6 = 0b01_10: slices 2, 1, 0, 0.
        cfg = make_config(rows=1, cols=2, w_bits=8, bits_per_cell=2)
        levels = weight_levels([[-45, 6]], cfg)
        assert levels.dtype == np.int64
        assert levels.tolist() == [[0, 1, 0, 3, 0, 2, 0, 0,
                                    2, 0, 1, 0, 0, 0, 0, 0]]

    def test_uneven_last_slice(self):
        # w_bits 6: magnitudes of 5 bits in 2-bit cells, so the top slice holds one bit.
        cfg = make_config(rows=1, cols=1, w_bits=6, bits_per_cell=2)
        assert cfg.slices == 3
        assert weight_levels([[31]], cfg).tolist() == [[3, 0, 3, 0, 1, 0]]

    def test_matches_reference(self):
        rng = np.random.default_rng(11)
        for _ in range(20):
            cfg = random_config(rng)
            W = random_weights(rng, cfg)
            assert weight_levels(W, cfg).tolist() == ref_levels(W, cfg)

    def test_validates(self):
        with pytest.raises(DataError, match=r"^weights: shape"):
            weight_levels(np.zeros((1, 1), int), make_config())


class TestBitPlanes:
    def test_hand_example(self):
        # -3 in 3 bits is 0b101, 2 is 0b010; planes are LSB first.
        planes = bit_planes(np.array([[-3, 2]]), 3)
        assert planes.dtype == np.uint8
        assert planes.tolist() == [[[1, 0], [0, 1], [1, 0]]]

    @pytest.mark.parametrize("in_bits", [1, 2, 7, 8, 9, 16, 17, 33, 64])
    def test_matches_reference(self, in_bits):
        rng = np.random.default_rng(in_bits)
        lo, hi = -2 ** (in_bits - 1), 2 ** (in_bits - 1) - 1
        X = rng.integers(lo, hi, (3, 5), endpoint=True)
        X[0, :2] = lo, hi
        planes = bit_planes(X, in_bits)
        expected = [[[ref_bit(int(x), i) for x in vector] for i in range(in_bits)]
                    for vector in X]
        assert planes.shape == (3, in_bits, 5)
        assert planes.tolist() == expected

    def test_any_integer_dtype(self):
        X = np.array([[-128, 127, -1]], np.int8)
        assert bit_planes(X, 8).tolist() == bit_planes(X.astype(np.int64), 8).tolist()

    def test_out(self):
        X = np.array([[-3, 2]])
        out = np.full((1, 3, 2), 7, np.float32)
        assert bit_planes(X, 3, out=out) is out
        assert out.tolist() == [[[1, 0], [0, 1], [1, 0]]]

    def test_rejects(self):
        with pytest.raises(ValueError, match=r"^in_bits must be an integer in 1..64, not 0$"):
            bit_planes(np.zeros((1, 2), int), 0)
        with pytest.raises(ValueError, match=r"^X must be an integer array with a rows axis, "
                                             r"not float64 shaped \(1, 2\)$"):
            bit_planes(np.zeros((1, 2)), 4)


class TestShiftAdd:
    def test_hand_example(self):
        # 2 planes, 1 logical column, 1 slice: physical columns (plus, minus). Plane 0 reads
        # (5, 1), plane 1 (the MSB, weighted -2) reads (0, 3): 1*(5-1) - 2*(0-3) = 10.
        cfg = make_config(rows=1, cols=1, in_bits=2, w_bits=3, bits_per_cell=2)
        assert shift_add([[[5, 1], [0, 3]]], cfg).tolist() == [[10]]
        # With adc_shift 2 every code stands for 4 column counts.
        assert shift_add([[[5, 1], [0, 3]]], cfg.replace(adc_shift=2)).tolist() == [[40]]

    def test_slices_weighted(self):
        # Codes 1 on slice 1 only (2-bit cells) count 2**2.
        cfg = make_config(rows=1, cols=1, in_bits=1, w_bits=5, bits_per_cell=2)
        assert shift_add([[[0, 0, 1, 0]]], cfg).tolist() == [[-4]]

    def test_matches_reference(self):
        rng = np.random.default_rng(12)
        for _ in range(20):
            cfg = random_config(rng)
            codes = rng.integers(0, cfg.max_code, (3, cfg.tile.in_bits, cfg.cols_phys),
                                 endpoint=True)
            Y = shift_add(codes, cfg)
            assert Y.dtype == np.int64
            assert Y.tolist() == ref_shift_add(codes, cfg)

    def test_exact_at_widest_result(self):
        # The widest valid result (64 bits signed): every partial sum must stay in int64.
        cfg = make_config(rows=1, cols=1, in_bits=16, w_bits=16, bits_per_cell=1,
                          adc_bits=16, adc_shift=16)
        assert cfg.result_width == 64
        top = np.zeros((cfg.tile.in_bits, cfg.cols_phys), np.int64)
        top[:-1, 0::2] = cfg.max_code   # plus columns full on positive planes
        top[-1, 1::2] = cfg.max_code    # minus columns full on the negative MSB plane
        codes = np.stack([top, top[:, ::-1]])
        Y = shift_add(codes, cfg)
        expected = ref_shift_add(codes, cfg)
        # The largest result this tile can produce: (2**16 - 1) planes' worth of full codes.
        assert expected[0][0] == (2 ** 16 - 1) ** 2 * (2 ** 15 - 1) * 2 ** 16 > 2 ** 62
        assert Y.tolist() == expected == [[expected[0][0]], [-expected[0][0]]]

    def test_out(self):
        cfg = make_config(rows=1, cols=1, in_bits=2, w_bits=3)
        out = np.zeros((1, 1), np.int64)
        assert shift_add([[[5, 1], [0, 3]]], cfg, out=out) is out
        assert out.tolist() == [[10]]

    def test_rejects(self):
        cfg = reference_config()
        with pytest.raises(ValueError, match=r"^codes: shape must be \(N, in_bits=8, "
                                             r"cols_phys=128\), not \(8, 128\)$"):
            shift_add(np.zeros((8, 128), int), cfg)
        with pytest.raises(ValueError, match=r"^codes: dtype must be integer, not float64$"):
            shift_add(np.zeros((1, 8, 128)), cfg)
