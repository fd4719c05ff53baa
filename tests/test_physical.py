"""The physical analog model: configuration, conductances, IR drop, read-out chain, and the
bit-exact agreement of batched (golden) and per-plane (co-simulation) evaluation."""

import dataclasses
from fractions import Fraction

import numpy as np
import pytest

from cimtile.behavioral import Adc, AnalogMacro, Crossbar
from cimtile.behavioral.adc import calibrate_full_scale, matched_full_scale
from cimtile.behavioral.conductance import (STUCK_GMAX, STUCK_GMIN, apply_faults, drift,
                                            drift_exponents, fault_map, level_conductances,
                                            level_step, programming_variation, unit_current)
from cimtile.behavioral.wires import MAX_NODES, transfer_matrix
from cimtile.flows.metrics import error_metrics
from cimtile.models.golden import golden_mvm
from cimtile.spec.config import ConfigError, load_config, parse_config, reference_config
from cimtile.spec.mapping import random_operands, shift_add, weight_levels

TIMING = {"t_settle": 1, "t_adc": 1}

#: Every physical effect switched off.
EFFECTS_OFF = dict(model="physical", d2d_sigma=0, read_noise=0, drift_time=0, fault_rate=0,
                   r_wl=0, r_bl=0, adc_offset=0, adc_gain_error=0, adc_cap_mismatch=0,
                   adc_noise=0)

#: Every physical effect switched on, strongly enough to show in small arrays.
EFFECTS_ON = dict(model="physical", d2d_sigma=0.1, read_noise=0.05, drift_time=3600.0,
                  fault_rate=0.05, r_wl=200.0, r_bl=300.0, adc_offset=0.2,
                  adc_gain_error=0.03, adc_cap_mismatch=0.05, adc_noise=0.4)


def make_config(analog=None, **tile):
    fields = dict(rows=16, cols=3, in_bits=5, w_bits=6, bits_per_cell=2, adc_bits=7,
                  adc_shift=0, cols_per_adc=3) | tile
    return parse_config({"tile": fields, "timing": TIMING, "analog": analog or {}})


def with_analog(cfg, **analog):
    data = dataclasses.asdict(cfg)
    data["analog"] |= analog
    return parse_config(data)


def random_data(rng, cfg, n):
    return random_operands(cfg, n, rng)


def per_plane(cfg, W, X, seed):
    """Results as the co-simulation computes them: one macro request per plane."""
    macro = AnalogMacro.from_weights(cfg, W, np.random.default_rng(seed))
    codes = [[macro.sample([(int(x) >> i) & 1 for x in vector])
              for i in range(cfg.tile.in_bits)] for vector in X]
    return shift_add(np.array(codes), cfg)


