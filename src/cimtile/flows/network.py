"""A small multilayer perceptron quantized and split onto tiles.

Model file (``.npz``, loaded with ``allow_pickle=False``): for a network of L layers, keys
``W0, b0, W1, b1, ..., W{L-1}, b{L-1}`` and nothing else. ``W{l}`` is a finite float array
shaped (inputs, outputs), so that a layer computes ``x @ W + b`` as a tile computes
``X @ W``; ``b{l}`` is shaped (outputs,); the outputs of layer l are the inputs of layer
l + 1. ReLU follows every layer but the last, whose largest output is the predicted class.

Quantization: see :mod:`cimtile.flows.quantizer` (per layer, symmetric, input scales
calibrated on a held-out set).

A layer larger than a tile is split into blocks of ``rows`` inputs by ``cols`` outputs, the
last ones zero-padded; the partial sums of the row blocks of a column block are added
digitally.
"""

from dataclasses import dataclass

import numpy as np

from cimtile.spec.files import InputError, read_npz
from cimtile.spec.mapping import DataError

from .graph import mlp_graph
from .quantizer import quantize_graph

__all__ = ["ModelError", "Layer", "Block", "load_model",
           "save_model", "load_data", "check_range", "float_forward", "quantize", "split",
           "block_inputs", "tiled_matmul", "quant_forward", "accuracy"]

class ModelError(DataError):
    """A model or data file is unusable; the message names the file, key and rule."""


@dataclass(frozen=True)
class Layer:
    """A float layer ``x @ W + b``: W (inputs, outputs), b (outputs,)."""
    W: np.ndarray
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
    [0, classes), and the held-out calibration inputs ``x_cal`` (M, inputs), all finite;
    a sample of images is flattened (``x.reshape(len(x), -1)``).

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
            raise ModelError(f"{path}: {key} must be shaped (N, {inputs}) to match the "
                             f"model's inputs, not {x.shape}")
    if y_test.shape != (len(x_test),) or y_test.dtype.kind not in "iu":
        raise ModelError(f"{path}: y_test must be integer labels shaped ({len(x_test)},), "
                         f"not {y_test.dtype} {y_test.shape}")
    if y_test.min() < 0 or y_test.max() >= classes:
        raise ModelError(f"{path}: y_test labels must lie in [0, {classes - 1}] (the "
                         f"model's outputs); found {y_test.min()}..{y_test.max()}")
    return x_test, y_test.astype(np.int64), x_cal


def check_range(network, x_test, x_cal, cfg, per_channel=False):
    """Check that float64 carries the :class:`~cimtile.flows.graph.Graph` `network` through
    the data: the float forward pass, the calibration of the quantizer and the quantized
    forward pass, as a run makes them.

    Raises
    ------
    ModelError
        If any of them overflows or yields a value that is not a number.
    """
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        try:
            network.float_forward(x_test)
            qnet = quantize_graph(network, x_cal, cfg, per_channel)
            qnet.forward(x_test, cfg, qnet.exact_mvm)
        except FloatingPointError as error:
            raise ModelError(f"the network's values exceed the float64 range ({error}); "
                             "scale the weights or the data down") from None


def float_forward(layers, x):
    """Float outputs of the last layer, and the activations entering every layer."""
    return mlp_graph(layers).float_forward(x)


def quantize(layers, x_cal, cfg):
    """Quantize `layers` for the tile of `cfg`, calibrating input scales on `x_cal`
    (:func:`cimtile.flows.quantizer.quantize_graph`)."""
    return quantize_graph(mlp_graph(layers), x_cal, cfg)


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


def quant_forward(qnet, x, cfg, layer_mvm):
    """Outputs of the quantized network `qnet` (from :func:`quantize` or
    :func:`cimtile.flows.quantizer.quantize_graph`), with the integer results of every
    layer (:meth:`cimtile.flows.quantizer.QuantGraph.forward`).

    Parameters
    ----------
    layer_mvm : callable ``(l, Xq) -> Y``
        The integer ``Xq @ Wq`` of layer l, however computed (numpy, golden model, tiles).
    """
    return qnet.forward(x, cfg, layer_mvm)


def accuracy(outputs, labels):
    """Fraction of rows whose largest output is the label."""
    return float(np.mean(np.argmax(outputs, axis=1) == labels))
