"""Behavioural model of the column ADCs and their read-out chain."""

import numpy as np

from .conductance import unit_current

__all__ = ["Adc", "matched_full_scale", "calibrate_full_scale"]


def matched_full_scale(cfg, adc_shift=None):
    """Full-scale current (uA) at which one ADC LSB is 2**adc_shift level counts, the value the
    digital shift-and-add assumes: 2**(adc_bits + adc_shift) level counts at v_read."""
    shift = cfg.at(adc_shift=adc_shift).tile.adc_shift
    return 2.0 ** (cfg.tile.adc_bits + shift) * unit_current(cfg)


def calibrate_full_scale(cfg, counts, quantile=0.999):
    """Read-out range for expected column signals.

    Picks the smallest adc_shift (0..16) whose matched full scale brings the `quantile` of
    `counts` below the top code's transition, so that at most a fraction 1 - `quantile` of the
    conversions clip while the LSB stays as fine as it can.

    Parameters
    ----------
    cfg : Config
    counts : array of numbers
        Expected column signals in level counts, e.g. from
        :meth:`~cimtile.behavioral.Crossbar.expected_counts` on representative bit planes.
    quantile : float in (0, 1]

    Returns
    -------
    (int, float)
        ``adc_shift`` and the matched ``analog.adc_full_scale`` in uA.

    Raises
    ------
    ValueError
        If `quantile` is outside (0, 1] or no adc_shift up to 16 covers the signals.
    """
    if not 0 < quantile <= 1:
        raise ValueError(f"quantile must lie in (0, 1], not {quantile!r}")
    level = float(np.quantile(np.asarray(counts, np.float64), quantile))
    for shift in range(17):
        if level < (cfg.max_code + 0.5) * 2 ** shift:
            return shift, matched_full_scale(cfg, shift)
    raise ValueError(f"column signals up to {level:g} level counts exceed every ADC range "
                     f"of {cfg.tile.adc_bits} bits with adc_shift up to 16")