class TestConfig:
    def test_defaults(self):
        a = reference_config().analog
        assert a.model == "ideal" and not a.physical
        assert (a.v_read, a.g_min, a.g_max) == (0.2, 0.75, 40.0)
        assert (a.d2d_sigma, a.d2d_distribution, a.read_noise) == (0.05, "normal", 0.01)
        assert (a.drift_nu, a.drift_nu_sigma, a.drift_t0, a.drift_time) == (0.05, 0.01, 20, 0)
        assert (a.fault_rate, a.fault_sa0_fraction) == (0.01, 0.16)
        assert (a.r_wl, a.r_bl) == (1.0, 1.0)
        assert (a.adc_full_scale, a.adc_offset, a.adc_gain_error) == (0, 0, 0)
        assert (a.adc_cap_mismatch, a.adc_inl, a.adc_noise) == (0.01, (), 0.3)

    def test_from_toml(self, tmp_path):
        path = tmp_path / "tile.toml"
        path.write_text("[tile]\nrows = 4\ncols = 2\nin_bits = 4\nw_bits = 4\n"
                        "bits_per_cell = 2\nadc_bits = 2\nadc_shift = 0\ncols_per_adc = 1\n"
                        "[timing]\nt_settle = 1\nt_adc = 1\n"
                        "[analog]\nmodel = \"physical\"\ng_max = 25\nread_noise = 0.02\n"
                        "d2d_distribution = \"lognormal\"\nadc_inl = [0.1, -0.2, 0]\n")
        a = load_config(path).analog
        assert a.physical and a.g_max == 25.0 and type(a.g_max) is float
        assert a.read_noise == 0.02 and a.d2d_distribution == "lognormal"
        assert a.adc_inl == (0.1, -0.2, 0.0)
        hash(load_config(path))  # usable as a cache key

    @pytest.mark.parametrize("analog, message", [
        ({"g_min": -1.0}, "analog.g_min must be a number in [0, 1000000], not -1.0"),
        ({"g_max": 0}, "analog.g_max must be a number in (0, 1000000], not 0"),
        ({"g_min": 40.0}, "analog.g_min must be less than analog.g_max (40.0), not 40.0"),
        ({"g_min": 5, "g_max": 4}, "analog.g_min must be less than analog.g_max (4.0), "
                                   "not 5.0"),
        ({"d2d_sigma": -0.1}, "analog.d2d_sigma must be a number in [0, 2], not -0.1"),
        ({"read_noise": -0.01}, "analog.read_noise must be a number in [0, 1], not -0.01"),
        ({"drift_nu_sigma": -1}, "analog.drift_nu_sigma must be a number in [0, 1], not -1"),
        ({"adc_noise": -0.5}, "analog.adc_noise must be a number in [0, 1000000], not -0.5"),
        ({"r_wl": -1}, "analog.r_wl must be a number in [0, 1000000], not -1"),
        ({"r_bl": -0.5}, "analog.r_bl must be a number in [0, 1000000], not -0.5"),
        ({"v_read": 0}, "analog.v_read must be a number in (0, 10], not 0"),
        ({"fault_rate": 1.5}, "analog.fault_rate must be a number in [0, 1], not 1.5"),
        ({"drift_t0": 0}, "analog.drift_t0 must be a number in (0, 1000000000000], not 0"),
        ({"read_noise": "high"}, "analog.read_noise must be a number in [0, 1], not 'high'"),
        ({"read_noise": True}, "analog.read_noise must be a number in [0, 1], not True"),
        ({"read_noise": float("nan")}, "analog.read_noise must be a number in [0, 1], "
                                       "not nan"),
        ({"model": "spice"}, "analog.model must be one of ideal, physical, not 'spice'"),
        ({"d2d_distribution": "uniform"}, "analog.d2d_distribution must be one of normal, "
                                          "lognormal, not 'uniform'"),
        ({"adc_inl": [0.1, 0.2]}, "analog.adc_inl must have 2**adc_bits - 1 = 3 entries "
                                  "(one per code transition), not 2"),
        ({"adc_inl": [0.1, "x", 0]}, "analog.adc_inl must be a list of numbers in "
                                     "[-65536, 65536], not [0.1, 'x', 0]"),
        ({"adc_inl": 0.5}, "analog.adc_inl must be a list of numbers in [-65536, 65536], "
                           "not 0.5"),
        ({"noise": 0.1}, "unknown key analog.noise; expected one of model, v_read, "),
    ])
    def test_rejects(self, analog, message):
        with pytest.raises(ConfigError) as error:
            make_config(analog, adc_bits=2)
        assert str(error.value).startswith(message)
        if not message.endswith(" "):
            assert str(error.value) == message


