"""The golden model: whole-tile results from the same behavioural models as the co-simulation.

It drives one :class:`~cimtile.behavioral.AnalogMacro` with every bit plane of every input
vector, in order, and rebuilds the results exactly as the RTL's shift-and-add does, so the
co-simulation must match it bit for bit for the same seed.
"""

import time

import numpy as np

from cimtile.behavioral import AnalogMacro
from cimtile.mapping import _validated_inputs, bit_planes, random_operands, shift_add

__all__ = ["golden_mvm", "golden_throughput"]

# Vectors per step: enough to amortise numpy's per-call overhead, few enough that a step's
# buffers (about 4 MiB for the reference tile) stay in cache. On the reference tile 64 to 256
# run fastest; 4096 runs about 2.5 times slower.
CHUNK = 128


def golden_mvm(cfg, W, X, seed=0, conductances=None):
    """Results the tile must produce for weights `W` and input vectors `X`.

    Parameters
    ----------
    cfg : Config
    W : array of integers, shaped (rows, cols)
    X : array of integers, shaped (N, rows)
    seed : int
        Seeds the macro's generator, as in the co-simulation.
    conductances : array (rows, cols_phys), optional
        Cell conductances (uS) left by programming `W` with write-verify; by default the
        cells hold the ideal levels of `W`.

    Returns
    -------
    numpy.ndarray
        int64, shaped (N, cols); equal to ``X @ W`` when `cfg.lossless` and the model is ideal.

    Raises
    ------
    DataError
        If `W` or `X` does not fit the tile (see :mod:`cimtile.mapping`).
    """
    X = _validated_inputs(X, cfg)
    macro = AnalogMacro.for_array(cfg, W, np.random.default_rng(seed), conductances)
    Y = np.empty((len(X), cfg.tile.cols), np.int64)
    # Buffers reused by every full chunk: fresh pages for each chunk would cost more than the
    # arithmetic. float32 planes go to the crossbar's BLAS product without a conversion.
    planes = np.empty((CHUNK, cfg.tile.in_bits, cfg.tile.rows), np.float32)
    codes = np.empty((CHUNK, cfg.tile.in_bits, cfg.cols_phys), np.int64)
    for start in range(0, len(X), CHUNK):
        x = X[start:start + CHUNK]
        n = len(x)
        bit_planes(x, cfg.tile.in_bits, out=planes[:n])
        macro.sample(planes[:n], out=codes[:n])
        shift_add(codes[:n], cfg, out=Y[start:start + n])
    return Y


def golden_throughput(cfg, n=100_000, seed=0):
    """Golden-model speed in MVMs per second, on random in-range weights and inputs.

    Only :func:`golden_mvm` is timed; making the data is not.
    """
    W, X = random_operands(cfg, n, np.random.default_rng(seed))
    start = time.perf_counter()
    golden_mvm(cfg, W, X, seed)
    return n / (time.perf_counter() - start)
