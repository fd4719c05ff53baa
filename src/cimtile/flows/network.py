"""A small multilayer perceptron quantized and split onto tiles.

Model file (``.npz``, loaded with ``allow_pickle=False``): for a network of L layers, keys
``W0, b0, W1, b1, ..., W{L-1}, b{L-1}`` and nothing else. ``W{l}`` is a finite float array
shaped (inputs, outputs), so that a layer computes ``x @ W + b`` as a tile computes
``X @ W``; ``b{l}`` is shaped (outputs,); the outputs of layer l are the inputs of layer
l + 1. ReLU follows every layer but the last, whose largest output is the predicted class.

Quantization, per layer l (symmetric, no zero point):

- weights: ``w_scale = max|W| / (2**(w_bits-1) - 1)``, ``Wq = round(W / w_scale)``;
- inputs: ``x_scale = clip / (2**(in_bits-1) - 1)``, ``Xq = clip(round(x / x_scale))`` to the
  tile's input range. ``clip`` is calibrated on a held-out set (never the test set): of the
  candidates ``percentile(|x|, q)`` for q in :data:`CLIP_PERCENTILES`, the one whose
  quantized activations are closest to the float ones (mean squared error), with x the
  float network's activations entering the layer;
- the tiles compute the integer ``Xq @ Wq``; the digital side scales it back,
  ``y = (Xq @ Wq) * x_scale * w_scale + b``, and applies ReLU.

A layer larger than a tile is split into blocks of ``rows`` inputs by ``cols`` outputs, the
last ones zero-padded; the partial sums of the row blocks of a column block are added
digitally.
"""

from dataclasses import dataclass

import numpy as np

from cimtile.spec.files import InputError, read_npz
from cimtile.spec.mapping import DataError

__all__ = ["CLIP_PERCENTILES", "ModelError", "Layer", "QuantLayer", "Block", "load_model",
           "save_model", "load_data", "check_range", "float_forward", "quantize", "split",
           "block_inputs", "tiled_matmul", "quant_forward", "accuracy"]

#: Percentiles of |activation| tried as the clip value of each layer's input quantizer.
CLIP_PERCENTILES = (99.0, 99.5, 99.9, 99.99, 100.0)


class ModelError(DataError):
    """A model or data file is unusable; the message names the file, key and rule."""


@dataclass(frozen=True)
class Layer:
    """A float layer ``x @ W + b``: W (inputs, outputs), b (outputs,)."""
    W: np.ndarray
    b: np.ndarray


@dataclass(frozen=True)
class QuantLayer:
    """A layer quantized for tiles: integer weights, the two scales and the float bias."""
    Wq: np.ndarray
    w_scale: float
    x_scale: float
    b: np.ndarray


@dataclass(frozen=True)
class Block:
    """The tile-sized piece ``Wq[row0:row1, col0:col1]``, zero-padded to (rows, cols)."""
    row0: int
    row1: int
    col0: int
    col1: int
    W: np.ndarray


def _finite_float(path, key, array, ndim):
    if array.ndim != ndim or 0 in array.shape:
        shape = "(inputs, outputs)" if ndim == 2 else "(outputs,)"
        raise ModelError(f"{path}: {key} must be a non-empty array shaped {shape}, "
                         f"not {array.shape}")
    # By kind: numpy files timedelta64 under the integers and bool under neither.
    if array.dtype.kind not in "fiu":
        raise ModelError(f"{path}: {key} must be real numbers, not {array.dtype}")
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        index = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
        where = ", ".join(map(str, index))
        raise ModelError(f"{path}: {key} must be finite; found {array[index]} at [{where}]")
    return array


def _read_npz(path, what):
    try:
        return read_npz(path, what)
    except InputError as error:
        raise ModelError(str(error)) from None


