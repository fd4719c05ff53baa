"""Packing of wide port values to and from numpy arrays, a whole bus at a time."""

import numpy as np

__all__ = ["pack_fields", "unpack_fields", "unpack_bits", "bits_of"]

# Field widths that fill whole little-endian integers, and their numpy types.
_WHOLE_BYTES = {8: np.dtype("<u1"), 16: np.dtype("<u2"), 32: np.dtype("<u4"),
                64: np.dtype("<u8")}


def pack_fields(values, width):
    """Integers with field k of `values` at bits [k * width, (k + 1) * width).

    Parameters
    ----------
    values : array of integers, shaped (..., k)
        Negative values are packed in two's complement.
    width : int, 1 to 64

    Returns
    -------
    int, or numpy object array of int shaped like ``values.shape[:-1]``
    """
    values = np.asarray(values, np.int64)
    if width in _WHOLE_BYTES:
        # Casting to a narrower unsigned type keeps the low bytes of the two's complement
        # pattern: the fields are already packed.
        packed = values.astype(_WHOLE_BYTES[width]).view(np.uint8)
        packed = packed.reshape(values.shape[:-1] + (-1,))
    else:
        # Each value's 64-bit two's-complement pattern, bit 0 first, cut to the field width.
        raw = values.astype("<i8").view(np.uint8).reshape(values.shape + (8,))
        bits = np.unpackbits(raw, axis=-1, bitorder="little")[..., :width]
        bits = bits.reshape(values.shape[:-1] + (values.shape[-1] * width,))
        packed = np.packbits(bits, axis=-1, bitorder="little")
    if values.ndim == 1:
        return int.from_bytes(packed.tobytes(), "little")
    flat = packed.reshape(-1, packed.shape[-1])
    out = np.empty(len(flat), object)
    out[:] = [int.from_bytes(row.tobytes(), "little") for row in flat]
    return out.reshape(values.shape[:-1])


# Binary digits to bit values, byte for byte.
_DIGITS = bytes.maketrans(b"01", b"\x00\x01")


def bits_of(binstr, dtype=np.uint8):
    """The bits of a binary string (most significant bit first, as a simulator reports a
    bus), bit 0 first, as a vector of `dtype`.

    Raises
    ------
    ValueError
        If the string holds anything but the digits 0 and 1 (such as X or Z).
    """
    digits = binstr[::-1].encode("ascii")
    if digits.translate(None, b"01"):
        raise ValueError(f"bus value {binstr!r} is not a binary number")
    return np.frombuffer(digits.translate(_DIGITS), np.uint8).astype(dtype)


def unpack_bits(value, count):
    """The `count` low bits of the integer `value`, bit 0 first, as a uint8 vector."""
    raw = np.frombuffer(value.to_bytes((count + 7) // 8, "little"), np.uint8)
    return np.unpackbits(raw, count=count, bitorder="little")


def unpack_fields(value, count, width, signed=False):
    """Fields of `width` bits of the integer `value`, field 0 at the least significant end.

    Returns
    -------
    numpy.ndarray
        int64 (object for fields wider than 62 bits), shaped (count,).
    """
    bits = unpack_bits(value, count * width).reshape(count, width)
    if width > 62:
        weights = np.array([1 << k for k in range(width)], object)
        out = bits.astype(object) @ weights
        if signed:
            out = out - bits[:, -1].astype(object) * (1 << width)
        return out
    out = bits.astype(np.int64) @ (np.int64(1) << np.arange(width, dtype=np.int64))
    if signed:
        out -= bits[:, -1].astype(np.int64) << width
    return out
