"""Rows of ``.npy`` files read and written a chunk at a time.

A long run's stimulus and results are too large to hold whole (a million reference-tile
vectors are 1 GB as int64), so they stream through files. The files are read and written
with plain file calls, never memory-mapped: mapped pages stay resident in the process for
the whole run, which is the growth this avoids.
"""

import numpy as np

__all__ = ["NpyRows", "NpyRowWriter", "row_chunks"]

#: Bytes of the header :class:`NpyRowWriter` writes, large enough for any row count.
_HEADER_BYTES = 128


class NpyRows:
    """The rows of a ``.npy`` array, read on demand, in either memory order.

    A Fortran-ordered (column-major) file stores each row's elements apart, one run per
    element position; a chunk of rows is then one read per run, gathered into C order.

    Parameters
    ----------
    path : path-like

    Members
    -------
    shape : tuple
    dtype : numpy.dtype

    Raises
    ------
    ValueError
        If the file is not a C-ordered ``.npy`` array of at least one dimension.
    OSError
        If it cannot be read.
    """

    def __init__(self, path):
        self.path = str(path)
        with open(self.path, "rb") as file:
            version = np.lib.format.read_magic(file)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, fortran_order, dtype = read_header(file)
            self._offset = file.tell()
        if not shape or dtype.hasobject:
            raise ValueError(f"{self.path}: not an array of rows")
        self.shape, self.dtype, self._fortran = tuple(shape), dtype, fortran_order
        self._row_bytes = int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize

    def __len__(self):
        return self.shape[0]

    def chunks(self, rows):
        """C-ordered arrays of `rows` consecutive rows (the last may be shorter), in order."""
        read = self._fortran_rows if self._fortran else self._c_rows
        with open(self.path, "rb") as file:
            for start in range(0, len(self), rows):
                count = min(rows, len(self) - start)
                yield read(file, start, count)

    def _c_rows(self, file, start, count):
        file.seek(self._offset + start * self._row_bytes)
        return self._decoded(file.read(count * self._row_bytes), count * self._row_bytes,
                             start + count).reshape(count, *self.shape[1:])

    def _fortran_rows(self, file, start, count):
        # Column-major (N, *rest) is row-major (*reversed(rest), N): one run of N per element.
        size, runs = self.dtype.itemsize, int(np.prod(self.shape[1:], dtype=np.int64))
        parts = []
        for run in range(runs):
            file.seek(self._offset + (run * len(self) + start) * size)
            parts.append(file.read(count * size))
        data = self._decoded(b"".join(parts), runs * count * size, start + count)
        return np.ascontiguousarray(data.reshape(*self.shape[:0:-1], count).T)

    def _decoded(self, data, expected, end):
        if len(data) != expected:
            raise ValueError(f"{self.path}: file ends before row {end}")
        return np.frombuffer(data, self.dtype)

    def read(self):
        """Every row at once (for small files)."""
        return np.concatenate(list(self.chunks(max(len(self), 1))) or
                              [np.zeros((0, *self.shape[1:]), self.dtype)])


def row_chunks(rows, count):
    """Chunks of `count` rows of an array or an :class:`NpyRows`."""
    if isinstance(rows, NpyRows):
        return rows.chunks(count)
    return (rows[start:start + count] for start in range(0, len(rows), count))


class NpyRowWriter:
    """Writes a ``.npy`` array row chunk by row chunk; the row count is set on close.

    Parameters
    ----------
    path : path-like
    dtype : numpy dtype
    row_shape : tuple
        Shape of one row.
    """

    def __init__(self, path, dtype, row_shape):
        self.path = str(path)
        self.dtype, self.row_shape = np.dtype(dtype), tuple(row_shape)
        self.rows = 0
        self._file = open(self.path, "wb")
        self._file.write(self._header())

    def _header(self):
        shape = (self.rows, *self.row_shape)
        text = (f"{{'descr': {self.dtype.str!r}, 'fortran_order': False, "
                f"'shape': {shape!r}, }}")
        magic = b"\x93NUMPY\x01\x00"
        body = text.ljust(_HEADER_BYTES - len(magic) - 2 - 1) + "\n"
        return magic + len(body).to_bytes(2, "little") + body.encode("latin1")

    def write(self, rows):
        """Append `rows`, shaped (n, *row_shape)."""
        rows = np.ascontiguousarray(rows, self.dtype)
        if rows.shape[1:] != self.row_shape:
            raise ValueError(f"rows shaped {rows.shape[1:]}, expected {self.row_shape}")
        self._file.write(rows.tobytes())
        self.rows += len(rows)

    def close(self):
        self._file.seek(0)
        self._file.write(self._header())
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