def load_model(path):
    """Read and validate a model file (format in the module docstring).

    Returns
    -------
    list of Layer

    Raises
    ------
    ModelError
        If the file is unreadable, a layer's W or b is missing, a key is unknown, an array
        has the wrong shape or a value that is not finite, or consecutive layers do not fit.
    """
    arrays = _read_npz(path, "model")
    count = sum(1 for key in arrays if key.startswith("W"))
    expected = [f"{kind}{l}" for l in range(count) for kind in "Wb"]
    if count == 0:
        raise ModelError(f"{path}: model has no layers (expected keys W0, b0, W1, b1, ...)")
    for key in expected:
        if key not in arrays:
            raise ModelError(f"{path}: model lacks {key} (expected keys "
                             f"{', '.join(expected)})")
    extra = sorted(set(arrays) - set(expected))
    if extra:
        raise ModelError(f"{path}: unknown key {extra[0]} in model (expected keys "
                         f"{', '.join(expected)})")
    layers = []
    for l in range(count):
        W = _finite_float(path, f"W{l}", arrays[f"W{l}"], 2)
        b = _finite_float(path, f"b{l}", arrays[f"b{l}"], 1)
        if b.shape != (W.shape[1],):
            raise ModelError(f"{path}: b{l} must be shaped ({W.shape[1]},) to match W{l} "
                             f"{W.shape}, not {b.shape}")
        if layers and W.shape[0] != layers[-1].W.shape[1]:
            raise ModelError(f"{path}: W{l} must have {layers[-1].W.shape[1]} rows (the "
                             f"outputs of W{l - 1}), not {W.shape[0]}")
        layers.append(Layer(W, b))
    return layers


def save_model(file, layers):
    """Write `layers` in the model file format."""
    np.savez(file, **{f"{kind}{l}": getattr(layer, kind)
                      for l, layer in enumerate(layers) for kind in "Wb"})


def load_data(path, inputs, classes):
    """Read a data file: ``x_test`` (N, inputs) and ``y_test`` (N,) integer labels in
    [0, classes), and the held-out calibration inputs ``x_cal`` (M, inputs), all finite.

    Returns
    -------
    (x_test, y_test, x_cal)

    Raises
    ------
    ModelError
    """
    arrays = _read_npz(path, "data")
    for key in ("x_test", "y_test", "x_cal"):
        if key not in arrays:
            raise ModelError(f"{path}: data lacks {key} (expected keys x_test, y_test, x_cal)")
    x_test = _finite_float(path, "x_test", arrays["x_test"], 2)
    x_cal = _finite_float(path, "x_cal", arrays["x_cal"], 2)
    y_test = arrays["y_test"]
    for key, x in (("x_test", x_test), ("x_cal", x_cal)):
        if x.shape[1] != inputs:
            raise ModelError(f"{path}: {key} must be shaped (N, {inputs}) to match W0, "
                             f"not {x.shape}")
    if y_test.shape != (len(x_test),) or y_test.dtype.kind not in "iu":
        raise ModelError(f"{path}: y_test must be integer labels shaped ({len(x_test)},), "
                         f"not {y_test.dtype} {y_test.shape}")
    if y_test.min() < 0 or y_test.max() >= classes:
        raise ModelError(f"{path}: y_test labels must lie in [0, {classes - 1}] (the outputs "
                         f"of the last layer); found {y_test.min()}..{y_test.max()}")
    return x_test, y_test.astype(np.int64), x_cal


def check_range(layers, x_test, x_cal, cfg):
    """Check that float64 carries the network through the data: the float forward pass,
    the calibration of the quantizer and the quantized forward pass, as a run makes them.

    Raises
    ------
    ModelError
        If any of them overflows or yields a value that is not a number.
    """
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        try:
            float_forward(layers, x_test)
            qlayers = quantize(layers, x_cal, cfg)
            quant_forward(qlayers, x_test, cfg, lambda l, Xq: Xq @ qlayers[l].Wq)
        except FloatingPointError as error:
            raise ModelError(f"the network's values exceed the float64 range ({error}); "
                             "scale the weights or the data down") from None


def float_forward(layers, x):
    """Float outputs of the last layer, and the activations entering every layer."""
    inputs = []
    for l, layer in enumerate(layers):
        inputs.append(x)
        x = x @ layer.W + layer.b
        if l < len(layers) - 1:
            x = np.maximum(x, 0)
    return x, inputs