class TestConductance:
    cfg = make_config({"model": "physical"})

    def test_levels_map_evenly_onto_the_window(self):
        G = level_conductances(self.cfg, np.arange(4))
        assert G[0] == 0.75 and G[-1] == 40.0
        assert np.allclose(np.diff(G), (40 - 0.75) / 3)
        assert level_step(self.cfg) == pytest.approx(13.083333333)
        assert unit_current(self.cfg) == pytest.approx(0.2 * 13.083333333)

    def test_variation_off_draws_nothing(self):
        cfg = with_analog(self.cfg, d2d_sigma=0)
        rng = np.random.default_rng(0)
        state = rng.bit_generator.state
        G = np.full((3, 4), 7.0)
        assert (programming_variation(cfg, G, rng) == G).all()
        assert rng.bit_generator.state == state

    def test_normal_variation_statistics(self):
        cfg = with_analog(self.cfg, d2d_sigma=0.1)
        G = programming_variation(cfg, np.full(200_000, 20.0), np.random.default_rng(1))
        assert np.mean(G) == pytest.approx(20.0, rel=2e-3)
        assert np.std(G / 20.0) == pytest.approx(0.1, rel=0.02)

    def test_normal_variation_clips_at_zero(self):
        cfg = with_analog(self.cfg, d2d_sigma=1.0)
        G = programming_variation(cfg, np.full(10_000, 1.0), np.random.default_rng(2))
        assert G.min() == 0 and (G == 0).mean() == pytest.approx(0.16, abs=0.02)

    def test_lognormal_variation_keeps_the_median(self):
        cfg = with_analog(self.cfg, d2d_sigma=0.3, d2d_distribution="lognormal")
        G = programming_variation(cfg, np.full(200_000, 10.0), np.random.default_rng(3))
        assert G.min() > 0
        assert np.median(G) == pytest.approx(10.0, rel=0.01)
        assert np.std(np.log(G)) == pytest.approx(0.3, rel=0.02)

    def test_fault_map_statistics(self):
        cfg = with_analog(self.cfg, fault_rate=0.1, fault_sa0_fraction=0.25)
        faults = fault_map(cfg, np.random.default_rng(4), shape=(400, 500))
        assert faults.dtype == np.int8 and set(np.unique(faults)) == {0, 1, 2}
        assert (faults != 0).mean() == pytest.approx(0.1, rel=0.03)
        assert (faults == STUCK_GMIN).sum() / (faults != 0).sum() == pytest.approx(0.25,
                                                                                  rel=0.04)
        assert fault_map(cfg, np.random.default_rng(4)).shape == (16, cfg.cols_phys)
        assert not fault_map(with_analog(cfg, fault_rate=0), None).any()

    def test_apply_faults(self):
        G = np.full((2, 3), 7.0)
        faults = np.array([[0, 1, 2], [2, 0, 0]])
        stuck = apply_faults(self.cfg, G, faults)
        assert stuck.tolist() == [[7.0, 0.75, 40.0], [40.0, 7.0, 7.0]]
        assert G[0, 1] == 7.0  # a copy
        with pytest.raises(ValueError, match=r"^faults: shape must be \(2, 3\), not \(3,\)$"):
            apply_faults(self.cfg, G, [0, 0, 0])
        with pytest.raises(ValueError, match=r"^faults: codes must be 0 \(healthy\), 1 "):
            apply_faults(self.cfg, G, faults + 1)

    def test_drift(self):
        cfg = with_analog(self.cfg, drift_time=180.0, drift_t0=20.0)
        assert drift(cfg, [10.0, 10.0], [0.0, 0.1]) == pytest.approx([10.0, 10 * 10 ** -0.1])
        assert (drift(with_analog(cfg, drift_time=0), [3.0], [0.5]) == [3.0]).all()
        nu = drift_exponents(with_analog(cfg, drift_nu=0.01, drift_nu_sigma=0.05), (10_000,),
                             np.random.default_rng(5))
        assert nu.min() == 0 and nu.max() > 0.1
        assert (drift_exponents(with_analog(cfg, drift_nu_sigma=0), (3,), None) == 0.05).all()


def kirchhoff_2x2(g, r_wl, r_bl):
    """Transfer matrix of a 2 x 2 crossbar from its node equations, written out by hand and
    solved exactly in rationals. g[r][c] and the results in S, resistances in ohm.

    Nodes: wordline a (0,0), b (0,1), c (1,0), d (1,1); bitline e (0,0), f (0,1), g (1,0),
    h (1,1). Drivers left of a and c, sense amplifiers (0 V) below g and h.
    """
    gw, gb = 1 / Fraction(r_wl), 1 / Fraction(r_bl)
    (g00, g01), (g10, g11) = g
    T = [[None, None], [None, None]]
    for driven in (0, 1):
        v0, v1 = (1, 0) if driven == 0 else (0, 1)
        # KCL, sum of conductance * voltage = source terms, unknowns in order a..h.
        equations = [
            ({"a": 2 * gw + g00, "b": -gw, "e": -g00}, gw * v0),
            ({"b": gw + g01, "a": -gw, "f": -g01}, 0),
            ({"c": 2 * gw + g10, "d": -gw, "g": -g10}, gw * v1),
            ({"d": gw + g11, "c": -gw, "h": -g11}, 0),
            ({"e": g00 + gb, "a": -g00, "g": -gb}, 0),
            ({"f": g01 + gb, "b": -g01, "h": -gb}, 0),
            ({"g": g10 + 2 * gb, "c": -g10, "e": -gb}, 0),
            ({"h": g11 + 2 * gb, "d": -g11, "f": -gb}, 0),
        ]
        names = "abcdefgh"
        A = [[Fraction(eq.get(n, 0)) for n in names] + [Fraction(rhs)]
             for eq, rhs in equations]
        for k in range(8):
            pivot = next(i for i in range(k, 8) if A[i][k] != 0)
            A[k], A[pivot] = A[pivot], A[k]
            for i in range(8):
                if i != k and A[i][k] != 0:
                    factor = A[i][k] / A[k][k]
                    A[i] = [x - factor * y for x, y in zip(A[i], A[k])]
        V = {n: A[k][8] / A[k][k] for k, n in enumerate(names)}
        T[driven] = [gb * V["g"], gb * V["h"]]
    return T


