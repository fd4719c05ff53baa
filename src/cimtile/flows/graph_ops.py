"""The operations of an imported network, on numpy arrays (batch first, images NCHW).

Two of them run on tiles: :class:`Dense` and :class:`Conv`. Each presents a weight matrix
(``matrix``, inputs by outputs) and turns its input tensor into the rows a tile multiplies
(``patches``) and the tile results back into its output tensor (``assemble``). A convolution
is an im2col product: one row per output pixel, ``cin * kh * kw`` wide, so each output
pixel is one MVM. The other operations are digital and run on the host.
"""

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["Dense", "Conv", "Relu", "Clip", "MaxPool", "AveragePool", "GlobalAveragePool",
           "Flatten", "Reshape", "Add", "AddConstant", "Softmax", "windows"]


def windows(x, kernel, strides, pads, value=0.0):
    """The sliding windows of images `x` (N, C, H, W): an (N, C, OH, OW, kh, kw) view.

    `pads` are ONNX's ``(top, left, bottom, right)``; padded cells hold `value`.
    """
    top, left, bottom, right = pads
    x = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=value)
    view = sliding_window_view(x, tuple(kernel), axis=(2, 3))
    return view[:, :, ::strides[0], ::strides[1]]


@dataclass(frozen=True)
class Dense:
    """``x @ W + b`` on tiles: W (inputs, outputs), b (outputs,)."""
    W: np.ndarray
    b: np.ndarray

    @property
    def matrix(self):
        return self.W

    @property
    def bias_shapes(self):
        """The shapes of a constant that adds one value per output."""
        width = self.W.shape[1]
        return ((width,), (1, width))

    def describe(self):
        return f"dense {self.W.shape[0]}->{self.W.shape[1]}"

    def patches(self, x):
        if x.ndim != 2:
            raise ValueError(f"a dense layer takes (batch, features), not {x.ndim} "
                             "dimensions")
        return x

    def assemble(self, Y, x):
        return Y

    def with_bias(self, y):
        return y + self.b

    def scaled(self, scale, shift):
        """This layer followed by ``y * scale + shift`` per output (a folded normalisation)."""
        return Dense(self.W * scale, self.b * scale + shift)


@dataclass(frozen=True)
class Conv:
    """A 2-D convolution on tiles (groups 1, dilation 1): W (cout, cin, kh, kw), b (cout,),
    strides (sh, sw), pads (top, left, bottom, right)."""
    W: np.ndarray
    b: np.ndarray
    strides: tuple
    pads: tuple

    @property
    def matrix(self):
        return self.W.reshape(len(self.W), -1).T

    @property
    def bias_shapes(self):
        width = len(self.W)
        return ((width, 1, 1), (1, width, 1, 1))

    def describe(self):
        cout, cin, kh, kw = self.W.shape
        return f"conv {kh}x{kw}/{self.strides[0]} {cin}->{cout}"

    def patches(self, x):
        view = windows(x, self.W.shape[2:], self.strides, self.pads)
        n, c, oh, ow, kh, kw = view.shape
        return view.transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, c * kh * kw)

    def assemble(self, Y, x):
        kh, kw = self.W.shape[2:]
        (top, left, bottom, right), (sh, sw) = self.pads, self.strides
        oh = (x.shape[2] + top + bottom - kh) // sh + 1
        ow = (x.shape[3] + left + right - kw) // sw + 1
        return Y.reshape(len(x), oh, ow, -1).transpose(0, 3, 1, 2)

    def with_bias(self, y):
        return y + self.b[:, None, None]

    def scaled(self, scale, shift):
        return Conv(self.W * scale[:, None, None, None], self.b * scale + shift, self.strides,
                    self.pads)


class Relu:
    def __call__(self, x):
        return np.maximum(x, 0)


@dataclass(frozen=True)
class Clip:
    low: float
    high: float

    def __call__(self, x):
        return np.clip(x, self.low, self.high)


@dataclass(frozen=True)
class MaxPool:
    kernel: tuple
    strides: tuple
    pads: tuple

    def __call__(self, x):
        return windows(x, self.kernel, self.strides, self.pads, -np.inf).max(axis=(4, 5))


@dataclass(frozen=True)
class AveragePool:
    """Window means; with `count_include_pad` false, padded cells are not counted."""
    kernel: tuple
    strides: tuple
    pads: tuple
    count_include_pad: bool

    def __call__(self, x):
        total = windows(x, self.kernel, self.strides, self.pads).sum(axis=(4, 5))
        if self.count_include_pad or not any(self.pads):
            return total / (self.kernel[0] * self.kernel[1])
        ones = np.ones((1, 1) + x.shape[2:])
        return total / windows(ones, self.kernel, self.strides, self.pads).sum(axis=(4, 5))


class GlobalAveragePool:
    def __call__(self, x):
        return x.mean(axis=(2, 3), keepdims=True)


class Flatten:
    """ONNX Flatten at axis 1: the batch stays, the rest becomes one row."""
    def __call__(self, x):
        return x.reshape(len(x), -1)


@dataclass(frozen=True)
class Reshape:
    """To ``(N, *shape)``: the batch dimension stays; ``0`` copies a dimension, ``-1`` is
    inferred."""
    shape: tuple

    def __call__(self, x):
        shape = [x.shape[i + 1] if d == 0 else d for i, d in enumerate(self.shape)]
        return x.reshape(len(x), *shape)


class Add:
    """The sum of two tensors (a residual connection)."""
    def __call__(self, x, y):
        return x + y


@dataclass(frozen=True)
class AddConstant:
    """A constant added to every sample (a bias after MatMul)."""
    c: np.ndarray

    def __call__(self, x):
        return x + self.c


@dataclass(frozen=True)
class Softmax:
    axis: int

    def __call__(self, x):
        e = np.exp(x - x.max(axis=self.axis, keepdims=True))
        return e / e.sum(axis=self.axis, keepdims=True)
