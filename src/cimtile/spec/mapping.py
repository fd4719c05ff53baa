"""The digital side of the arithmetic contract (docs/architecture.md), in pure numpy.

Weights become cell levels on differential, sliced physical columns; inputs become bit planes;
per-plane ADC codes are shifted and added back into results. The golden model, and through it
every check of the RTL, rests on these functions, so they follow the contract literally and
stay exact (integer arithmetic, no rounding anywhere).
"""

import functools

import numpy as np

__all__ = ["DataError", "check_weights", "check_inputs", "weight_levels", "check_remap",
           "column_sources", "array_levels", "bit_planes", "shift_add", "random_operands",
           "validated_inputs"]


class DataError(ValueError):
    """Weights or inputs do not fit the tile; the message names the array and the rule."""


def _check_values(name, array, lo, hi, first_row=0):
    # By kind, not np.issubdtype(..., np.integer): numpy files timedelta64 under the
    # integers, and its values are durations, not numbers. `first_row` is the row index of
    # `array`'s first row in the whole, for a check made a chunk at a time.
    if array.dtype.kind not in "iu":
        raise DataError(f"{name}: dtype must be integer, not {array.dtype}")
    if array.min() < lo or array.max() > hi:
        index = np.argwhere((array < lo) | (array > hi))[0]
        where = ", ".join(str(i + first_row * (axis == 0)) for axis, i in enumerate(index))
        raise DataError(f"{name}: values must lie in [{lo}, {hi}]; "
                        f"found {array[tuple(index)]} at [{where}]")


def _weight_limit(cfg):
    return 2 ** (cfg.tile.w_bits - 1) - 1


def check_weights(W, cfg):
    """Validate a weight matrix for the tile described by `cfg`.

    Returns
    -------
    numpy.ndarray
        An int64 copy of `W`, shaped (rows, cols).

    Raises
    ------
    DataError
        If `W` is not a (rows, cols) integer array with every value in
        [-(2**(w_bits-1) - 1), 2**(w_bits-1) - 1] (symmetric: a differential pair cannot
        hold the most negative two's-complement value any better than its opposite).
    """
    W = np.asarray(W)
    rows, cols = cfg.tile.rows, cfg.tile.cols
    if W.shape != (rows, cols):
        raise DataError(f"weights: shape must be (rows={rows}, cols={cols}), not {W.shape}")
    limit = _weight_limit(cfg)
    _check_values("weights", W, -limit, limit)
    return np.ascontiguousarray(W, np.int64)


def validated_inputs(X, cfg, first_row=0):
    # Validation without the copy, so the golden model can convert large batches chunk by
    # chunk; `first_row` places a chunk in the whole for the messages.
    X = np.asarray(X)
    check_input_shape(X.shape, cfg)
    half = 2 ** (cfg.tile.in_bits - 1)
    _check_values("inputs", X, -half, half - 1, first_row)
    return X


def check_input_shape(shape, cfg):
    """Refuse input vectors shaped other than (N, rows) with N >= 1 (:class:`DataError`)."""
    rows = cfg.tile.rows
    if len(shape) != 2 or shape[0] < 1 or shape[1] != rows:
        raise DataError(f"inputs: shape must be (N, rows={rows}) with N >= 1, not "
                        f"{tuple(shape)}")


def check_inputs(X, cfg):
    """Validate a batch of input vectors for the tile described by `cfg`.

    Returns
    -------
    numpy.ndarray
        An int64 copy of `X`, shaped (N, rows).

    Raises
    ------
    DataError
        If `X` is not an (N, rows) integer array with N >= 1 and every value in
        [-2**(in_bits-1), 2**(in_bits-1) - 1].
    """
    return np.ascontiguousarray(validated_inputs(X, cfg), np.int64)


def weight_levels(W, cfg):
    """Cell levels that program weights `W` into the crossbar.

    Column j, slice s, polarity p (0 for w+, 1 for w-) lands on physical column
    (j * slices + s) * 2 + p, which is C order over (j, s, p). The spare columns after the
    data columns hold level 0 (see :func:`array_levels` for repaired columns).

    Returns
    -------
    numpy.ndarray
        int64 levels in [0, max_level], shaped (rows, cols_phys).

    Raises
    ------
    DataError
        As :func:`check_weights`.
    """
    W = check_weights(W, cfg)
    magnitudes = np.stack([np.maximum(W, 0), np.maximum(-W, 0)], axis=-1)
    shifts = np.arange(cfg.slices)[:, None] * cfg.tile.bits_per_cell
    levels = (magnitudes[:, :, None, :] >> shifts) & cfg.max_level
    levels = levels.reshape(cfg.tile.rows, cfg.cols_data)
    if cfg.tile.spare_cols:
        levels = np.pad(levels, ((0, 0), (0, cfg.tile.spare_cols)))
    return levels


def check_remap(remap, cfg):
    """Validate a column remap table (None: no column repaired).

    Entry ``c`` of the table says where data column ``c`` is read: 0 from itself, ``k``
    from spare ``k - 1`` (physical column ``cols_data + k - 1``), as the tile's REMAP_SPARE
    register holds it.

    Returns
    -------
    numpy.ndarray
        An int64 copy, shaped (cols_data,).

    Raises
    ------
    DataError
        If the table is not (cols_data,) integers in [0, spare_cols].
    """
    if remap is None:
        return np.zeros(cfg.cols_data, np.int64)
    remap = np.asarray(remap)
    if remap.shape != (cfg.cols_data,):
        raise DataError(f"remap: shape must be (cols_data={cfg.cols_data},), not "
                        f"{remap.shape}")
    _check_values("remap", remap, 0, cfg.tile.spare_cols)
    return remap.astype(np.int64)


