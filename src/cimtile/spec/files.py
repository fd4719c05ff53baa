"""Inputs and outputs of the ``cimtile`` commands.

Array files are read without unpickling and without trusting their headers: a header that
promises more data than the file holds is refused before anything is allocated. Exit
statuses and the error line are here too; paths are checked by :mod:`.path_checks` and
outputs staged by :mod:`.output_files`, both importable from here, where the commands
import all of their file handling.
"""

import argparse
import contextlib
import math
import sys
import zipfile
import zlib
from pathlib import Path

from numpy.lib import format as npy_format

from .mapping import DataError, check_input_shape, check_inputs, check_weights, validated_inputs
from .npy_rows import NpyRows
from .output_files import OutputFiles
from .path_checks import InputError, check_paths, regular_file

__all__ = ["EXIT_FAILURE", "EXIT_BAD_INPUT", "InputError", "print_error", "path_arg",
           "read_npy", "read_npz", "load_weights", "load_inputs", "check_paths",
           "OutputFiles"]

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2

_NPY_MAGIC = b"\x93NUMPY"
#: Input vectors checked at a time by :func:`open_inputs`.
_CHECK_ROWS = 65536
# What reading a damaged or hostile file can raise besides OSError: numpy's header parser
# (ValueError, or OverflowError for dimensions beyond C integers), a short read (EOFError),
# a damaged archive (BadZipFile, zlib.error), an encrypted or oddly compressed member
# (RuntimeError, NotImplementedError).
_READ_ERRORS = (ValueError, OverflowError, EOFError, zipfile.BadZipFile, zlib.error,
                RuntimeError, NotImplementedError)


def print_error(message, status):
    """Print ``cimtile: error: <message>`` on stderr and return the exit `status`."""
    print(f"cimtile: error: {message}", file=sys.stderr)
    return status


def path_arg(text):
    """An argparse ``type`` for file and directory names: any but the empty one."""
    if not text:
        raise argparse.ArgumentTypeError("empty file name")
    return text


def _read_array(file, size, where):
    """The array in `file` (``size`` bytes from its start), its header checked first."""
    shape, dtype = _checked_header(file, size, where)
    file.seek(0)
    try:
        return npy_format.read_array(file, allow_pickle=False)
    except MemoryError:
        raise InputError(f"{where}: {dtype} shaped {shape} does not fit in memory") from None


def _checked_header(file, size, where):
    """``(shape, dtype)`` from the header of the ``.npy`` array in `file` (``size`` bytes),
    checked against the file's size."""
    version = npy_format.read_magic(file)
    if version == (1, 0):
        shape, _, dtype = npy_format.read_array_header_1_0(file)
    elif version == (2, 0):
        shape, _, dtype = npy_format.read_array_header_2_0(file)
    else:
        raise InputError(f"{where}: unsupported .npy format version {version}")
    if any(n < 0 for n in shape):
        raise InputError(f"{where}: the header declares shape {shape}")
    # Object arrays hold pickles, whose size says nothing; read_array refuses them below.
    if not dtype.hasobject:
        need, have = math.prod(shape) * dtype.itemsize, size - file.tell()
        if need > have:
            raise InputError(f"{where}: the header declares {dtype} shaped {shape} "
                             f"({need:,} bytes) but the file holds {have:,}")
    return shape, dtype

@contextlib.contextmanager
def _reading(where):
    """Turn what reading a file can raise into one :class:`InputError` line starting with
    `where`."""
    try:
        yield
    except InputError:
        raise
    except OSError as error:
        raise InputError(f"{where}: {error.strerror or error}") from None
    except _READ_ERRORS as error:
        raise InputError(f"{where}: {error}") from None


def read_npy(path, what):
    """The array in the ``.npy`` file `path`; `what` names it in messages.

    Raises
    ------
    InputError
        If the name does not end in ``.npy``, or the file cannot be read, is not in
        ``.npy`` format, holds objects, or is shorter than its header says.
    """
    with _npy_file(path, what) as (file, size, where):
        return _read_array(file, size, where)


@contextlib.contextmanager
def _npy_file(path, what):
    """``(file, size, where)`` of the ``.npy`` file `path`, its name and format checked,
    with read errors turned into one :class:`InputError` line starting with `where`."""
    path = Path(path)
    if path.suffix != ".npy":
        raise InputError(f"{path}: {what} must be a .npy file")
    where = f"{path}: cannot read {what}"
    with _reading(where):
        size = regular_file(path, where)
        with open(path, "rb") as file:
            if file.read(len(_NPY_MAGIC)) != _NPY_MAGIC:
                raise InputError(f"{path}: {what} file is not in .npy format")
            file.seek(0)
            yield file, size, where


def read_npz(path, what):
    """The arrays of the ``.npz`` archive `path`, by key; `what` names it in messages.

    Raises
    ------
    InputError
        If the file cannot be read or is not a zip archive of ``.npy`` members, or a
        member holds objects or is shorter than its header says. Every message starts with
        ``<path>: cannot read <what>: ``.
    """
    path = Path(path)
    where = f"{path}: cannot read {what}"
    with _reading(where):
        regular_file(path, where)
        with open(path, "rb") as file:
            if file.read(len(_NPY_MAGIC)) == _NPY_MAGIC:
                raise InputError(f"{where}: a .npy file, not an .npz archive")
        arrays = {}
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                key = info.filename.removesuffix(".npy")
                if key == info.filename:
                    raise InputError(f"{where}: member {info.filename} is not a .npy array")
                with archive.open(info) as member:
                    arrays[key] = _read_array(member, info.file_size, f"{where}: {key}")
        return arrays


def _checked(path, what, check, cfg):
    try:
        return check(read_npy(path, what), cfg)
    except DataError as error:
        raise InputError(f"{path}: {error}") from None


def load_weights(path, cfg):
    """The weights in `path`, checked against the tile of `cfg` (as int64)."""
    return _checked(path, "weights", check_weights, cfg)


def load_inputs(path, cfg):
    """The input vectors in `path`, checked against the tile of `cfg` (as int64)."""
    return _checked(path, "inputs", check_inputs, cfg)


def open_inputs(path, cfg):
    """The input vectors in `path` for a run that reads them a chunk at a time
    (:class:`~cimtile.spec.npy_rows.NpyRows`), checked against the tile of `cfg` as
    :func:`load_inputs` checks them, a chunk at a time."""
    with _npy_file(path, "inputs") as (file, size, where):
        shape, _ = _checked_header(file, size, where)
    path = Path(path)
    with _reading(where):
        try:
            rows = NpyRows(path)
        except ValueError:
            # Objects: load_inputs says what is wrong.
            return load_inputs(path, cfg)
        try:
            check_input_shape(shape, cfg)
            first_row = 0
            for chunk in rows.chunks(_CHECK_ROWS):
                validated_inputs(chunk, cfg, first_row)
                first_row += len(chunk)
        except DataError as error:
            raise InputError(f"{path}: {error}") from None
    return rows
