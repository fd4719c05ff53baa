"""Cell conductances of a physical crossbar: level map, programming variation, faults, drift.

Pure numpy. Conductances are in uS. Each function that draws takes its own
:class:`numpy.random.Generator`, so switching one effect off never shifts the random numbers
another effect sees.
"""

import numpy as np

from .device import HEALTHY, STUCK_GMAX, STUCK_GMIN

__all__ = ["HEALTHY", "STUCK_GMIN", "STUCK_GMAX", "level_step", "unit_current",
           "level_conductances", "programming_variation", "fault_map", "apply_faults",
           "drift_exponents", "drift"]

def level_step(cfg):
    """Conductance between adjacent levels, uS: levels map evenly onto [g_min, g_max]."""
    a = cfg.analog
    return (a.g_max - a.g_min) / cfg.max_level


def unit_current(cfg):
    """Column current of one level count at v_read, uA (uS times V)."""
    return level_step(cfg) * cfg.analog.v_read


def level_conductances(cfg, levels):
    """Target conductances of cell levels: g_min + level * (g_max - g_min) / max_level.

    Parameters
    ----------
    levels : array of integers in [0, max_level]

    Returns
    -------
    numpy.ndarray
        float64, uS, same shape as `levels`.
    """
    return cfg.analog.g_min + np.asarray(levels, np.float64) * level_step(cfg)


def programming_variation(cfg, G, rng):
    """Device-to-device variation of programmed conductances.

    ``normal``: G (1 + sigma z), clipped at 0 (no negative conductance). ``lognormal``:
    G exp(sigma z), which keeps the median. z is standard normal, one per cell, drawn in C
    order; nothing is drawn when ``analog.d2d_sigma`` is 0.

    Returns
    -------
    numpy.ndarray
        float64, uS, same shape as `G`.
    """
    a = cfg.analog
    G = np.array(G, np.float64)
    if a.d2d_sigma == 0:
        return G
    z = rng.standard_normal(G.shape)
    if a.d2d_distribution == "lognormal":
        return G * np.exp(a.d2d_sigma * z)
    return np.maximum(G * (1 + a.d2d_sigma * z), 0)


def fault_map(cfg, rng, shape=None):
    """A random stuck-at fault map.

    Each cell is stuck with probability ``analog.fault_rate``; a stuck cell is stuck at g_min
    (code :data:`STUCK_GMIN`) with probability ``analog.fault_sa0_fraction``, else at g_max
    (:data:`STUCK_GMAX`). Two uniform draws per cell, in C order; none when the rate is 0.

    Parameters
    ----------
    shape : tuple, optional
        Default (rows, cols_phys).

    Returns
    -------
    numpy.ndarray
        int8 codes, :data:`HEALTHY` for working cells.
    """
    a = cfg.analog
    if shape is None:
        shape = (cfg.tile.rows, cfg.cols_phys)
    faults = np.zeros(shape, np.int8)
    if a.fault_rate == 0:
        return faults
    stuck = rng.random(shape) < a.fault_rate
    low = rng.random(shape) < a.fault_sa0_fraction
    faults[stuck & low] = STUCK_GMIN
    faults[stuck & ~low] = STUCK_GMAX
    return faults


def apply_faults(cfg, G, faults):
    """Conductances with stuck cells replaced by g_min or g_max.

    Raises
    ------
    ValueError
        If `faults` does not have the shape of `G` or holds a code other than 0, 1, 2.
    """
    G = np.array(G, np.float64)
    faults = np.asarray(faults)
    if faults.shape != G.shape:
        raise ValueError(f"faults: shape must be {G.shape}, not {faults.shape}")
    if not np.isin(faults, (HEALTHY, STUCK_GMIN, STUCK_GMAX)).all():
        raise ValueError("faults: codes must be 0 (healthy), 1 (stuck at g_min) or "
                         "2 (stuck at g_max)")
    G[faults == STUCK_GMIN] = cfg.analog.g_min
    G[faults == STUCK_GMAX] = cfg.analog.g_max
    return G


def drift_exponents(cfg, shape, rng):
    """Each device's drift exponent nu: normal(drift_nu, drift_nu_sigma), clipped at 0.

    Nothing is drawn when ``analog.drift_nu_sigma`` is 0.
    """
    a = cfg.analog
    if a.drift_nu_sigma == 0:
        return np.full(shape, a.drift_nu)
    return np.maximum(a.drift_nu + a.drift_nu_sigma * rng.standard_normal(shape), 0)


def drift(cfg, G, nu):
    """Conductances ``drift_time`` seconds after programming:
    G ((drift_time + drift_t0) / drift_t0) ** -nu."""
    a = cfg.analog
    G = np.array(G, np.float64)
    if a.drift_time == 0:
        return G
    return G * ((a.drift_time + a.drift_t0) / a.drift_t0) ** -np.asarray(nu)
