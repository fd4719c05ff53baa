"""Speed of the behavioural analog macro, as the co-simulation sees it: one bit plane a call."""

import time

import numpy as np

from cimtile.behavioral import AnalogMacro
from cimtile.behavioral.wires import clear_cache

__all__ = ["plane_timing"]


def plane_timing(cfg, planes=2000, seed=0):
    """Time the analog macro of `cfg` answering single bit-plane requests.

    The macro is programmed with random in-range weights; building it (in the physical model
    with IR drop: the factorisation and the transfer matrix, never taken from the cache) is
    timed apart from the requests.

    Returns
    -------
    dict
        ``setup_s``: building the macro; ``plane_us``: mean time of one request, in
        microseconds, over `planes` random bit planes.
    """
    rng = np.random.default_rng(seed)
    w_max = 2 ** (cfg.tile.w_bits - 1) - 1
    W = rng.integers(-w_max, w_max, (cfg.tile.rows, cfg.tile.cols), endpoint=True)
    drive = rng.integers(0, 2, (planes, cfg.tile.rows), dtype=np.uint8)
    clear_cache()
    start = time.perf_counter()
    macro = AnalogMacro.from_weights(cfg, W, np.random.default_rng(seed))
    setup = time.perf_counter() - start
    macro.sample(drive[0])
    start = time.perf_counter()
    for plane in drive:
        macro.sample(plane)
    return {"setup_s": setup, "plane_us": (time.perf_counter() - start) / planes * 1e6}
