import numpy as np
import pytest

from cimtile.behavioral import Adc, AnalogMacro, Crossbar
from cimtile.behavioral.crossbar import _exact_float
from cimtile.spec.config import parse_config, reference_config
from cimtile.spec.mapping import weight_levels


def make_config(**tile):
    fields = dict(rows=4, cols=2, in_bits=4, w_bits=4, bits_per_cell=2, adc_bits=8,
                  adc_shift=0, cols_per_adc=1) | tile
    return parse_config({"tile": fields, "timing": {"t_settle": 1, "t_adc": 1}})


def random_levels(rng, cfg):
    return rng.integers(0, cfg.max_level, (cfg.tile.rows, cfg.cols_phys), endpoint=True)


def ref_code(count, cfg):
    """Round half up in steps of 2**adc_shift, clip: integer arithmetic only."""
    shift = cfg.tile.adc_shift
    rounded = (count + (1 << shift >> 1)) >> shift
    return min(max(rounded, 0), cfg.max_code)


class TestCrossbar:
    def test_counts_are_exact_matrix_product(self):
        cfg = reference_config()
        rng = np.random.default_rng(1)
        levels = random_levels(rng, cfg)
        crossbar = Crossbar(cfg, levels, rng)
        planes = rng.integers(0, 2, (5, cfg.tile.in_bits, cfg.tile.rows), dtype=np.uint8)
        counts = crossbar.column_counts(planes)
        assert counts.dtype == np.float64
        assert counts.shape == (5, cfg.tile.in_bits, cfg.cols_phys)
        assert (counts == planes.astype(np.int64) @ levels).all()

    def test_one_plane(self):
        cfg = make_config(rows=3, cols=1, w_bits=3)
        levels = [[1, 0], [2, 3], [3, 1]]
        counts = Crossbar(cfg, levels, np.random.default_rng(0)).column_counts([1, 0, 1])
        assert counts.tolist() == [4.0, 1.0]

    def test_any_plane_dtype(self):
        cfg = make_config()
        rng = np.random.default_rng(2)
        crossbar = Crossbar(cfg, random_levels(rng, cfg), rng)
        planes = rng.integers(0, 2, (3, cfg.tile.rows))
        expected = crossbar.column_counts(planes.astype(np.uint8))
        for dtype in (bool, np.int64, np.float32, np.float64):
            assert (crossbar.column_counts(planes.astype(dtype)) == expected).all()

    def test_exact_at_largest_count(self):
        # 1024 rows of level 255 all driven: 261120, where float32 still counts exactly.
        cfg = make_config(rows=1024, cols=1, w_bits=9, bits_per_cell=8)
        levels = np.full((1024, cfg.cols_phys), 255)
        levels[0, 1] = 254
        counts = Crossbar(cfg, levels, np.random.default_rng(0)).column_counts(np.ones(1024))
        assert counts.tolist() == [261120.0, 261119.0]

    def test_exact_float_choice(self):
        assert _exact_float(2 ** 24 - 1) is np.float32
        assert _exact_float(2 ** 24) is np.float64
        with pytest.raises(ValueError, match=r"cannot be summed exactly in float64$"):
            _exact_float(2 ** 53)

    def test_out(self):
        cfg = make_config()
        rng = np.random.default_rng(3)
        crossbar = Crossbar(cfg, random_levels(rng, cfg), rng)
        planes = rng.integers(0, 2, (2, 5, cfg.tile.rows))
        out = np.empty((2, 5, cfg.cols_phys))
        assert crossbar.column_counts(planes, out=out) is out
        assert (out == crossbar.column_counts(planes)).all()

    def test_levels_read_only_copy(self):
        cfg = make_config()
        levels = np.ones((cfg.tile.rows, cfg.cols_phys), np.int8)
        crossbar = Crossbar(cfg, levels, np.random.default_rng(0))
        levels[0, 0] = 3
        assert crossbar.levels[0, 0] == 1
        assert crossbar.levels.dtype == np.int64
        with pytest.raises(ValueError):
            crossbar.levels[0, 0] = 2

    def test_ideal_draws_nothing(self):
        cfg = make_config()
        rng = np.random.default_rng(4)
        crossbar = Crossbar(cfg, random_levels(rng, cfg), rng)
        state = rng.bit_generator.state
        crossbar.column_counts(np.ones((7, cfg.tile.rows)))
        assert rng.bit_generator.state == state

    def test_rejects_levels(self):
        cfg = make_config(w_bits=3)
        rng = np.random.default_rng(0)
        with pytest.raises(ValueError, match=r"^levels: shape must be \(rows=4, cols_phys=4\), "
                                             r"not \(4, 3\)$"):
            Crossbar(cfg, np.zeros((4, 3), int), rng)
        with pytest.raises(ValueError, match=r"^levels: must be integers in \[0, 3\]$"):
            Crossbar(cfg, np.full((4, 4), 4), rng)
        with pytest.raises(ValueError, match=r"^levels: must be integers in \[0, 3\]$"):
            Crossbar(cfg, np.zeros((4, 4)), rng)

    def test_rejects_planes(self):
        cfg = make_config(w_bits=3)
        crossbar = Crossbar(cfg, np.zeros((4, 4), int), np.random.default_rng(0))
        with pytest.raises(ValueError, match=r"^planes: last axis must have rows=4 entries, "
                                             r"not shape \(2, 5\)$"):
            crossbar.column_counts(np.zeros((2, 5)))


