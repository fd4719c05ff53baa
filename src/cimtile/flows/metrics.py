"""How far tile results are from the exact integer product ``X @ W``."""

import numpy as np

from cimtile.models.stream_check import ErrorSums, ExactProduct
from cimtile.spec.npy_rows import row_chunks

__all__ = ["error_metrics"]

#: Vectors per chunk.
CHUNK = 4096


def error_metrics(Y, X, W):
    """Error of results `Y` against the ideal integer result ``X @ W``.

    Parameters
    ----------
    Y : integer array shaped (N, cols), or NpyRows
    X : integer array shaped (N, rows), or NpyRows
    W : integer array shaped (rows, cols)

    Returns
    -------
    dict
        ``rms_error`` (root mean square of ``Y - X @ W`` over every element),
        ``max_abs_error`` (int), and ``normalized_rms_error``: the RMS error divided by the
        range of the ideal results, ``max(X @ W) - min(X @ W)`` (by 1 when every ideal result
        is equal), so that tiles of different sizes and precisions compare on one scale.
    """
    product = ExactProduct(W)
    sums = ErrorSums()
    # A chunk of vectors at a time, so a long run's results need not be held whole.
    for x, y in zip(row_chunks(_rows(X), CHUNK), row_chunks(_rows(Y), CHUNK)):
        sums.add(y, product(x))
    return sums.metrics()


def _rows(data):
    return data if hasattr(data, "chunks") else np.asarray(data)
