"""The analog macro behind the tile's analog port: a crossbar read out by ADCs."""

import numpy as np

from cimtile.spec.mapping import weight_levels

from .adc import Adc
from .crossbar import Crossbar

__all__ = ["AnalogMacro"]


class AnalogMacro:
    """Answers sample requests of the analog port with the ADC codes of every physical column.

    The co-simulation sends one bit plane per request; the golden model sends all planes of
    many vectors at once. Both must see the same codes for the same seed, so each model owns a
    child generator spawned from `rng` (crossbar first, then ADC): their draws never interleave,
    and a batched call consumes each stream exactly like the sequence of single-plane calls.

    Parameters
    ----------
    cfg : Config
    levels : array of integers in [0, max_level], shaped (rows, cols_phys)
    rng : numpy.random.Generator

    Members
    -------
    crossbar : Crossbar
    adc : Adc
    """

    def __init__(self, cfg, levels, rng):
        crossbar_rng, adc_rng = rng.spawn(2)
        self._join(Crossbar(cfg, levels, crossbar_rng), Adc(cfg, adc_rng))

    def _join(self, crossbar, adc):
        self.crossbar = crossbar
        self.adc = adc
        self._counts = None

    @classmethod
    def from_weights(cls, cfg, W, rng):
        """A macro programmed with weights `W` (see :func:`cimtile.spec.mapping.weight_levels`)."""
        return cls(cfg, weight_levels(W, cfg), rng)

    @classmethod
    def from_conductances(cls, cfg, G, rng):
        """A macro whose cells hold conductances `G` (uS, shaped (rows, cols_phys)), e.g. as
        programmed by write-verify (see :meth:`Crossbar.from_conductances`)."""
        crossbar_rng, adc_rng = rng.spawn(2)
        macro = cls.__new__(cls)
        macro._join(Crossbar.from_conductances(cfg, G, crossbar_rng), Adc(cfg, adc_rng))
        return macro

    @classmethod
    def for_array(cls, cfg, W, rng, conductances=None):
        """The macro of an array holding weights `W`: their levels, or, when given, the
        conductances (uS) that programming them by write-verify left in the cells."""
        if conductances is None:
            return cls.from_weights(cfg, W, rng)
        return cls.from_conductances(cfg, conductances, rng)

    def sample(self, planes, out=None, adc_shift=None):
        """ADC codes for bit planes.

        Parameters
        ----------
        planes : array of zeros and ones, shaped (..., rows)
            Wordline drive: (rows,) for one request, (N, in_bits, rows) for a batch.
        out : int64 array shaped (..., cols_phys), optional
        adc_shift : int, optional
            Run-time ADC range select (default: the configured one).

        Returns
        -------
        numpy.ndarray
            int64 codes in [0, max_code], shaped (..., cols_phys).
        """
        shape = np.shape(planes)[:-1] + (self.crossbar.cfg.cols_phys,)
        # Reused between calls of one shape, as in Crossbar.
        if self._counts is None or self._counts.shape != shape:
            self._counts = np.empty(shape, np.float64)
        counts = self.crossbar.column_counts(planes, out=self._counts)
        return self.adc.convert(counts, out=out, adc_shift=adc_shift)
