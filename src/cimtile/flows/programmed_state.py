"""The array files of ``cimtile program`` and ``cimtile sim``: a stuck-at map
(``--faults``) and the state programming left (``--state``, read back by ``--programmed``),
each checked against the tile before any work.

Every problem raises :class:`~cimtile.spec.files.InputError` naming the file and the field.
"""

import numpy as np

from cimtile.spec.config import ConfigError
from cimtile.spec.files import InputError, read_npy, read_npz
from cimtile.spec.mapping import DataError, check_remap

from .sweep import config_with

__all__ = ["G_MAX_US", "load_faults", "load_programmed"]

#: The largest conductance a programmed state may hold, uS: the range of analog.g_max.
G_MAX_US = 10**6


def _real_array(path, key, array):
    # By kind: numpy files timedelta64 under the integers.
    if array.dtype.kind not in "fiu":
        raise InputError(f"{path}: {key} must hold real numbers, not {array.dtype}")
    return array.astype(np.float64)


def load_programmed(path, cfg):
    """``(cfg, conductances, remap)`` from the state ``cimtile program --state`` left: `cfg`
    with the read-out calibrated to the window the cells were programmed in, and the column
    remap table of a repaired array (None without one)."""
    state = read_npz(path, "programmed state")
    missing = [key for key in ("conductance", "window") if key not in state]
    if missing:
        raise InputError(f"{path}: programmed state lacks {', '.join(missing)}")
    remap = None
    if "remap" in state:
        if state["remap"].dtype.kind not in "iu":
            raise InputError(f"{path}: remap must hold integers, not {state['remap'].dtype}")
        try:
            remap = check_remap(state["remap"], cfg)
        except DataError as error:
            raise InputError(f"{path}: {error}") from None
    G = _real_array(path, "conductance", state["conductance"])
    window = _real_array(path, "window", state["window"])
    shape = (cfg.tile.rows, cfg.cols_phys)
    if G.shape != shape or not np.isfinite(G).all() or not 0 <= G.min() <= G.max() <= G_MAX_US:
        raise InputError(f"{path}: conductance must be shaped (rows={shape[0]}, "
                         f"cols_phys={shape[1]}) and finite, in [0, {G_MAX_US}] uS")
    if window.shape != (2,) or not np.isfinite(window).all() \
            or not 0 <= window[0] < window[1]:
        raise InputError(f"{path}: window must be [g_lo, g_hi] with 0 <= g_lo < g_hi, "
                         "both finite")
    try:
        cfg = config_with(cfg, {"analog.g_min": float(window[0]),
                                "analog.g_max": float(window[1])})
    except ConfigError as error:
        raise InputError(f"{path}: window: {error}") from None
    return cfg, G, remap


def load_faults(path, cfg):
    """The stuck-at map in `path`, shaped (rows, cols_phys): 0 healthy, 1 stuck at g_min,
    2 stuck at g_max."""
    faults = read_npy(path, "faults")
    shape = (cfg.tile.rows, cfg.cols_phys)
    if faults.shape != shape:
        raise InputError(f"{path}: faults: shape must be (rows={shape[0]}, "
                         f"cols_phys={shape[1]}), not {faults.shape}")
    if faults.dtype.kind not in "iu":
        raise InputError(f"{path}: faults: dtype must be integer, not {faults.dtype}")
    bad = np.argwhere((faults < 0) | (faults > 2))
    if len(bad):
        where = list(map(int, bad[0]))
        raise InputError(f"{path}: faults: values must be 0 (healthy), 1 (stuck at g_min) "
                         f"or 2 (stuck at g_max); found {faults[tuple(where)]} at {where}")
    return faults.astype(np.int64)
