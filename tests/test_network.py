"""Networks on tiles without co-simulation: model files, quantization, splitting, the golden
model on split layers, and the command line's refusal of malformed inputs."""

import math

import numpy as np
import pytest

from cimtile.cli import main
from cimtile.flows.digits import DEMO_CONFIG
from cimtile.flows.network import (Layer, ModelError, load_data, load_model, quant_forward,
                                   quantize, save_model, split, tiled_matmul)
from cimtile.flows.network_plots import calibrated_adc_shift
from cimtile.models.golden import golden_mvm
from cimtile.spec.config import reference_config


def _layers(rng, sizes):
    return [Layer(rng.normal(size=(n_in, n_out)), rng.normal(size=n_out))
            for n_in, n_out in zip(sizes, sizes[1:])]


@pytest.mark.parametrize("seed", range(8))
def test_split_and_tiled_matmul_equal_numpy(seed):
    rng = np.random.default_rng(seed)
    rows, cols = int(rng.integers(2, 20)), int(rng.integers(1, 12))
    cfg = reference_config().replace(rows=rows, cols=cols)
    n_in, n_out = int(rng.integers(1, 70)), int(rng.integers(1, 40))
    W = rng.integers(-127, 128, (n_in, n_out))
    X = rng.integers(-128, 128, (5, n_in))
    blocks = split(W, cfg)
    assert len(blocks) == math.ceil(n_in / rows) * math.ceil(n_out / cols)
    for block in blocks:
        assert block.W.shape == (rows, cols)
        assert np.array_equal(block.W[:block.row1 - block.row0, :block.col1 - block.col0],
                              W[block.row0:block.row1, block.col0:block.col1])
        assert not block.W[block.row1 - block.row0:].any()
        assert not block.W[:, block.col1 - block.col0:].any()
    seen = []
    Y = tiled_matmul(X, blocks, n_out, rows,
                     lambda i, block, Xb: seen.append(Xb.shape) or Xb @ block.W)
    assert np.array_equal(Y, X @ W)
    assert seen == [(5, rows)] * len(blocks)


@pytest.mark.parametrize("shape", [(64, 54), (54, 10), (33, 17), (7, 3)])
def test_golden_model_on_split_layer_is_exact_when_lossless(shape):
    cfg = reference_config().replace(rows=32, cols=16)
    assert cfg.lossless
    rng = np.random.default_rng(1)
    W = rng.integers(-127, 128, shape)
    X = rng.integers(-128, 128, (20, shape[0]))
    Y = tiled_matmul(X, split(W, cfg), shape[1], 32,
                     lambda i, block, Xb: golden_mvm(cfg, block.W, Xb, seed=i))
    assert np.array_equal(Y, X @ W)


def test_quantize_fits_the_tile_and_tracks_the_float_network():
    rng = np.random.default_rng(2)
    layers = _layers(rng, [20, 13, 5])
    cfg = reference_config()
    x_cal, x = rng.normal(size=(200, 20)), rng.normal(size=(50, 20))
    qlayers = quantize(layers, x_cal, cfg)
    for layer, q in zip(layers, qlayers):
        assert np.abs(q.Wq).max() == 127
        assert np.allclose(q.Wq * q.w_scale, layer.W, atol=q.w_scale / 2)
    out, integers = quant_forward(qlayers, x, cfg, lambda l, Xq: Xq @ qlayers[l].Wq)
    hidden = np.maximum(x @ layers[0].W + layers[0].b, 0)
    expected = hidden @ layers[1].W + layers[1].b
    assert [Y.shape for Y in integers] == [(50, 13), (50, 5)]
    assert np.abs(out - expected).max() < 0.05 * np.abs(expected).max()


def test_calibrated_adc_shift_covers_the_quantile():
    counts = np.arange(1001)
    assert calibrated_adc_shift(counts, 10) == 0
    assert calibrated_adc_shift(counts, 8, quantile=1.0) == 2     # 255 * 4 >= 1000
    assert calibrated_adc_shift(counts, 4, quantile=0.5) == 6     # 15 * 32 < 500 <= 15 * 64