class TestWires:
    def test_no_resistance_is_the_cells(self):
        G = np.array([[1.0, 2.0], [3.0, 4.0]])
        T = transfer_matrix(G, 0, 0)
        assert (T == G).all() and not T.flags.writeable

    @pytest.mark.parametrize("r_wl, r_bl", [(2.0, 3.0), (0.0, 3.0), (2.0, 0.0)])
    def test_single_cell_is_a_series_circuit(self, r_wl, r_bl):
        T = transfer_matrix([[20.0]], r_wl, r_bl)
        assert T[0, 0] == pytest.approx(1e6 / (r_wl + r_bl + 1e6 / 20.0), rel=1e-12)

    def test_one_row_ladder(self):
        # Bitlines grounded: driver -r- node 1 (g1 to ground) -r- node 2 (g2 to ground).
        g1, g2, r = 1e-5, 3e-5, 1000.0
        gw = 1 / r
        v2_over_v1 = gw / (gw + g2)
        v1 = gw / (gw + g1 + gw * (1 - v2_over_v1))
        T = transfer_matrix([[g1 * 1e6, g2 * 1e6]], r, 0)
        assert T[0] == pytest.approx([g1 * v1 * 1e6, g2 * v1 * v2_over_v1 * 1e6], rel=1e-12)

    @pytest.mark.parametrize("r_wl, r_bl", [(2000, 3000), (2, 3), (50, 1)])
    def test_two_by_two_against_hand_solved_network(self, r_wl, r_bl):
        g_us = [[10, 20], [30, 40]]
        siemens = [[Fraction(g, 10 ** 6) for g in row] for row in g_us]
        exact = kirchhoff_2x2(siemens, r_wl, r_bl)
        T = transfer_matrix(np.array(g_us, float), r_wl, r_bl)
        expected = np.array([[float(x * 10 ** 6) for x in row] for row in exact])
        assert np.allclose(T, expected, rtol=1e-9, atol=0)
        if r_wl == 2000:
            assert (T < 0.9 * np.array(g_us)).all()  # a strong drop: the test has teeth

    def test_drop_grows_with_resistance(self):
        G = np.random.default_rng(6).uniform(1, 40, (12, 20))
        totals = [transfer_matrix(G, r, r).sum() for r in (0, 1, 10, 100)]
        assert totals[0] > totals[1] > totals[2] > totals[3]
        T = transfer_matrix(G, 10, 0)
        # Cells far from the drivers lose most.
        assert (T / G)[:, -1].mean() < (T / G)[:, 0].mean()

    def test_cached_and_read_only(self):
        G = np.random.default_rng(7).uniform(1, 40, (5, 6))
        first = transfer_matrix(G, 1, 2)
        assert transfer_matrix(G.copy(), 1, 2) is first
        assert not first.flags.writeable
        assert transfer_matrix(G, 2, 1) is not first

    def test_rejects(self):
        with pytest.raises(ValueError, match=r"^wire resistances must be non-negative, "
                                             r"not r_wl=-1, r_bl=0$"):
            transfer_matrix([[1.0]], -1, 0)
        rows = MAX_NODES // 2048 + 1
        with pytest.raises(ValueError, match=rf"^IR drop: a {rows} x 1024 array has "):
            transfer_matrix(np.ones((rows, 1024)), 1, 1)


