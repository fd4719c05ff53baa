"""How far tile results are from the exact integer product ``X @ W``."""

import numpy as np

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
    W = np.asarray(W, np.int64)
    squares, count, worst = 0.0, 0, 0
    lowest, highest = None, None
    # A chunk of vectors at a time, so a long run's results need not be held whole.
    for x, y in zip(row_chunks(_rows(X), CHUNK), row_chunks(_rows(Y), CHUNK)):
        ideal = np.asarray(x, np.int64) @ W
        error = np.asarray(y, np.int64) - ideal
        squares += float(np.square(error, dtype=np.float64).sum())
        count += error.size
        worst = max(worst, int(np.abs(error).max()))
        low, high = int(ideal.min()), int(ideal.max())
        lowest = low if lowest is None else min(lowest, low)
        highest = high if highest is None else max(highest, high)
    rms = float(np.sqrt(squares / count)) if count else 0.0
    spread = (highest - lowest) if count else 0
    return {"rms_error": rms, "max_abs_error": worst, "normalized_rms_error": rms / (spread or 1)}


def _rows(data):
    return data if hasattr(data, "chunks") else np.asarray(data)
