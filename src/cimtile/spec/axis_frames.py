"""AXI4-Stream frame bytes for the host ports, packed and unpacked with numpy.

The layout is the host contract's: little-endian, element 0 in the lowest lane of
``8 * ceil(w / 8)`` bits; each input or result vector starts on a beat boundary and its last
beat is zero-padded; target levels (8-bit lanes) and cell results (32-bit lanes: pulses[7:0],
converged[8], code[31:16]) are dense, padded only after the last lane.
"""

from typing import NamedTuple

import numpy as np

__all__ = ["pack_vectors", "unpack_vectors", "pack_targets", "unpack_cells", "CellResults"]


def _beat_bytes(data_width):
    if not isinstance(data_width, int) or data_width <= 0 or data_width % 8:
        raise ValueError(f"data_width must be a positive multiple of 8, not {data_width!r}")
    return data_width // 8


def _lane_bytes(element_width):
    if not 1 <= element_width <= 64:
        raise ValueError(f"element_width must be 1 to 64, not {element_width}")
    return -(-element_width // 8)


def _padded(nbytes, beat):
    return -(-nbytes // beat) * beat


def pack_vectors(vectors, element_width, data_width):
    """The bytes of one frame carrying `vectors`, one padded run of beats per vector.

    Parameters
    ----------
    vectors : array of int, shaped (N, count)
        Elements in two's complement; each lane holds the element's low lane bits.
    element_width : int
    data_width : int
        ``tdata`` width in bits.

    Returns
    -------
    bytes
    """
    vectors = np.asarray(vectors, np.int64)
    if vectors.ndim != 2:
        raise ValueError(f"vectors must be shaped (N, count), not {vectors.shape}")
    lane, beat = _lane_bytes(element_width), _beat_bytes(data_width)
    n, count = vectors.shape
    lanes = np.ascontiguousarray(vectors, "<i8").view(np.uint8).reshape(n, count, 8)[..., :lane]
    frame = np.zeros((n, _padded(count * lane, beat)), np.uint8)
    frame[:, :count * lane] = lanes.reshape(n, count * lane)
    return frame.tobytes()


def unpack_vectors(frame, element_width, count, data_width):
    """Signed elements of the vectors in a result frame, sign-extended from `element_width`.

    Returns
    -------
    numpy.ndarray
        int64, shaped (N, count).

    Raises
    ------
    ValueError
        If the frame is not a whole number of padded vectors.
    """
    lane, beat = _lane_bytes(element_width), _beat_bytes(data_width)
    per_vector = _padded(count * lane, beat)
    raw = np.frombuffer(bytes(frame), np.uint8)
    if raw.size % per_vector:
        raise ValueError(f"frame of {raw.size} bytes is not a whole number of "
                         f"{per_vector}-byte vectors")
    n = raw.size // per_vector
    lanes = raw.reshape(n, per_vector)[:, :count * lane].reshape(n, count, lane)
    words = np.zeros((n, count, 8), np.uint8)
    words[..., :lane] = lanes
    # Move bit w-1 to bit 63, then shift back arithmetically to sign-extend.
    shift = 64 - element_width
    return (words.view("<u8")[..., 0] << np.uint64(shift)).view(np.int64) >> shift


def pack_targets(levels, data_width):
    """The bytes of a target-level frame: one byte per cell, padded to a whole beat."""
    levels = np.asarray(levels)
    if levels.ndim != 1 or levels.size == 0:
        raise ValueError(f"levels must be a non-empty vector, not shaped {levels.shape}")
    if levels.min() < 0 or levels.max() > 255:
        raise ValueError("target levels must be 0 to 255")
    frame = np.zeros(_padded(levels.size, _beat_bytes(data_width)), np.uint8)
    frame[:levels.size] = levels
    return frame.tobytes()


class CellResults(NamedTuple):
    """Per-cell results in stream order (int64 arrays, one entry per cell)."""
    pulses: np.ndarray
    converged: np.ndarray
    code: np.ndarray


def unpack_cells(frame, cells, data_width):
    """The per-cell results of a cell-result frame of `cells` cells.

    Raises
    ------
    ValueError
        If the frame's length is not `cells` lanes padded to a whole beat.
    """
    raw = np.frombuffer(bytes(frame), np.uint8)
    expected = _padded(4 * cells, _beat_bytes(data_width))
    if raw.size != expected:
        raise ValueError(f"cell-result frame of {raw.size} bytes, expected {expected} "
                         f"for {cells} cells")
    lanes = raw[:4 * cells].view("<u4").astype(np.int64)
    return CellResults(lanes & 0xFF, (lanes >> 8) & 1, lanes >> 16)