class TestEffectsOff:
    @pytest.mark.parametrize("tile", [
        dict(),
        dict(rows=128, cols=16, in_bits=8, w_bits=8, bits_per_cell=2, adc_bits=8,
             cols_per_adc=8),
        dict(rows=40, cols=2, in_bits=3, w_bits=5, bits_per_cell=3, adc_bits=3, adc_shift=2),
        dict(rows=64, cols=3, in_bits=4, w_bits=9, bits_per_cell=4, adc_bits=5, adc_shift=1),
        dict(rows=1, cols=1, in_bits=1, w_bits=2, bits_per_cell=1, adc_bits=1),
    ])
    def test_equal_ideal_exactly(self, tile):
        rng = np.random.default_rng(8)
        ideal = make_config(**tile)
        off = with_analog(ideal, **EFFECTS_OFF)
        W, X = random_data(rng, ideal, 300)
        X[0] = -2 ** (ideal.tile.in_bits - 1)
        W[:, 0] = 2 ** (ideal.tile.w_bits - 1) - 1
        planes = rng.integers(0, 2, (50, ideal.tile.rows))
        codes = AnalogMacro.from_weights(off, W, rng).sample(planes)
        assert (codes == AnalogMacro.from_weights(ideal, W, rng).sample(planes)).all()
        assert (golden_mvm(off, W, X, seed=4) == golden_mvm(ideal, W, X, seed=4)).all()

    def test_explicit_matched_full_scale_equals_auto(self):
        cfg = with_analog(make_config(adc_shift=2), **EFFECTS_OFF)
        fixed = with_analog(cfg, adc_full_scale=matched_full_scale(cfg))
        W, X = random_data(np.random.default_rng(9), cfg, 200)
        assert (golden_mvm(fixed, W, X) == golden_mvm(cfg, W, X)).all()


class TestCrossbar:
    cfg = make_config(EFFECTS_ON, rows=12, cols=2, w_bits=5, adc_bits=6)

    def test_records_programming(self):
        levels = weight_levels(random_data(np.random.default_rng(10), self.cfg, 1)[0],
                               self.cfg)
        crossbar = Crossbar(self.cfg, levels, np.random.default_rng(11))
        G = crossbar.conductances
        assert G.shape == levels.shape and not G.flags.writeable
        assert (G[crossbar.faults == STUCK_GMIN] == 0.75).all()
        assert (G[crossbar.faults == STUCK_GMAX] == 40.0).all()
        healthy = crossbar.faults == 0
        target = level_conductances(self.cfg, levels)
        assert np.std(G[healthy] / target[healthy] - 1) == pytest.approx(0.1, abs=0.04)
        # Drift lowers and IR drop redistributes what the columns read.
        assert crossbar.transfer.sum() < G.sum()

    def test_from_conductances_reads_like_the_original(self):
        levels = weight_levels(random_data(np.random.default_rng(12), self.cfg, 1)[0],
                               self.cfg)
        original = Crossbar(self.cfg, levels, np.random.default_rng(13))
        copy = Crossbar.from_conductances(self.cfg, original.conductances,
                                          np.random.default_rng(13))
        assert copy.levels is None and copy.faults is None
        planes = np.random.default_rng(14).integers(0, 2, (9, 12))
        assert (copy.column_counts(planes) == original.column_counts(planes)).all()

    def test_from_conductances_in_the_ideal_model_is_linear(self):
        cfg = make_config(rows=2, cols=1, w_bits=3)
        step = level_step(cfg)
        G = [[0.75, 0.75 + 2 * step], [0.75 + 0.5 * step, 40.0]]
        crossbar = Crossbar.from_conductances(cfg, G, np.random.default_rng(0))
        assert crossbar.column_counts([1, 1]) == pytest.approx([0.5, 5.0])
        assert crossbar.column_counts([0, 1]) == pytest.approx([0.5, 3.0])

    def test_from_conductances_rejects(self):
        rng = np.random.default_rng(0)
        with pytest.raises(ValueError, match=r"^conductances: shape must be \(rows=12, "
                                             r"cols_phys=8\), not \(12, 4\)$"):
            Crossbar.from_conductances(self.cfg, np.ones((12, 4)), rng)
        for bad in (-1.0, np.nan, np.inf):
            G = np.ones((12, 8))
            G[3, 3] = bad
            with pytest.raises(ValueError, match=r"^conductances: must be finite and "
                                                 r"non-negative \(uS\)$"):
                Crossbar.from_conductances(self.cfg, G, rng)

    def test_read_noise_statistics(self):
        cfg = make_config(dict(EFFECTS_OFF, read_noise=0.05), rows=12, cols=2, w_bits=5)
        levels = np.random.default_rng(15).integers(0, 4, (12, cfg.cols_phys))
        crossbar = Crossbar(cfg, levels, np.random.default_rng(16))
        plane = np.random.default_rng(17).integers(0, 2, 12)
        counts = crossbar.column_counts(np.tile(plane, (20_000, 1)))
        G = level_conductances(cfg, levels)
        expected = 0.05 * np.sqrt(plane @ (G / level_step(cfg)) ** 2)
        assert np.mean(counts, axis=0) == pytest.approx(plane @ levels, abs=0.01)
        assert np.std(counts, axis=0) == pytest.approx(expected, rel=0.03)
        assert (crossbar.expected_counts(plane) == plane @ levels).all()

    def test_ideal_conductance_read_draws_nothing(self):
        cfg = make_config()
        rng = np.random.default_rng(0)
        state = rng.bit_generator.state
        Crossbar.from_conductances(cfg, np.ones((16, cfg.cols_phys)), rng).column_counts(
            np.ones(16))
        assert rng.bit_generator.state == state


