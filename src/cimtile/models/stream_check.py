"""The checks of a run whose inputs are read once: expectations made as each chunk of inputs
is read and answered, results compared as they arrive.

A streamed co-simulation reads each chunk of its input file once: the same chunk gives the
tile its input beats, the analog queue its answers (the macro sampled once per plane), and
this check its expectations. The golden result of a vector is the shift-and-add of the very
codes the analog queue hands the tile, which is what :func:`cimtile.models.golden.golden_mvm`
computes from the same macro in the same order (the RTL checks at every sample that its
wordlines are the ones each answer assumed). The error against the exact product
``X @ W`` and the rows each plane drove (for the energy) are counted on the way.
"""

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from cimtile.spec.mapping import shift_add

from .golden import GOLDEN
from .verdict import Verdict, combine, compare

__all__ = ["ErrorSums", "ExactProduct", "StreamCheck"]


@dataclass
class ErrorSums:
    """Running sums of the error of results against the exact product, exact in any chunking
    (integer squares add exactly in float64 below 2**53)."""
    squares: float = 0.0
    count: int = 0
    worst: int = 0
    lowest: int | None = None
    highest: int | None = None

    def add(self, Y, exact):
        """Count results `Y` against their exact values `exact` (equal shapes)."""
        if not np.size(exact):
            return
        error = np.asarray(Y, np.int64) - exact
        self.squares += float(np.square(error, dtype=np.float64).sum())
        self.count += error.size
        self.worst = max(self.worst, int(np.abs(error).max()))
        low, high = int(exact.min()), int(exact.max())
        self.lowest = low if self.lowest is None else min(self.lowest, low)
        self.highest = high if self.highest is None else max(self.highest, high)

    def metrics(self):
        """``rms_error``, ``max_abs_error`` and ``normalized_rms_error`` (the RMS error over
        the range of the exact results, or over 1 when they are all equal)."""
        rms = float(np.sqrt(self.squares / self.count)) if self.count else 0.0
        spread = (self.highest - self.lowest) if self.count else 0
        return {"rms_error": rms, "max_abs_error": self.worst,
                "normalized_rms_error": rms / (spread or 1)}


class ExactProduct:
    """``x @ W`` exactly, for integer inputs `x` against one integer `W` (rows, cols): in
    floating point (BLAS) while every partial sum is an integer below 2**53, else in
    integers (numpy's integer product is far slower)."""

    def __init__(self, W):
        self.W = np.asarray(W, np.int64)
        self._W_float = self.W.astype(np.float64)
        self._W_max = int(np.abs(self.W).max(initial=0))

    def __call__(self, x):
        x = np.asarray(x, np.int64)
        if len(self.W) * int(np.abs(x).max(initial=0)) * self._W_max < 2 ** 53:
            return (x.astype(np.float64) @ self._W_float).astype(np.int64)
        return x @ self.W


@dataclass
class StreamCheck:
    """Expectations of a streamed batch, taken in input order, and the checks of its results.

    Parameters
    ----------
    cfg : Config
        At the run-time settings of the batch (``in_bits``, ``adc_shift``).
    W : integer array (rows, cols)
    remap : array (cols_data,), optional
        The column remap table the tile holds.

    Members
    -------
    verdict : Verdict
        The results so far against the golden model.
    errors : ErrorSums
    driven : numpy.ndarray
        Per row, the planes that drove it.
    """
    cfg: object
    W: np.ndarray
    remap: object = None
    verdict: Verdict = Verdict(GOLDEN, 0, 0)
    errors: ErrorSums = field(default_factory=ErrorSums)
    checked: int = 0
    driven: np.ndarray = None
    _pending: deque = field(default_factory=deque)

    def __post_init__(self):
        self.W = np.asarray(self.W, np.int64)
        self._product = ExactProduct(self.W)
        self.driven = np.zeros(self.cfg.tile.rows, np.int64)

    def expect(self, x, planes, codes):
        """Take the next chunk of inputs `x` (n, rows), its bit planes (n, in_bits, rows)
        and the codes the analog model answered for them (n, in_bits, cols_phys)."""
        self.driven += planes.reshape(-1, self.cfg.tile.rows).sum(axis=0, dtype=np.int64)
        golden = shift_add(codes, self.cfg, remap=self.remap)
        self._pending.append((golden, self._product(x)))

    def take(self, Y):
        """Check the next results `Y` (in order) against their expectations."""
        while len(Y):
            golden, exact = self._pending[0]
            n = min(len(Y), len(golden))
            y, Y = Y[:n], Y[n:]
            self._compare(y, golden[:n], exact[:n])
            if n == len(golden):
                self._pending.popleft()
            else:
                self._pending[0] = (golden[n:], exact[n:])

    def _compare(self, y, golden, exact):
        chunk = compare(GOLDEN, y, golden, start=self.checked)
        self.verdict = combine([self.verdict, chunk])
        self.errors.add(y, exact)
        self.checked += len(y)
