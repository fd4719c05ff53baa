"""Memory images exchanged with the bulk top, built and parsed with numpy.

An entry is a row of little-endian bytes (field after field, each starting on a byte). The
testbench writes entries as raw big-endian words for ``$fread``, and reads ``$writememh``
files (one hexadecimal word per line, most significant digit first) and writes
``$readmemb`` files of single bits.
"""

import numpy as np

__all__ = ["field_bytes", "field_values", "fread_image", "parse_hex_image", "bits_image"]

def field_bytes(values, width):
    """Little-endian bytes of unsigned `values` (shaped (n,) or (n, k) of `width`-bit
    fields packed densely), as a uint8 array shaped (n, ceil(k * width / 8))."""
    values = np.asarray(values)
    if values.ndim == 1:
        values = values[:, None]
    n, k = values.shape
    if width % 8 == 0 and width <= 64:
        raw = values.astype("<u8").view(np.uint8).reshape(n, k, 8)[..., :width // 8]
        return np.ascontiguousarray(raw.reshape(n, k * width // 8))
    raw = values.astype("<u8").view(np.uint8).reshape(n, k, 8)
    bits = np.unpackbits(raw, axis=-1, bitorder="little")[..., :width].reshape(n, k * width)
    return np.packbits(bits, axis=-1, bitorder="little")


def field_values(entries, at, width):
    """The unsigned values (int64) of the field `width` bits wide (at most 56) at bit `at`,
    a multiple of 8, of `entries` (rows of little-endian bytes): what :func:`field_bytes`
    packed."""
    raw = entries[:, at // 8:at // 8 + -(-width // 8)]
    padded = np.zeros((len(entries), 8), np.uint8)
    padded[:, :raw.shape[1]] = raw
    return padded.view("<u8")[:, 0].astype(np.int64) & ((1 << width) - 1)


def fread_image(entries):
    """The bytes of a ``$fread`` file holding `entries` (rows of little-endian bytes), one
    big-endian word per entry."""
    return np.ascontiguousarray(entries[:, ::-1]).tobytes()


#: The value of each hexadecimal digit's character code (16: not a digit).
_NIBBLES = np.full(256, 16, np.uint8)
for _value, _digit in enumerate(b"0123456789abcdef"):
    _NIBBLES[_digit] = _NIBBLES[ord(chr(_digit).upper())] = _value


def parse_hex_image(text, entry_bytes):
    """Entries of a ``$writememh`` file as little-endian bytes, shaped (n, entry_bytes);
    comment and address lines are skipped."""
    fixed = _fixed_width_entries(text, entry_bytes)
    if fixed is not None:
        return fixed
    words = [word for line in text.splitlines() for word in line.split(b"//")[0].split()
             if not word.startswith(b"@")]
    digits = b"".join(word.rjust(2 * entry_bytes, b"0") for word in words)
    raw = np.frombuffer(bytes.fromhex(digits.decode("ascii")), np.uint8)
    return raw.reshape(len(words), entry_bytes)[:, ::-1]


def _fixed_width_entries(text, entry_bytes):
    """What :func:`parse_hex_image` gives, for a file of equal lines of digits alone (as
    Verilator writes one: each entry zero-padded to the memory's width), decoded as one
    array; None for any other file."""
    width = text.find(b"\n")
    if width < 1 or width > 2 * entry_bytes or len(text) % (width + 1):
        return None
    lines = np.frombuffer(text, np.uint8).reshape(-1, width + 1)
    nibbles = _NIBBLES[lines[:, :width]]
    if (lines[:, width] != ord("\n")).any() or (nibbles == 16).any():
        return None
    nibbles = np.pad(nibbles, ((0, 0), (2 * entry_bytes - width, 0)))
    return ((nibbles[:, 0::2] << 4) | nibbles[:, 1::2])[:, ::-1]


def bits_image(bits):
    """The text of a one-bit-wide memory file for ``$readmemb``."""
    text = np.full((len(bits), 2), ord("\n"), np.uint8)
    text[:, 0] = np.where(np.asarray(bits, bool), ord("1"), ord("0"))
    return text.tobytes()