class TestAdc:
    def test_sar_with_perfect_dac_rounds_half_up(self):
        cfg = make_config(dict(EFFECTS_OFF), adc_bits=4, adc_shift=1)
        sar = with_analog(cfg, adc_inl=[0.0] * 15)
        x = np.concatenate([np.arange(-3, 40, 0.5), np.random.default_rng(18).uniform(-5, 40,
                                                                                     500)])
        counts = np.tile(x[:, None], (1, cfg.cols_phys))
        fast = Adc(cfg, np.random.default_rng(0)).convert(counts)
        assert (Adc(sar, np.random.default_rng(0)).convert(counts) == fast).all()
        probe = np.tile(np.array([[-1.0], [0.9], [1.0], [2.9], [3.0], [99.0]]),
                        (1, cfg.cols_phys))
        sar_adc = Adc(sar, np.random.default_rng(0))
        assert sar_adc.convert(probe)[:, 0].tolist() == [0, 0, 1, 1, 2, 15]

    def test_inl_table_moves_transitions(self):
        cfg = make_config(dict(EFFECTS_OFF, adc_inl=[0.0, 0.6, -0.3]), adc_bits=2)
        adc = Adc(cfg, np.random.default_rng(0))
        assert adc.thresholds().tolist() == [0.5, 2.1, 2.2]
        x = np.array([0.49, 0.5, 2.0, 2.1, 2.15, 2.2, 9.0])
        codes = adc.convert(np.tile(x[:, None], (1, cfg.cols_phys)))[:, 0]
        assert codes.tolist() == [0, 1, 1, 2, 2, 3, 3]

    def test_capacitor_mismatch_draws_static_nonlinearity_per_adc(self):
        cfg = make_config(dict(EFFECTS_OFF, adc_cap_mismatch=0.02), adc_bits=10, cols=4,
                          cols_per_adc=2)
        adc = Adc(cfg, np.random.default_rng(19))
        assert adc.dac_levels.shape == (cfg.n_adcs, 10)
        dnl = np.diff(adc.thresholds(0)) - 1
        assert 0.05 < np.abs(dnl).max() < 3
        assert not np.allclose(adc.thresholds(0), adc.thresholds(1))
        again = Adc(cfg, np.random.default_rng(19))
        assert (again.dac_levels == adc.dac_levels).all()
        # Columns 2 and 3 share ADC 1: equal inputs, equal codes; other ADCs may differ.
        counts = np.tile(np.linspace(0, 1023, 4000)[:, None], (1, cfg.cols_phys))
        codes = adc.convert(counts)
        assert (codes[:, 2] == codes[:, 3]).all()
        assert (codes[:, 0] != codes[:, 2]).any()

    def test_perfect_dac_thresholds(self):
        cfg = make_config(dict(EFFECTS_OFF), adc_bits=3)
        assert Adc(cfg, np.random.default_rng(0)).thresholds().tolist() == \
            [0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5]

    def test_offset_gain_and_full_scale(self):
        cfg = make_config(dict(EFFECTS_OFF), adc_bits=6)
        counts = np.tile(np.arange(0.0, 40.0)[:, None], (1, cfg.cols_phys))

        def codes(**analog):
            return Adc(with_analog(cfg, **analog), np.random.default_rng(0)).convert(counts)
        assert (codes(adc_offset=2.0) == np.minimum(codes() + 2, 63)).all()
        assert (codes(adc_gain_error=0.5)[:, 0] == np.floor(1.5 * np.arange(40) + 0.5)).all()
        half = matched_full_scale(cfg) / 2  # a full scale half as large doubles the codes
        assert (codes(adc_full_scale=half)[:, 0] == np.minimum(2 * np.arange(40), 63)).all()
        rng = np.random.default_rng(0)
        assert Adc(cfg, rng).full_scale == matched_full_scale(cfg)
        assert Adc(with_analog(cfg, adc_full_scale=half), rng).full_scale == half
        assert Adc(make_config(), rng).full_scale is None

    def test_noise_statistics(self):
        cfg = make_config(dict(EFFECTS_OFF, adc_noise=0.7), adc_bits=6)
        codes = Adc(cfg, np.random.default_rng(20)).convert(np.full((20_000, cfg.cols_phys),
                                                                    20.0))
        assert np.mean(codes) == pytest.approx(20.0, abs=0.02)
        # Quantised Gaussian noise: variance sigma**2 + 1/12.
        assert np.var(codes) == pytest.approx(0.49 + 1 / 12, rel=0.05)

    def test_calibration(self):
        cfg = make_config(dict(EFFECTS_OFF), adc_bits=4)
        assert matched_full_scale(cfg) == pytest.approx(16 * unit_current(cfg))
        assert calibrate_full_scale(cfg, [1, 3, 15.4]) == (0, matched_full_scale(cfg))
        shift, full_scale = calibrate_full_scale(cfg, [1, 3, 40.0])
        assert shift == 2 and full_scale == pytest.approx(64 * unit_current(cfg))
        assert calibrate_full_scale(cfg, np.r_[np.ones(999), 1e5], quantile=0.99)[0] == 0
        with pytest.raises(ValueError, match=r"^quantile must lie in \(0, 1\], not 0$"):
            calibrate_full_scale(cfg, [1.0], quantile=0)
        with pytest.raises(ValueError, match=r"exceed every ADC range of 4 bits"):
            calibrate_full_scale(cfg, [1e7])

    def test_calibrated_settings_avoid_clipping(self):
        cfg = make_config(dict(EFFECTS_OFF), rows=64, adc_bits=5)
        rng = np.random.default_rng(21)
        W, X = random_data(rng, cfg, 200)
        crossbar = Crossbar(cfg, weight_levels(W, cfg), rng)
        planes = rng.integers(0, 2, (500, 64))
        shift, full_scale = calibrate_full_scale(cfg, crossbar.expected_counts(planes), 1.0)
        tuned = with_analog(cfg.replace(adc_shift=shift), adc_full_scale=full_scale)
        before = error_metrics(golden_mvm(cfg, W, X), X, W)["rms_error"]
        assert error_metrics(golden_mvm(tuned, W, X), X, W)["rms_error"] < before


