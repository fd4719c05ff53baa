"""Behavioural model of the memristive crossbar: programmed cells and column signals."""

import math

import numpy as np

from .conductance import (apply_faults, drift, drift_exponents, fault_map, level_conductances,
                          level_step, programming_variation)
from .wires import transfer_matrix

__all__ = ["Crossbar"]


def _exact_float(bound):
    """The cheaper float type in which sums of integers up to `bound` are exact."""
    if bound < 2 ** 24:
        return np.float32
    if bound < 2 ** 53:
        return np.float64
    raise ValueError(f"column counts up to {bound} cannot be summed exactly in float64")


# Finest grid a physical matrix is rounded to, in level counts: far below any effect.
_FINEST_GRID_BITS = 32


def _on_exact_grid(M, terms):
    """`M` rounded to the coarser of 2**-32 and the finest power-of-two grid on which any sum
    of up to `terms` entries is exact in float64.

    Wordline drive is 0 or 1, so a column signal is a sum of matrix entries; on such a grid
    BLAS returns the same value whatever order it adds them in, and a batch of planes gives
    bit for bit the signals of the same planes sent one at a time.
    """
    bound = terms * float(np.max(np.abs(M), initial=0.0))
    bits = _FINEST_GRID_BITS if bound == 0 else min(_FINEST_GRID_BITS,
                                                     52 - math.ceil(math.log2(bound)))
    on_grid = np.ldexp(np.round(np.ldexp(M, bits)), -bits)
    on_grid.flags.writeable = False
    return on_grid