class TestAdc:
    @pytest.mark.parametrize("adc_shift", [0, 1, 2, 3])
    def test_matches_integer_rounding(self, adc_shift):
        cfg = make_config(adc_bits=5, adc_shift=adc_shift)
        counts = np.arange(-3, 2 ** (5 + adc_shift) + 20)
        codes = Adc(cfg, np.random.default_rng(0)).convert(counts.astype(np.float64))
        assert codes.dtype == np.int64
        assert codes.tolist() == [ref_code(int(c), cfg) for c in counts]

    def test_round_half_up(self):
        # adc_shift 2: counts 2, 6, 10 sit exactly on .5; round-half-even would give 0, 2, 2.
        cfg = make_config(adc_shift=2)
        adc = Adc(cfg, np.random.default_rng(0))
        assert adc.convert(np.array([1.0, 2.0, 6.0, 10.0, 9.0])).tolist() == [0, 1, 2, 3, 2]
        assert adc.convert(np.array([1.9999, 2.0, 5.99])).tolist() == [0, 1, 1]

    def test_clips(self):
        cfg = make_config(adc_bits=3, adc_shift=1)
        adc = Adc(cfg, np.random.default_rng(0))
        # 13 and 14 round to 7 unclipped; 15 rounds to 8 and clips.
        assert adc.convert(np.array([13.0, 14.0, 15.0, 1e9, -0.9, -5.0])).tolist() \
            == [7, 7, 7, 7, 0, 0]

    def test_shape_and_out(self):
        cfg = make_config(adc_bits=4)
        adc = Adc(cfg, np.random.default_rng(0))
        counts = np.arange(24.0).reshape(2, 3, 4)
        out = np.empty((2, 3, 4), np.int64)
        assert adc.convert(counts, out=out) is out
        assert out.tolist() == np.minimum(counts, 15).astype(int).tolist()


class TestAnalogMacro:
    def setup_method(self):
        self.cfg = make_config(rows=16, cols=3, in_bits=5, w_bits=6, bits_per_cell=2,
                               adc_bits=3, adc_shift=1)
        rng = np.random.default_rng(5)
        self.W = rng.integers(-31, 31, (16, 3), endpoint=True)
        self.planes = rng.integers(0, 2, (6, 5, 16), dtype=np.uint8)

    def macro(self, seed=9):
        return AnalogMacro.from_weights(self.cfg, self.W, np.random.default_rng(seed))

    def test_sample_is_adc_of_crossbar(self):
        macro = self.macro()
        levels = weight_levels(self.W, self.cfg)
        counts = self.planes.astype(np.int64) @ levels
        expected = [[[ref_code(int(c), self.cfg) for c in plane] for plane in vector]
                    for vector in counts]
        codes = macro.sample(self.planes)
        assert codes.dtype == np.int64
        assert codes.tolist() == expected
        assert codes.max() == self.cfg.max_code  # this case does clip

    def test_from_weights(self):
        macro = self.macro()
        assert (macro.crossbar.levels == weight_levels(self.W, self.cfg)).all()

    def test_batched_equals_per_plane(self):
        batched = self.macro().sample(self.planes)
        macro = self.macro()
        one_by_one = [[macro.sample(plane) for plane in vector] for vector in self.planes]
        assert batched.tolist() == np.array(one_by_one).tolist()

    def test_batched_equals_per_plane_with_draws(self):
        # Stand-ins for noisy models that follow the documented convention: draws shaped
        # planes.shape[:-1] + (cols_phys,) from the model's own generator. Sharing one stream
        # between crossbar and ADC would interleave differently batched and one by one.
        def noisy(macro):
            column_counts, convert = macro.crossbar.column_counts, macro.adc.convert
            crossbar_rng, adc_rng = macro.crossbar.rng, macro.adc.rng

            def noisy_counts(planes, out=None):
                counts = column_counts(planes, out)
                counts += crossbar_rng.normal(0, 2, np.shape(planes)[:-1] + counts.shape[-1:])
                return counts

            def noisy_convert(counts, out=None, adc_shift=None):
                return convert(counts + adc_rng.normal(0, 1, counts.shape), out, adc_shift)

            macro.crossbar.column_counts, macro.adc.convert = noisy_counts, noisy_convert
            return macro

        batched = noisy(self.macro()).sample(self.planes)
        macro = noisy(self.macro())
        one_by_one = np.array([[macro.sample(plane) for plane in vector]
                               for vector in self.planes])
        assert (batched == one_by_one).all()
        ideal = self.macro().sample(self.planes)
        assert (batched != ideal).any()  # the stand-ins did perturb the codes

    def test_children_generators(self):
        macro, again, other = self.macro(9), self.macro(9), self.macro(10)
        draws = [m.crossbar.rng.random(4).tolist() + m.adc.rng.random(4).tolist()
                 for m in (macro, again, other)]
        assert draws[0] == draws[1]
        assert draws[0] != draws[2]
        assert draws[0][:4] != draws[0][4:]

    def test_ideal_draws_nothing(self):
        macro = self.macro()
        states = [m.rng.bit_generator.state for m in (macro.crossbar, macro.adc)]
        macro.sample(self.planes)
        assert [m.rng.bit_generator.state for m in (macro.crossbar, macro.adc)] == states

    def test_out(self):
        macro = self.macro()
        out = np.empty((6, 5, self.cfg.cols_phys), np.int64)
        assert macro.sample(self.planes, out=out) is out
        assert (out == self.macro().sample(self.planes)).all()

    def test_repeated_calls_do_not_alias(self):
        macro = self.macro()
        first = macro.sample(self.planes)
        kept = first.copy()
        macro.sample(1 - self.planes)
        assert (first == kept).all()
