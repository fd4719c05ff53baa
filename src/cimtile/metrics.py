"""How far tile results are from the exact integer product ``X @ W``."""

import numpy as np

__all__ = ["error_metrics"]


def error_metrics(Y, X, W):
    """Error of results `Y` against the ideal integer result ``X @ W``.

    Parameters
    ----------
    Y : integer array shaped (N, cols)
    X : integer array shaped (N, rows)
    W : integer array shaped (rows, cols)

    Returns
    -------
    dict
        ``rms_error`` (root mean square of ``Y - X @ W`` over every element),
        ``max_abs_error`` (int), and ``normalized_rms_error``: the RMS error divided by the
        range of the ideal results, ``max(X @ W) - min(X @ W)`` (by 1 when every ideal result
        is equal), so that tiles of different sizes and precisions compare on one scale.
    """
    ideal = np.asarray(X, np.int64) @ np.asarray(W, np.int64)
    error = np.asarray(Y, np.int64) - ideal
    rms = float(np.sqrt(np.mean(np.square(error, dtype=np.float64))))
    spread = int(ideal.max() - ideal.min()) or 1
    return {"rms_error": rms, "max_abs_error": int(np.abs(error).max()),
            "normalized_rms_error": rms / spread}