class Adc:
    """Converts column signals to codes, one ADC per ``cols_per_adc`` physical columns.

    Ideal model: round half up in steps of 2**adc_shift level counts, then clip. Physical model
    (all figures in LSB of the ADC): the input ``x = counts * LSB`` (from the full-scale
    current) is multiplied by ``1 + adc_gain_error``, shifted by ``adc_offset`` and gets fresh
    normal noise of sigma ``adc_noise`` on every conversion; a successive-approximation search
    then compares it against the ADC's own DAC levels minus half an LSB (so a perfect DAC
    rounds half up), plus the ``adc_inl`` error of the transition tried. Each ADC's DAC is a
    binary-weighted capacitor array whose unit capacitor has relative mismatch
    ``adc_cap_mismatch``, drawn once per ADC instance: that gives its static INL and DNL.

    Parameters
    ----------
    cfg : Config
    rng : numpy.random.Generator
        The ideal model draws nothing. The physical model spawns two children: the first
        draws the capacitor mismatch of ADC 0, 1, ... (shape (n_adcs, adc_bits + 1)), the
        second the noise of each conversion (size of the converted array, C order).

    Members
    -------
    dac_levels : numpy.ndarray or None
        Read-only (n_adcs, adc_bits) weight of each DAC bit in LSB (None for a perfect DAC).
    full_scale : float or None
        Full-scale input current in uA (physical model).
    """

    def __init__(self, cfg, rng):
        self.cfg = cfg
        self.rng = rng
        self.dac_levels = None
        self.full_scale = None
        self._scaled = None
        a = cfg.analog
        bits = cfg.tile.adc_bits
        # Multiplying by a power of two is exact, unlike a general division.
        self._step = 2.0 ** -cfg.tile.adc_shift
        self._inl = None
        self._sar = False
        if not a.physical:
            return
        mismatch_rng, self._noise_rng = rng.spawn(2)
        self.full_scale = a.adc_full_scale or matched_full_scale(cfg)
        if a.adc_full_scale:
            self._step = unit_current(cfg) * 2 ** bits / a.adc_full_scale
        if a.adc_cap_mismatch > 0:
            units = 2.0 ** np.arange(bits)
            z = mismatch_rng.standard_normal((cfg.n_adcs, bits + 1))
            caps = np.maximum(units + a.adc_cap_mismatch * np.sqrt(units) * z[:, :bits], 0)
            dummy = np.maximum(1 + a.adc_cap_mismatch * z[:, bits:], 0)
            # Charge sharing: a bit moves the DAC by its share of the whole array.
            self.dac_levels = caps * (2 ** bits / (caps.sum(axis=1, keepdims=True) + dummy))
            self.dac_levels.flags.writeable = False
        if a.adc_inl:
            self._inl = np.concatenate([[0.0], a.adc_inl])
        self._sar = self.dac_levels is not None or self._inl is not None
        if self._sar:
            adc_of_column = np.arange(cfg.cols_phys) // cfg.tile.cols_per_adc
            levels = (self.dac_levels if self.dac_levels is not None
                      else np.broadcast_to(2.0 ** np.arange(bits), (cfg.n_adcs, bits)))
            # Bit i's level for every physical column, MSB first.
            self._column_levels = np.ascontiguousarray(levels[adc_of_column].T[::-1])
            self._column_thresholds = self._column_levels - 0.5

    def thresholds(self, adc=0):
        """Input (LSB) at which ADC `adc` moves to each code 1 .. max_code, when its
        transitions are monotonic (a successive-approximation ADC need not be).

        Returns
        -------
        numpy.ndarray
            float64, shaped (max_code,).
        """
        bits = self.cfg.tile.adc_bits
        codes = np.arange(1, 2 ** bits)
        weights = (self.dac_levels[adc] if self.dac_levels is not None
                   else 2.0 ** np.arange(bits))
        levels = ((codes[:, None] >> np.arange(bits)) & 1) @ weights
        return levels - 0.5 + (self._inl[1:] if self._inl is not None else 0)

    def _successive_approximation(self, x, out):
        # MSB first, the residual input is compared against the bit's level less half an LSB;
        # an accepted bit is subtracted. Plain ufuncs on whole arrays: masked ones (where=)
        # run ten times slower.
        if out is None:
            out = np.empty(x.shape, np.int64)
        out[...] = 0
        keep = np.empty(x.shape, bool)
        taken = np.empty(x.shape)
        for i, (level, threshold) in enumerate(zip(self._column_levels,
                                                   self._column_thresholds)):
            if self._inl is None:
                np.greater_equal(x, threshold, out=keep)
            else:
                trial = ((out << 1) | 1) << (len(self._column_levels) - 1 - i)
                np.greater_equal(x, threshold + self._inl[trial], out=keep)
            np.multiply(keep, level, out=taken)
            x -= taken
            out <<= 1
            out += keep
        return out

    def convert(self, counts, out=None, adc_shift=None):
        """Codes for column signals (level counts).

        Ideal model: ``clip(floor(counts / 2**adc_shift + 1/2), 0, max_code)``, exact for
        integer-valued counts below 2**52, so for every ideal column count.

        Parameters
        ----------
        counts : float array, shaped (..., cols_phys) in the physical model
        out : int64 array of the same shape, optional
        adc_shift : int, optional
            The run-time range select of the tile (default ``cfg.tile.adc_shift``). Each step
            away from the configured value doubles or halves the read-out gain, as a
            binary-weighted range switch would; the errors in LSB stay those of the ADC.

        Returns
        -------
        numpy.ndarray
            int64, same shape as `counts`.
        """
        counts = np.asarray(counts)
        # Reused between calls of one shape, as in Crossbar.
        if self._scaled is None or self._scaled.shape != counts.shape:
            self._scaled = np.empty(counts.shape, np.float64)
        step = self._step
        if adc_shift is not None and adc_shift != self.cfg.tile.adc_shift:
            step = step * 2.0 ** (self.cfg.tile.adc_shift - adc_shift)
        scaled = np.multiply(counts, step, out=self._scaled)
        a = self.cfg.analog
        if a.physical:
            if a.adc_gain_error:
                scaled *= 1 + a.adc_gain_error
            if a.adc_offset:
                scaled += a.adc_offset
            if a.adc_noise:
                scaled += a.adc_noise * self._noise_rng.standard_normal(counts.shape)
            if self._sar:
                return self._successive_approximation(scaled, out)
        scaled += 0.5
        # Clipping to the integer bounds before flooring gives the same codes; once values are
        # non-negative, the truncating cast to integers is the floor. (Two ufuncs cost less
        # than np.clip's Python wrapper on one bit plane.)
        np.minimum(np.maximum(scaled, 0, out=scaled), self.cfg.max_code, out=scaled)
        if out is None:
            out = np.empty(counts.shape, np.int64)
        np.copyto(out, scaled, casting="unsafe")
        return out
