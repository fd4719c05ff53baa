"""The golden model: whole-tile results from the same behavioural models as the co-simulation.

It drives one :class:`~cimtile.behavioral.AnalogMacro` with every bit plane of every input
vector, in order, and rebuilds the results exactly as the RTL's shift-and-add does, so the
co-simulation must match it bit for bit for the same seed.
"""


import numpy as np
from threadpoolctl import threadpool_limits

from cimtile.behavioral import AnalogMacro
from cimtile.spec.mapping import bit_planes, check_remap, shift_add, validated_inputs
from cimtile.spec.npy_rows import row_chunks

from .verdict import Verdict, combine, compare

__all__ = ["GOLDEN", "golden_mvm", "golden_batches", "golden_chunks", "golden_verdict",
           "golden_mismatches"]

# Vectors per step: enough to amortise numpy's per-call overhead, few enough that a step's
# buffers (about 4 MiB for the reference tile) stay in cache. On the reference tile 64 to 256
# run fastest; 4096 runs about 2.5 times slower.
CHUNK = 128
# Vectors per chunk of a streamed verdict: large enough that the per-chunk work is all
# numpy, small enough (about 1 MiB of reference-tile inputs) to keep memory flat.
VERDICT_ROWS = 1024
#: The check of :func:`golden_verdict`, as messages name it.
GOLDEN = "golden model"


def golden_mvm(cfg, W, X, seed=0, conductances=None, *, in_bits=None, adc_shift=None,
               remap=None):
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
    in_bits, adc_shift : int, optional
        Run-time settings of the tile (default: the configured ones).
    remap : array (cols_data,), optional
        The column remap table the tile holds (see :func:`cimtile.spec.mapping.check_remap`);
        by default no column is repaired.

    Returns
    -------
    numpy.ndarray
        int64, shaped (N, cols); equal to ``X @ W`` when the settings are lossless and the
        model is ideal.

    Raises
    ------
    DataError
        If `W` or `X` does not fit the tile (see :mod:`cimtile.spec.mapping`).
    """
    return golden_batches(cfg, W, [(X, in_bits, adc_shift)], seed, conductances,
                          remap=remap)[0]


def golden_verdict(cfg, W, X, Y, seed=0, conductances=None, *, in_bits=None,
                   adc_shift=None, remap=None):
    """The :class:`~cimtile.models.verdict.Verdict` of a run, `Y` for inputs `X`, against
    the golden model (arguments as for :func:`golden_mvm`): the one check of every
    co-simulation, emulator and board run. `X` and `Y` may be
    :class:`~cimtile.spec.npy_rows.NpyRows`, compared a chunk at a time; a `Y` shaped
    unlike (len(X), cols) differs in every vector."""
    Y = Y if hasattr(Y, "shape") else np.asarray(Y)
    if Y.shape != (len(X), cfg.tile.cols):
        return Verdict(GOLDEN, len(X), len(X), 0 if len(X) else None)
    chunks = zip(golden_chunks(cfg, W, X, seed, conductances, in_bits=in_bits,
                               adc_shift=adc_shift, remap=remap),
                 row_chunks(Y, VERDICT_ROWS))
    return combine((compare(GOLDEN, y, expected, start=i * VERDICT_ROWS)
                    for i, (expected, y) in enumerate(chunks)), check=GOLDEN)


def golden_mismatches(cfg, W, X, Y, seed=0, conductances=None, *, in_bits=None,
                      adc_shift=None, remap=None):
    """How many result vectors of `Y` differ from the golden model (see
    :func:`golden_verdict`)."""
    return golden_verdict(cfg, W, X, Y, seed, conductances, in_bits=in_bits,
                          adc_shift=adc_shift, remap=remap).differ


def golden_chunks(cfg, W, X, seed=0, conductances=None, *, in_bits=None, adc_shift=None,
                  remap=None):
    """Golden results of `X` (an array or :class:`~cimtile.spec.npy_rows.NpyRows`) in chunks of
    ``VERDICT_ROWS`` vectors, from one macro in order: the same results as
    :func:`golden_mvm`, never all held at once."""
    remap = check_remap(remap, cfg)
    macro = AnalogMacro.for_array(cfg, W, np.random.default_rng(seed), conductances)
    for x in row_chunks(X, VERDICT_ROWS):
        with threadpool_limits(limits=1, user_api="blas"):
            y = _run_batch(cfg, macro, x, in_bits, adc_shift, remap)
        yield y


def golden_batches(cfg, W, batches, seed=0, conductances=None, *, remap=None):
    """Results of consecutive batches, each at its own run-time settings, from one macro.

    The batches share the macro's generator in order, as they share the array in the
    co-simulation, so a multi-batch run is reproduced draw for draw.

    Parameters
    ----------
    batches : sequence of (X, in_bits, adc_shift)
        Input vectors (N, rows) and run-time settings (None: the configured value).
    remap : array (cols_data,), optional
        The column remap table, as for :func:`golden_mvm`.

    Returns
    -------
    list of numpy.ndarray
        int64 results (N, cols) per batch.
    """
    remap = check_remap(remap, cfg)
    macro = AnalogMacro.for_array(cfg, W, np.random.default_rng(seed), conductances)
    # Each step's products are too small for BLAS threads to pay: on a busy machine they
    # make the model several times slower, so it runs on one core.
    with threadpool_limits(limits=1, user_api="blas"):
        return [_run_batch(cfg, macro, X, in_bits, adc_shift, remap)
                for X, in_bits, adc_shift in batches]


def _run_batch(cfg, macro, X, in_bits, adc_shift, remap):
    at = cfg.at(in_bits, adc_shift)
    X = validated_inputs(X, at)
    Y = np.empty((len(X), cfg.tile.cols), np.int64)
    # Buffers reused by every full chunk: fresh pages for each chunk would cost more than the
    # arithmetic. float32 planes go to the crossbar's BLAS product without a conversion.
    planes = np.empty((CHUNK, at.tile.in_bits, cfg.tile.rows), np.float32)
    codes = np.empty((CHUNK, at.tile.in_bits, cfg.cols_phys), np.int64)
    for start in range(0, len(X), CHUNK):
        x = X[start:start + CHUNK]
        n = len(x)
        bit_planes(x, at.tile.in_bits, out=planes[:n])
        macro.sample(planes[:n], out=codes[:n], adc_shift=at.tile.adc_shift)
        shift_add(codes[:n], at, out=Y[start:start + n], remap=remap)
    return Y