class TestBitExact:
    @pytest.mark.parametrize("tile", [
        dict(),
        dict(rows=20, cols=3, in_bits=5, w_bits=6, bits_per_cell=2, adc_bits=4, adc_shift=1),
        dict(rows=33, cols=2, in_bits=7, w_bits=7, bits_per_cell=3, adc_bits=8,
             cols_per_adc=5),
    ])
    @pytest.mark.parametrize("inl", [False, True])
    def test_batched_equals_per_plane_with_every_effect_on(self, tile, inl):
        cfg = make_config(EFFECTS_ON, **tile)
        if inl:
            table = np.random.default_rng(22).normal(0, 0.3, cfg.max_code).tolist()
            cfg = with_analog(cfg, adc_inl=table, d2d_distribution="lognormal")
        W, X = random_data(np.random.default_rng(23), cfg, 25)
        Y = golden_mvm(cfg, W, X, seed=3)
        assert (Y == per_plane(cfg, W, X, seed=3)).all()
        assert (Y != golden_mvm(cfg, W, X, seed=4)).any()  # the seed matters
        assert (Y != golden_mvm(with_analog(cfg, **EFFECTS_OFF), W, X, seed=3)).any()

    def test_golden_chunks_do_not_change_the_noise(self, monkeypatch):
        from cimtile.models import golden
        cfg = make_config(EFFECTS_ON)
        W, X = random_data(np.random.default_rng(24), cfg, 23)
        expected = golden_mvm(cfg, W, X, seed=5)
        monkeypatch.setattr(golden, "CHUNK", 4)
        assert (golden_mvm(cfg, W, X, seed=5) == expected).all()

    def test_reference_tile_defaults(self):
        cfg = with_analog(reference_config(), model="physical", r_wl=0.5, r_bl=0.5)
        W, X = random_data(np.random.default_rng(25), cfg, 4)
        assert (golden_mvm(cfg, W, X, seed=1) == per_plane(cfg, W, X, seed=1)).all()


