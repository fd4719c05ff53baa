"""ONNX operators as :mod:`cimtile.flows.graph_ops` operations, one converter each.

A converter takes a :class:`Site`, the node with its attributes and constant inputs, and
returns the operation with the names of the tensors it reads, or raises
:class:`Unsupported` with what the node does that cimtile cannot map.
"""

from dataclasses import dataclass

import numpy as np

from .graph_ops import (Add, AddConstant, AveragePool, Clip, Conv, Dense, Flatten,
                        GlobalAveragePool, MaxPool, Relu, Reshape, Softmax)

__all__ = ["Unsupported", "Site", "CONVERTERS", "PASS_THROUGH", "FOLDED"]

#: Operators that only rename a tensor (a Cast must be to a floating-point type).
PASS_THROUGH = ("Identity", "Cast")
#: Operators folded into the layer before them, never operations of their own.
FOLDED = ("BatchNormalization",)


class Unsupported(Exception):
    """What a node asks for that cimtile cannot map (the importer names the node)."""


@dataclass(frozen=True)
class Site:
    """A node with its attributes (``{name: value}``), the constant value of each input
    (None for a tensor computed at run time, or an absent optional input) and the default
    domain's opset."""
    node: object
    attrs: dict
    consts: tuple
    opset: int

    def attr(self, name, default):
        return self.attrs.get(name, default)

    def dynamic(self):
        """The inputs computed at run time."""
        return tuple(name for name, c in zip(self.node.input, self.consts)
                     if name and c is None)

    def const(self, index, what):
        if index >= len(self.consts) or self.consts[index] is None:
            raise Unsupported(f"{what} (input {index}) must be a constant initializer")
        return self.consts[index].astype(np.float64)


def _one_input(site):
    dynamic = site.dynamic()
    if len(dynamic) != 1 or site.consts[0] is not None:
        raise Unsupported(f"needs one input computed at run time, the first; has "
                          f"{len(dynamic)}")
    return dynamic


def _window(site, two_d_kernel):
    """Strides and pads of a 2-D window after checking what cimtile does not do."""
    if len(two_d_kernel) != 2:
        raise Unsupported(f"only 2-D windows are supported, not a {len(two_d_kernel)}-D "
                          "kernel")
    auto_pad = site.attr("auto_pad", b"NOTSET")
    auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
    if auto_pad not in ("NOTSET", "VALID"):
        raise Unsupported(f"auto_pad {auto_pad} is not supported (give explicit pads)")
    if any(d != 1 for d in site.attr("dilations", [1, 1])):
        raise Unsupported(f"dilations {list(site.attr('dilations', []))} are not supported "
                          "(only 1)")
    if site.attr("ceil_mode", 0):
        raise Unsupported("ceil_mode 1 is not supported (only 0)")
    strides = tuple(site.attr("strides", [1, 1]))
    pads = tuple(site.attr("pads", [0, 0, 0, 0]))
    return strides, pads


def _conv(site):
    W = site.const(1, "the weight")
    if W.ndim != 4:
        raise Unsupported(f"only 2-D convolutions are supported, not weights shaped "
                          f"{W.shape}")
    if site.attr("group", 1) != 1:
        raise Unsupported(f"group {site.attr('group', 1)} is not supported (only 1)")
    strides, pads = _window(site, W.shape[2:])
    has_bias = len(site.consts) > 2 and site.node.input[2]
    b = site.const(2, "the bias") if has_bias else np.zeros(len(W))
    return Conv(W, b.reshape(len(W)), strides, pads), _one_input(site)


def _gemm(site):
    if site.attr("transA", 0):
        raise Unsupported("transA 1 is not supported (the samples are the rows of A)")
    B = site.const(1, "B, the weight")
    W = site.attr("alpha", 1.0) * (B.T if site.attr("transB", 0) else B)
    has_bias = len(site.consts) > 2 and site.node.input[2]
    C = site.attr("beta", 1.0) * site.const(2, "C, the bias") if has_bias else 0.0
    b = np.broadcast_to(C, (W.shape[1],)) if np.size(C) in (1, W.shape[1]) else None
    if b is None:
        raise Unsupported(f"the bias C shaped {np.shape(C)} is not one value per output")
    return Dense(W, np.array(b, np.float64)), _one_input(site)


def _matmul(site):
    W = site.const(1, "the second factor, the weight")
    if W.ndim != 2:
        raise Unsupported(f"the weight must be a matrix, not shaped {W.shape}")
    return Dense(W, np.zeros(W.shape[1])), _one_input(site)


def _add(site):
    dynamic = site.dynamic()
    if len(dynamic) == 2:
        return Add(), dynamic
    if len(dynamic) == 1:
        constant = next(c for c in site.consts if c is not None)
        return AddConstant(constant.astype(np.float64)), dynamic
    raise Unsupported("adds two constants")


def _clip(site):
    if site.opset < 11:
        low, high = site.attr("min", -np.inf), site.attr("max", np.inf)
    else:
        bounds = [site.const(i, "a bound") if i < len(site.consts) and site.node.input[i]
                  else None for i in (1, 2)]
        low = -np.inf if bounds[0] is None else float(bounds[0])
        high = np.inf if bounds[1] is None else float(bounds[1])
    return Clip(low, high), _one_input(site)


def _max_pool(site):
    if len(site.node.output) > 1 and site.node.output[1]:
        raise Unsupported("the Indices output is not supported")
    kernel = tuple(site.attr("kernel_shape", []))
    strides, pads = _window(site, kernel)
    return MaxPool(kernel, strides, pads), _one_input(site)


def _average_pool(site):
    kernel = tuple(site.attr("kernel_shape", []))
    strides, pads = _window(site, kernel)
    return (AveragePool(kernel, strides, pads, bool(site.attr("count_include_pad", 0))),
            _one_input(site))


def _flatten(site):
    if site.attr("axis", 1) != 1:
        raise Unsupported(f"axis {site.attr('axis', 1)} is not supported (only 1: the "
                          "batch stays)")
    return Flatten(), _one_input(site)


def _reshape(site):
    shape = site.const(1, "the shape").astype(np.int64)
    # The first dimension is the batch's, whatever the file says: exporters often write
    # the batch size they traced with.
    return Reshape(tuple(int(d) for d in shape[1:])), _one_input(site)


def _softmax(site):
    return Softmax(site.attr("axis", -1 if site.opset >= 13 else 1)), _one_input(site)


#: The converter of every operator that becomes an operation.
CONVERTERS = {
    "Gemm": _gemm,
    "MatMul": _matmul,
    "Add": _add,
    "Conv": _conv,
    "Relu": lambda site: (Relu(), _one_input(site)),
    "Clip": _clip,
    "MaxPool": _max_pool,
    "AveragePool": _average_pool,
    "GlobalAveragePool": lambda site: (GlobalAveragePool(), _one_input(site)),
    "Flatten": _flatten,
    "Reshape": _reshape,
    "Softmax": _softmax,
}
