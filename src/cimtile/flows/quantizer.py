"""Symmetric quantization of a network's layers for tiles, calibrated on held-out data.

Per layer l (no zero point):

- weights: ``w_scale = max|W| / (2**(w_bits-1) - 1)``, ``Wq = round(W / w_scale)``; with
  per-channel scales, one ``w_scale`` per output (column of the layer's matrix), each from
  that column's largest magnitude;
- inputs: ``x_scale = clip / (2**(in_bits-1) - 1)``, ``Xq = clip(round(x / x_scale))`` to the
  tile's input range. ``clip`` is calibrated on a held-out set (never the test set): of the
  candidates ``percentile(|x|, q)`` for q in :data:`CLIP_PERCENTILES`, the one whose
  quantized values are closest to the float ones (mean squared error), with x the float
  network's tensor entering the layer;
- the tiles compute the integer ``patches(Xq) @ Wq`` (for a convolution, one row per output
  pixel); the digital side scales it back, ``y = (Xq @ Wq) * x_scale * w_scale + b``, and
  runs the graph's digital operations on the result in float.
"""

from dataclasses import dataclass

import numpy as np

__all__ = ["CLIP_PERCENTILES", "QuantLayer", "QuantGraph", "quantize_inputs",
           "calibrated_scale", "quantize_graph"]

#: Percentiles of |activation| tried as the clip value of each layer's input quantizer.
CLIP_PERCENTILES = (99.0, 99.5, 99.9, 99.99, 100.0)


@dataclass(frozen=True)
class QuantLayer:
    """A layer quantized for tiles: the integer matrix ``Wq`` (inputs, outputs), its scale
    (a float, or one per output), the input scale and the float layer `op` (bias, shape)."""
    Wq: np.ndarray
    w_scale: object
    x_scale: float
    op: object


def quantize_inputs(x, x_scale, in_bits):
    """``clip(round(x / x_scale))`` to signed `in_bits` integers."""
    half = 2 ** (in_bits - 1)
    return np.clip(np.round(x / x_scale), -half, half - 1).astype(np.int64)


def calibrated_scale(x, in_bits):
    """The input scale of the best clip value for the tensor `x` (module docstring)."""
    top = 2 ** (in_bits - 1) - 1
    magnitude = np.abs(x).reshape(-1)
    best = None
    for clip in np.percentile(magnitude, CLIP_PERCENTILES):
        scale = max(float(clip), np.finfo(float).tiny) / top
        error = np.mean((quantize_inputs(x, scale, in_bits) * scale - x) ** 2)
        if best is None or error < best[0]:
            best = (error, scale)
    return best[1]


def _weights(matrix, w_bits, per_channel):
    w_top = 2 ** (w_bits - 1) - 1
    magnitude = np.abs(matrix).max(axis=0) if per_channel else np.abs(matrix).max()
    w_scale = np.maximum(magnitude, np.finfo(float).tiny) / w_top
    Wq = np.clip(np.round(matrix / w_scale), -w_top, w_top).astype(np.int64)
    return Wq, (w_scale if per_channel else float(w_scale))


class QuantGraph:
    """A graph with its layers quantized: a sequence of :class:`QuantLayer` (one per tile
    layer, in order) that runs with :meth:`forward`."""

    def __init__(self, graph, qlayers):
        self.graph = graph
        self.qlayers = list(qlayers)

    def __len__(self):
        return len(self.qlayers)

    def __getitem__(self, l):
        return self.qlayers[l]

    def __iter__(self):
        return iter(self.qlayers)

    def forward(self, x, cfg, layer_mvm):
        """Outputs of the quantized network, with the integer results of every layer.

        Parameters
        ----------
        layer_mvm : callable ``(l, Xq) -> Y``
            The integer ``Xq @ Wq`` of layer l, however computed (numpy, golden model,
            tiles); Xq holds one row per MVM (per sample, or per output pixel).

        Returns
        -------
        (ndarray (N, outputs), list of int ndarrays)
        """
        integers = []

        def layer(l, op, tensor):
            q = self.qlayers[l]
            Xq = op.patches(quantize_inputs(tensor, q.x_scale, cfg.tile.in_bits))
            Y = layer_mvm(l, Xq)
            integers.append(Y)
            return op.with_bias(op.assemble(Y * (q.x_scale * q.w_scale), tensor))
        return self.graph.run(x, layer), integers

    def exact_mvm(self, l, Xq):
        """The exact integer ``Xq @ Wq`` of layer l."""
        return Xq @ self.qlayers[l].Wq


def quantize_graph(graph, x_cal, cfg, per_channel=False):
    """Quantize the layers of `graph` for the tile of `cfg`, calibrating input scales on
    `x_cal`; `per_channel` gives every output of a layer its own weight scale."""
    _, inputs = graph.float_forward(x_cal)
    qlayers = []
    for op, x in zip(graph.layers, inputs):
        Wq, w_scale = _weights(op.matrix, cfg.tile.w_bits, per_channel)
        qlayers.append(QuantLayer(Wq, w_scale, calibrated_scale(x, cfg.tile.in_bits), op))
    return QuantGraph(graph, qlayers)
