"""Behavioural model of the column ADCs."""

import numpy as np

__all__ = ["Adc"]


class Adc:
    """Converts column signals to codes: round half up in steps of 2**adc_shift, then clip.

    Parameters
    ----------
    cfg : Config
    rng : numpy.random.Generator
        Reserved for physical effects (as for :class:`Crossbar`); the ideal model draws nothing.
    """

    def __init__(self, cfg, rng):
        self.cfg = cfg
        self.rng = rng
        # Multiplying by a power of two is exact, unlike a general division.
        self._step = 2.0 ** -cfg.tile.adc_shift
        self._scaled = None

    def convert(self, counts, out=None):
        """Codes ``clip(floor(counts / 2**adc_shift + 1/2), 0, max_code)``.

        Exact for integer-valued counts below 2**52, so for every ideal column count.

        Parameters
        ----------
        counts : float array
        out : int64 array of the same shape, optional

        Returns
        -------
        numpy.ndarray
            int64, same shape as `counts`.
        """
        counts = np.asarray(counts)
        # Reused between calls of one shape, as in Crossbar.
        if self._scaled is None or self._scaled.shape != counts.shape:
            self._scaled = np.empty(counts.shape, np.float64)
        scaled = np.multiply(counts, self._step, out=self._scaled)
        scaled += 0.5
        # Clipping to the integer bounds before flooring gives the same codes; once values are
        # non-negative, the truncating cast to integers is the floor.
        np.clip(scaled, 0, self.cfg.max_code, out=scaled)
        if out is None:
            out = np.empty(counts.shape, np.int64)
        np.copyto(out, scaled, casting="unsafe")
        return out
