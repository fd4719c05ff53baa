"""Behavioural model of the memristive crossbar: programmed cell levels and column signals."""

import numpy as np

__all__ = ["Crossbar"]


def _exact_float(bound):
    """The cheaper float type in which sums of integers up to `bound` are exact."""
    if bound < 2 ** 24:
        return np.float32
    if bound < 2 ** 53:
        return np.float64
    raise ValueError(f"column counts up to {bound} cannot be summed exactly in float64")


class Crossbar:
    """Cell levels of a programmed crossbar and the column signals that bit planes produce.

    Parameters
    ----------
    cfg : Config
    levels : array of integers in [0, max_level], shaped (rows, cols_phys)
        Programmed cell levels, e.g. from :func:`cimtile.mapping.weight_levels`.
    rng : numpy.random.Generator
        Reserved for physical effects; the ideal model draws nothing from it. Models that do
        draw use ``size=planes.shape[:-1] + (...)`` in C order, so one call on a batch of planes
        consumes the stream exactly as the same planes sent one by one.

    Members
    -------
    levels : numpy.ndarray
        Read-only int64 copy of the programmed levels.
    """

    def __init__(self, cfg, levels, rng):
        levels = np.asarray(levels)
        rows, cols_phys = cfg.tile.rows, cfg.cols_phys
        if levels.shape != (rows, cols_phys):
            raise ValueError(f"levels: shape must be (rows={rows}, cols_phys={cols_phys}), "
                             f"not {levels.shape}")
        if (not np.issubdtype(levels.dtype, np.integer)
                or levels.min() < 0 or levels.max() > cfg.max_level):
            raise ValueError(f"levels: must be integers in [0, {cfg.max_level}]")
        self.cfg = cfg
        self.rng = rng
        self.levels = levels.astype(np.int64)
        self.levels.flags.writeable = False
        # A column count is at most rows * max_level; below the float mantissa every product
        # and partial sum is an exact integer, whatever order BLAS adds them in.
        self._matrix = levels.astype(_exact_float(rows * cfg.max_level))
        self._product = None

    def column_counts(self, planes, out=None):
        """Column signals for bit planes, in units of one level-count.

        Parameters
        ----------
        planes : array of zeros and ones, shaped (..., rows)
            Any numeric dtype; float32 planes skip a conversion.
        out : float64 array shaped (..., cols_phys), optional

        Returns
        -------
        numpy.ndarray
            float64, shaped (..., cols_phys); in the ideal model exactly ``planes @ levels``.
        """
        planes = np.asarray(planes)
        rows = self.cfg.tile.rows
        if planes.shape[-1:] != (rows,):
            raise ValueError(f"planes: last axis must have rows={rows} entries, "
                             f"not shape {planes.shape}")
        shape = planes.shape[:-1] + (self.cfg.cols_phys,)
        # One 2-D product: a stacked matmul would call BLAS once per (in_bits, rows) block.
        flat = planes.reshape(-1, rows).astype(self._matrix.dtype, copy=False)
        # Reused between calls of one size: fresh pages for every batch cost more than the
        # product itself.
        if self._product is None or self._product.shape[0] != len(flat):
            self._product = np.empty((len(flat), self.cfg.cols_phys), self._matrix.dtype)
        np.matmul(flat, self._matrix, out=self._product)
        if out is None:
            out = np.empty(shape, np.float64)
        np.copyto(out, self._product.reshape(shape))
        return out