def test_model_round_trip(tmp_path):
    layers = _layers(np.random.default_rng(3), [4, 3, 2])
    save_model(tmp_path / "m.npz", layers)
    loaded = load_model(tmp_path / "m.npz")
    assert all(np.array_equal(a.W, b.W) and np.array_equal(a.b, b.b)
               for a, b in zip(layers, loaded))


def _model(tmp_path, **arrays):
    path = tmp_path / "model.npz"
    np.savez(path, **arrays)
    return path


def _good(rng=np.random.default_rng(4)):
    return dict(W0=rng.normal(size=(64, 5)), b0=np.zeros(5), W1=rng.normal(size=(5, 3)),
                b1=np.zeros(3))


@pytest.mark.parametrize("change, message", [
    (dict(W1=None, b1=None, W2=np.ones((5, 3)), b2=np.zeros(3)),
     "model lacks W1 (expected keys W0, b0, W1, b1)"),
    (dict(b1=None), "model lacks b1 (expected keys W0, b0, W1, b1)"),
    (dict(extra=np.ones(2)), "unknown key extra in model (expected keys W0, b0, W1, b1)"),
    (dict(W1=np.ones((4, 3))), "W1 must have 5 rows (the outputs of W0), not 4"),
    (dict(b0=np.zeros(4)), "b0 must be shaped (5,) to match W0 (64, 5), not (4,)"),
    (dict(W0=np.ones(64)), "W0 must be a non-empty array shaped (inputs, outputs), "
                           "not (64,)"),
    (dict(W1=np.where(np.eye(5, 3) > 0, np.nan, 1.0)), "W1 must be finite; found nan at "
                                                       "[0, 0]"),
])
def test_malformed_model_is_refused(tmp_path, capsys, change, message):
    arrays = {key: value for key, value in (_good() | change).items() if value is not None}
    path = _model(tmp_path, **arrays)
    assert load_model_error(path) == f"{path}: {message}"
    data = tmp_path / "data.npz"
    np.savez(data, x_test=np.zeros((2, 64)), y_test=np.zeros(2, np.int64),
             x_cal=np.zeros((2, 64)))
    status = main(["run", "--model", str(path), "--config", str(DEMO_CONFIG),
                   "--data", str(data), "--report", str(tmp_path / "r.json")])
    out, err = capsys.readouterr()
    assert status == 2
    assert err == f"cimtile: error: {path}: {message}\n"
    assert out == ""
    assert not (tmp_path / "r.json").exists()


def load_model_error(path):
    with pytest.raises(ModelError) as info:
        load_model(path)
    return str(info.value)


@pytest.mark.parametrize("arrays, message", [
    (dict(x_test=np.zeros((2, 64)), y_test=np.zeros(2, np.int64)),
     "data lacks x_cal (expected keys x_test, y_test, x_cal)"),
    (dict(x_test=np.zeros((2, 63)), y_test=np.zeros(2, np.int64), x_cal=np.zeros((1, 64))),
     "x_test must be shaped (N, 64) to match the model's inputs, not (2, 63)"),
    (dict(x_test=np.zeros((2, 64)), y_test=np.zeros(3, np.int64), x_cal=np.zeros((1, 64))),
     "y_test must be integer labels shaped (2,), not int64 (3,)"),
    (dict(x_test=np.zeros((2, 64)), y_test=np.array([0, 3]), x_cal=np.zeros((1, 64))),
     "y_test labels must lie in [0, 2] (the model's outputs); found 0..3"),
    (dict(x_test=np.full((2, 64), np.inf), y_test=np.zeros(2, np.int64),
          x_cal=np.zeros((1, 64))), "x_test must be finite; found inf at [0, 0]"),
])
def test_malformed_data_is_refused(tmp_path, arrays, message):
    path = tmp_path / "data.npz"
    np.savez(path, **arrays)
    with pytest.raises(ModelError) as info:
        load_data(path, 64, 3)
    assert str(info.value) == f"{path}: {message}"


def test_unreadable_model_file(tmp_path, capsys):
    path = tmp_path / "model.npz"
    path.write_text("not an archive")
    data = tmp_path / "data.npz"
    assert main(["run", "--model", str(path), "--config", str(DEMO_CONFIG),
                 "--data", str(data)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"cimtile: error: {path}: cannot read model: ")
    assert err.count("\n") == 1
