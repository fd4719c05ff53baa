"""The chip's integer post-processing, as the golden model computes it.

Between one layer's tiles and the next layer sits integer arithmetic (IBM's local digital
processing unit, ISAAC's and PUMA's vector units): the partial sums of a layer's row
blocks are added, each output is scaled by an integer multiplier and a shift, biased,
passed through ReLU and requantised to the next layer's input bits. Every step is defined
here exactly, saturation and rounding included, so the RTL
(:class:`cimtile.hdl.post_process.PostProcess`) can be compared with it bit for bit.
"""

from dataclasses import dataclass

import numpy as np

__all__ = ["PostProcessing", "saturate", "post_process"]


@dataclass(frozen=True)
class PostProcessing:
    """One layer's post-processing settings.

    Members
    -------
    mult : sequence of int
        Each output's signed multiplier.
    bias : sequence of int
        Each output's signed bias, in units of the product (before the shift).
    shift : int
        Right shift after the product and bias, rounding half up.
    relu : bool
        Negative results become 0.
    """
    mult: tuple
    bias: tuple
    shift: int
    relu: bool


def saturate(values, bits):
    """`values` clipped to the signed range of `bits` bits."""
    return np.clip(values, -(1 << (bits - 1)), (1 << (bits - 1)) - 1)


def post_process(partials, settings, *, acc_bits, out_bits):
    """The next layer's inputs from a layer's partial sums.

    Parameters
    ----------
    partials : integer array (blocks, n, outputs)
        Each row block's results, in the order the blocks are added.
    settings : PostProcessing
    acc_bits, out_bits : int
        Signed widths of the accumulator (each addition saturates to it) and of the result.

    Returns
    -------
    numpy.ndarray
        int64, shaped (n, outputs): ``saturate(relu((acc * mult + bias + r) >> shift))``
        with ``r`` half the shift's unit (0 for no shift) and ``>>`` the floor.
    """
    partials = np.asarray(partials, np.int64)
    acc = saturate(partials[0], acc_bits)
    for block in partials[1:]:
        acc = saturate(acc + block, acc_bits)
    mult = np.asarray(settings.mult, np.int64)
    bias = np.asarray(settings.bias, np.int64)
    rounding = (1 << settings.shift) >> 1
    y = (acc * mult + bias + rounding) >> settings.shift
    if settings.relu:
        y = np.maximum(y, 0)
    return saturate(y, out_bits)