def column_sources(cfg, remap=None):
    """The physical column each data column is read from under `remap`, shaped
    (cols_data,)."""
    remap = check_remap(remap, cfg)
    return np.where(remap == 0, np.arange(cfg.cols_data), cfg.cols_data + remap - 1)


def array_levels(W, cfg, remap=None):
    """Cell levels of the whole array when `remap` repairs columns: the data columns hold
    :func:`weight_levels`, each spare a copy of the data column remapped to it (the last
    such column, should several share it), unused spares level 0.

    Returns
    -------
    numpy.ndarray
        int64, shaped (rows, cols_phys).
    """
    levels = weight_levels(W, cfg)
    sources = column_sources(cfg, remap)
    repaired = np.flatnonzero(sources >= cfg.cols_data)
    levels[:, sources[repaired]] = levels[:, repaired]
    return levels


def bit_planes(X, in_bits, out=None):
    """Bit planes of integer inputs, least significant first.

    Plane i holds bit i of each element's two's-complement pattern, i.e. of X mod 2**in_bits;
    the caller validates the range (see :func:`check_inputs`).

    Parameters
    ----------
    X : array of integers, shaped (..., rows)
    in_bits : int, 1 to 64
    out : numeric array shaped (..., in_bits, rows), optional
        E.g. float32, to hand planes straight to a BLAS product.

    Returns
    -------
    numpy.ndarray
        Zeros and ones (uint8 unless `out` is given), shaped (..., in_bits, rows).
    """
    if not 1 <= in_bits <= 64:
        raise ValueError(f"in_bits must be an integer in 1..64, not {in_bits!r}")
    X = np.asarray(X)
    if X.ndim < 1 or not np.issubdtype(X.dtype, np.integer):
        raise ValueError(f"X must be an integer array with a rows axis, not {X.dtype} "
                         f"shaped {X.shape}")
    # Casting to an unsigned type wraps modulo 2**bits, which keeps the low in_bits bits of the
    # two's-complement pattern; the narrowest such type keeps the shifts cheap.
    unsigned = next(d for d in (np.uint8, np.uint16, np.uint32, np.uint64)
                    if np.iinfo(d).bits >= in_bits)
    shifts = np.arange(in_bits, dtype=unsigned)[:, None]
    if out is None:
        out = np.empty(X.shape[:-1] + (in_bits, X.shape[-1]), np.uint8)
    shifted = np.right_shift(X.astype(unsigned)[..., None, :], shifts)
    return np.bitwise_and(shifted, 1, out=out, casting="unsafe")


@functools.cache
def _shift_add_weights(cfg):
    t = cfg.tile
    plane = 2 ** np.arange(t.in_bits, dtype=np.int64)
    plane[-1] = -plane[-1]
    # C order over (column, slice, polarity) is the physical column order; the factor
    # 2**adc_shift turns codes back into column counts.
    slice_shift = np.arange(cfg.slices, dtype=np.int64) * t.bits_per_cell + t.adc_shift
    column = np.tile((2 ** slice_shift[:, None] * np.array([1, -1])).reshape(-1), t.cols)
    plane.flags.writeable = column.flags.writeable = False
    return plane, column


def shift_add(codes, cfg, out=None, remap=None):
    """Rebuild results from the ADC codes of every bit plane.

    Parameters
    ----------
    codes : array of integers in [0, max_code], shaped (N, in_bits, cols_phys)
    out : int64 array shaped (N, cols), optional
    remap : array (cols_data,), optional
        Column remap table (see :func:`check_remap`): each data column takes the codes of
        the physical column it is read from, as the tile's column remap does.

    Returns
    -------
    numpy.ndarray
        int64 results, shaped (N, cols).

    Notes
    -----
    Planes are combined per physical column first (values below 2**in_bits * max_code), then
    the columns of each logical column. Every partial sum of the second step is bounded by the
    result bound behind `cfg.result_width` (at most 64 bits signed for any valid Config), so
    int64 never overflows and the result is exact.
    """
    codes = np.asarray(codes)
    t = cfg.tile
    expected = (t.in_bits, cfg.cols_phys)
    if codes.ndim != 3 or codes.shape[1:] != expected:
        raise ValueError(f"codes: shape must be (N, in_bits={expected[0]}, "
                         f"cols_phys={expected[1]}), not {codes.shape}")
    if not np.issubdtype(codes.dtype, np.integer):
        raise ValueError(f"codes: dtype must be integer, not {codes.dtype}")
    plane, column = _shift_add_weights(cfg)
    if cfg.tile.spare_cols or remap is not None:
        codes = codes[..., column_sources(cfg, remap)]
    per_column = np.einsum("nic,i->nc", codes.astype(np.int64, copy=False), plane)
    per_column *= column
    return per_column.reshape(len(codes), t.cols, -1).sum(axis=-1, out=out)


def random_operands(cfg, n, rng):
    """Random in-range weights (rows, cols) and input vectors (n, rows) for `cfg`.

    Parameters
    ----------
    n : int
    rng : numpy.random.Generator
    """
    w_max = 2 ** (cfg.tile.w_bits - 1) - 1
    x_half = 2 ** (cfg.tile.in_bits - 1)
    W = rng.integers(-w_max, w_max, (cfg.tile.rows, cfg.tile.cols), endpoint=True)
    X = rng.integers(-x_half, x_half, (n, cfg.tile.rows))
    return W, X