def _quantize_inputs(x, x_scale, in_bits):
    half = 2 ** (in_bits - 1)
    return np.clip(np.round(x / x_scale), -half, half - 1).astype(np.int64)


def _calibrated_scale(x, in_bits):
    top = 2 ** (in_bits - 1) - 1
    magnitude = np.abs(x).reshape(-1)
    best = None
    for clip in np.percentile(magnitude, CLIP_PERCENTILES):
        scale = max(float(clip), np.finfo(float).tiny) / top
        error = np.mean((_quantize_inputs(x, scale, in_bits) * scale - x) ** 2)
        if best is None or error < best[0]:
            best = (error, scale)
    return best[1]


def quantize(layers, x_cal, cfg):
    """Quantize `layers` for the tile of `cfg`, calibrating input scales on `x_cal`."""
    _, inputs = float_forward(layers, x_cal)
    w_top = 2 ** (cfg.tile.w_bits - 1) - 1
    quantized = []
    for layer, x in zip(layers, inputs):
        w_scale = max(float(np.abs(layer.W).max()), np.finfo(float).tiny) / w_top
        Wq = np.clip(np.round(layer.W / w_scale), -w_top, w_top).astype(np.int64)
        quantized.append(QuantLayer(Wq, w_scale, _calibrated_scale(x, cfg.tile.in_bits),
                                    layer.b))
    return quantized


def split(Wq, cfg):
    """The tile-sized blocks of an integer weight matrix, row blocks within column blocks."""
    rows, cols = cfg.tile.rows, cfg.tile.cols
    n_in, n_out = Wq.shape
    blocks = []
    for col0 in range(0, n_out, cols):
        for row0 in range(0, n_in, rows):
            row1, col1 = min(row0 + rows, n_in), min(col0 + cols, n_out)
            W = np.zeros((rows, cols), np.int64)
            W[:row1 - row0, :col1 - col0] = Wq[row0:row1, col0:col1]
            blocks.append(Block(row0, row1, col0, col1, W))
    return blocks


def block_inputs(Xq, block, rows):
    """The inputs a block's tile sees: its rows of `Xq`, zero-padded to the tile."""
    X = np.zeros((len(Xq), rows), np.int64)
    X[:, :block.row1 - block.row0] = Xq[:, block.row0:block.row1]
    return X


def tiled_matmul(Xq, blocks, n_out, rows, mvm):
    """``Xq @ Wq`` assembled from tile results.

    Parameters
    ----------
    Xq : int array (N, inputs)
    blocks : list of Block, from :func:`split`
    n_out : int
        Outputs of the layer.
    rows : int
        Rows of a tile.
    mvm : callable ``(index, block, X) -> Y``
        Runs tile `index` (holding ``block.W``) on X (N, rows); returns (N, cols) integers.
    """
    Y = np.zeros((len(Xq), n_out), np.int64)
    for index, block in enumerate(blocks):
        part = mvm(index, block, block_inputs(Xq, block, rows))
        Y[:, block.col0:block.col1] += part[:, :block.col1 - block.col0]
    return Y


def quant_forward(qlayers, x, cfg, layer_mvm):
    """Outputs of the quantized network, with the integer results of every layer.

    Parameters
    ----------
    layer_mvm : callable ``(l, Xq) -> Y``
        The integer ``Xq @ Wq`` of layer l, however computed (numpy, golden model, tiles).

    Returns
    -------
    (ndarray (N, outputs), list of int ndarrays)
    """
    integers = []
    for l, q in enumerate(qlayers):
        Y = layer_mvm(l, _quantize_inputs(x, q.x_scale, cfg.tile.in_bits))
        integers.append(Y)
        x = Y * (q.x_scale * q.w_scale) + q.b
        if l < len(qlayers) - 1:
            x = np.maximum(x, 0)
    return x, integers


def accuracy(outputs, labels):
    """Fraction of rows whose largest output is the label."""
    return float(np.mean(np.argmax(outputs, axis=1) == labels))