def error_of(cfg, W, X, seed=0):
    return error_metrics(golden_mvm(cfg, W, X, seed), X, W)["normalized_rms_error"]


class TestErrorDirection:
    """Each effect, alone and made stronger, moves the error away from X @ W."""
    base = make_config(EFFECTS_OFF, rows=32, cols=4, in_bits=4, w_bits=5, bits_per_cell=2,
                       adc_bits=8)

    def data(self):
        return random_data(np.random.default_rng(26), self.base, 400)

    @pytest.mark.parametrize("key, values", [
        ("d2d_sigma", [0.0, 0.05, 0.2]),
        ("read_noise", [0.0, 0.05, 0.2]),
        ("fault_rate", [0.0, 0.01, 0.05]),
        ("drift_time", [0.0, 100.0, 1e5]),
        ("r_wl", [0.0, 20.0, 200.0]),
        ("r_bl", [0.0, 20.0, 200.0]),
        ("adc_gain_error", [0.0, 0.02, 0.1]),
        ("adc_cap_mismatch", [0.0, 0.1, 0.3]),
        ("adc_noise", [0.0, 0.5, 2.0]),
        ("adc_offset", [0.0, -0.7, -1.7]),
    ])
    def test_error_grows(self, key, values):
        assert self.base.lossless
        W, X = self.data()
        errors = [error_of(with_analog(self.base, **{key: v}), W, X) for v in values]
        assert errors[0] == 0
        assert errors[0] < errors[1] < errors[2], errors

    @pytest.mark.parametrize("key, values", [("drift_time", [0.0, 1e3, 1e6]),
                                             ("r_wl", [0.0, 50.0, 500.0])])
    def test_conductance_loss_shrinks_results(self, key, values):
        W, X = self.data()
        ideal = (X @ W).astype(float)
        gains = [np.sum(golden_mvm(with_analog(self.base, **{key: v}), W, X) * ideal)
                 / np.sum(ideal ** 2) for v in values]
        assert gains[0] == 1 and gains[0] > gains[1] > gains[2]

    def test_mismatched_full_scale(self):
        W, X = self.data()
        matched = matched_full_scale(self.base)
        errors = [error_of(with_analog(self.base, adc_full_scale=matched * f), W, X)
                  for f in (1.0, 1.05, 1.3)]
        assert errors[0] == 0 < errors[1] < errors[2]

    def test_defaults_are_a_few_percent(self):
        cfg = with_analog(reference_config(), model="physical", r_wl=0, r_bl=0)
        W, X = random_data(np.random.default_rng(27), cfg, 300)
        assert 0.005 < error_of(cfg, W, X) < 0.2


def test_error_metrics():
    X = np.array([[1, 2], [3, -1]])
    W = np.array([[2, 0], [1, 1]])  # X @ W = [[4, 2], [5, -1]], range 6
    Y = np.array([[4, 4], [5, -2]])  # errors 0, 2, 0, -1
    metrics = error_metrics(Y, X, W)
    assert metrics == {"rms_error": pytest.approx(np.sqrt(5 / 4)), "max_abs_error": 2,
                       "normalized_rms_error": pytest.approx(np.sqrt(5 / 4) / 6)}
    assert error_metrics([[3]], [[1]], [[3]]) == {"rms_error": 0.0, "max_abs_error": 0,
                                                  "normalized_rms_error": 0.0}