class Crossbar:
    """A programmed crossbar and the column signals that bit planes produce.

    Column signals are in units of one level count: the current of one cell one level above
    g_min at v_read. In the physical model a reference current of ``n * g_min * v_read`` is
    subtracted from every column, n being the number of driven rows, as a column of g_min cells
    on the same wordlines would supply; what remains goes to the ADC.

    Parameters
    ----------
    cfg : Config
    levels : array of integers in [0, max_level], shaped (rows, cols_phys)
        Programmed cell levels, e.g. from :func:`cimtile.spec.mapping.weight_levels`.
    rng : numpy.random.Generator
        The ideal model draws nothing from it. The physical model spawns one child generator
        per concern, in this order: programming variation, stuck-at faults, reads (drift
        exponents, then read noise). Draws made per read have size
        ``planes.shape[:-1] + (cols_phys,)`` in C order, so one call on a batch of planes
        consumes the stream exactly as the same planes sent one by one.

    Members
    -------
    levels : numpy.ndarray or None
        Read-only int64 copy of the programmed levels (None from :meth:`from_conductances`).
    conductances : numpy.ndarray or None
        Read-only programmed conductances, uS, before drift (None in the ideal model built
        from levels).
    faults : numpy.ndarray or None
        The stuck-at fault map drawn when programming levels in the physical model: 0 healthy,
        1 stuck at g_min, 2 stuck at g_max.
    transfer : numpy.ndarray or None
        Read-only effective conductances read by the columns, uS, after drift and IR drop
        (see :func:`cimtile.behavioral.wires.transfer_matrix`); None in the ideal model built
        from levels.
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
        self.faults = None
        self._product = None
        if not cfg.analog.physical:
            self.conductances = self.transfer = None
            # A column count is at most rows * max_level; below the float mantissa every
            # product and partial sum is an exact integer, whatever order BLAS adds them in.
            self._matrix = levels.astype(_exact_float(rows * cfg.max_level))
            self._noise = None
            return
        variation_rng, fault_rng, read_rng = rng.spawn(3)
        G = programming_variation(cfg, level_conductances(cfg, self.levels), variation_rng)
        self.faults = fault_map(cfg, fault_rng)
        self.faults.flags.writeable = False
        self._program(apply_faults(cfg, G, self.faults), read_rng)

    @classmethod
    def from_conductances(cls, cfg, G, rng):
        """A crossbar whose cells hold conductances `G`, e.g. as a write-verify step left them.

        Programming variation and faults are taken to be part of `G` already; the physical
        model still applies drift, IR drop and read noise. The ideal model reads `G` linearly
        (column signal ``sum_r v_r (G[r, c] - g_min) / level_step``), without any effect.

        Parameters
        ----------
        cfg : Config
        G : array of non-negative finite numbers, shaped (rows, cols_phys)
            Cell conductances, uS.
        rng : numpy.random.Generator
            Used as by the constructor: its third spawned child drives the reads, so a copy
            of a crossbar made from its :attr:`conductances` and an equally seeded generator
            reads exactly as the original.

        Raises
        ------
        ValueError
            If `G` has the wrong shape, or a value that is negative or not finite.
        """
        G = np.array(G, np.float64)
        rows, cols_phys = cfg.tile.rows, cfg.cols_phys
        if G.shape != (rows, cols_phys):
            raise ValueError(f"conductances: shape must be (rows={rows}, "
                             f"cols_phys={cols_phys}), not {G.shape}")
        if not np.isfinite(G).all() or G.min() < 0:
            raise ValueError("conductances: must be finite and non-negative (uS)")
        self = cls.__new__(cls)
        self.cfg = cfg
        self.rng = rng
        self.levels = self.faults = None
        self._product = None
        self._program(G, rng.spawn(3)[2])
        return self

    def _program(self, G, read_rng):
        cfg, a = self.cfg, self.cfg.analog
        self.conductances = G
        self.conductances.flags.writeable = False
        physical = a.physical
        drift_rng, self._noise_rng = read_rng.spawn(2)
        if physical and a.drift_time > 0:
            G = drift(cfg, G, drift_exponents(cfg, G.shape, drift_rng))
        self.transfer = transfer_matrix(G, a.r_wl, a.r_bl) if physical else G
        step = level_step(cfg)
        rows = cfg.tile.rows
        self._matrix = _on_exact_grid((self.transfer - a.g_min) / step, rows)
        # A cell's read noise has sigma read_noise * G; summed over the driven rows of a
        # column the variances add, so each column draws one normal number per read.
        self._noise = (_on_exact_grid((a.read_noise * G / step) ** 2, rows)
                       if physical and a.read_noise > 0 else None)

    def _flat(self, planes):
        planes = np.asarray(planes)
        rows = self.cfg.tile.rows
        if planes.shape[-1:] != (rows,):
            raise ValueError(f"planes: last axis must have rows={rows} entries, "
                             f"not shape {planes.shape}")
        shape = planes.shape[:-1] + (self.cfg.cols_phys,)
        # One 2-D product: a stacked matmul would call BLAS once per (in_bits, rows) block.
        return planes.reshape(-1, rows).astype(self._matrix.dtype, copy=False), shape

    def _mean_product(self, flat):
        # Reused between calls of one size: fresh pages for every batch cost more than the
        # product itself.
        if self._product is None or self._product.shape[0] != len(flat):
            self._product = np.empty((len(flat), self.cfg.cols_phys), self._matrix.dtype)
        return np.matmul(flat, self._matrix, out=self._product)

    def expected_counts(self, planes):
        """Column signals without read noise (draws nothing), e.g. to calibrate the ADC.

        Returns
        -------
        numpy.ndarray
            float64, shaped ``planes.shape[:-1] + (cols_phys,)``.
        """
        flat, shape = self._flat(planes)
        return self._mean_product(flat).astype(np.float64).reshape(shape)

    def column_counts(self, planes, out=None):
        """Column signals for bit planes, in units of one level count.

        Parameters
        ----------
        planes : array of zeros and ones, shaped (..., rows)
            Any numeric dtype; float32 planes skip a conversion in the ideal model.
        out : float64 array shaped (..., cols_phys), optional

        Returns
        -------
        numpy.ndarray
            float64, shaped (..., cols_phys); in the ideal model exactly ``planes @ levels``.
        """
        flat, shape = self._flat(planes)
        product = self._mean_product(flat)
        if out is None:
            out = np.empty(shape, np.float64)
        np.copyto(out, product.reshape(shape))
        if self._noise is not None:
            sigma = np.sqrt(flat @ self._noise).reshape(shape)
            sigma *= self._noise_rng.standard_normal(shape)
            out += sigma
        return out
