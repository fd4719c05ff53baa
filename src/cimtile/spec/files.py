"""Inputs and outputs of the ``cimtile`` commands.

Array files are read without unpickling and without trusting their headers: a header that
promises more data than the file holds is refused before anything is allocated. Output
paths are checked before any work starts (writable, not a directory, not the same file as
an input or another output), and outputs are staged next to their targets and published
together once the command has succeeded, so a failed or interrupted command leaves neither
an output nor a temporary file behind.
"""

import argparse
import contextlib
import math
import os
import signal
import stat
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path

from numpy.lib import format as npy_format

from .mapping import DataError, check_input_shape, check_inputs, check_weights, validated_inputs
from .npy_rows import NpyRows

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


class InputError(ValueError):
    """A command-line argument, input file or output path is unusable; the message names
    it."""


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


def _regular_file(path, where):
    """The size of `path`, refusing what could block or never end when read (FIFOs,
    devices); directories are left to open(), whose error says so."""
    info = os.stat(path)
    if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
        raise InputError(f"{where}: not a regular file")
    return info.st_size


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
        size = _regular_file(path, where)
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
        _regular_file(path, where)
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


def _identity(path):
    """What makes two names the same file: device and inode when it exists (symbolic and
    hard links alike), otherwise the resolved name."""
    try:
        info = os.stat(path)
    except OSError:
        return os.path.realpath(path)
    return info.st_dev, info.st_ino


def _check_writable_dir(directory, path, option):
    try:
        fd, probe = tempfile.mkstemp(prefix=".cimtile-probe.", suffix=".tmp", dir=directory)
    except OSError as error:
        raise InputError(f"{path}: {option} directory {directory} is not writable: "
                         f"{error.strerror or error}") from None
    os.close(fd)
    os.unlink(probe)


def _check_output(path, option):
    text = os.fspath(path)
    path = Path(path)
    if text.endswith(os.sep) or path.name in ("", ".", ".."):
        raise InputError(f"{text}: {option} names a directory, not a file")
    if path.is_dir():
        raise InputError(f"{path}: {option} is a directory")
    if path.exists() and not path.is_file():
        raise InputError(f"{path}: {option} must be a regular file")
    parent = path.parent
    if not parent.is_dir():
        problem = "is not a directory" if parent.exists() else "does not exist"
        raise InputError(f"{path}: {option} directory {parent} {problem}")
    _check_writable_dir(parent, path, option)


def _check_directory(path, option):
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"{path}: {option} must be a directory")
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(f"{path}: {option} cannot be created: {existing} is not a "
                         "directory")
    _check_writable_dir(existing, path, option)


def check_paths(inputs=(), outputs=(), directories=()):
    """Refuse, before any work, outputs that cannot be written or that name an input or
    another output.

    Parameters
    ----------
    inputs, outputs, directories : iterable of (path or None, option)
        Files read, files written, and directories written into (created if missing). An
        option not given (path None) is skipped.

    Raises
    ------
    InputError
        Naming the path and its option: an input that is not a regular file or directory;
        an output that is a directory or not a regular file, or whose directory is missing
        or not writable; a directory that is a file or cannot be created; a path named
        twice.
    """
    inputs, outputs, directories = ([(p, o) for p, o in group if p is not None]
                                    for group in (inputs, outputs, directories))
    for path, option in inputs:
        if os.path.exists(path):
            _regular_file(path, f"{path}: {option}")
    for path, option in outputs:
        _check_output(path, option)
    for path, option in directories:
        _check_directory(path, option)
    seen = {}
    for path, option in inputs + outputs + directories:
        key = _identity(path)
        if key in seen and (path, option) not in inputs:
            first, first_option = seen[key]
            raise InputError(f"{path}: {option} is the same file as {first_option} {first}")
        seen.setdefault(key, (path, option))


@contextlib.contextmanager
def _signals_deferred():
    """Hold SIGINT and SIGTERM until the block ends, so that an interrupt cannot leave a
    temporary file unrecorded or the outputs half published."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


class OutputFiles:
    """Outputs staged next to their targets and published together.

    Used as a context manager: leaving the block normally publishes every staged file
    (os.replace), leaving it by an exception (an error or an interrupt) deletes them and
    the directories :meth:`directory` created.

    Parameters
    ----------
    inputs : iterable of (path or None, option)
        The command's input files; an output naming one of them is refused.
    """

    def __init__(self, inputs=()):
        self._inputs = [(path, option) for path, option in inputs if path is not None]
        self._staged = []
        self._created = []
        self._mode = 0o666 & ~_umask()

    def directory(self, path, option):
        """Create the directory `path` (and missing parents) for the outputs of
        `option`."""
        missing = []
        for directory in [Path(path), *Path(path).parents]:
            if directory.exists():
                break
            missing.append(directory)
        for directory in reversed(missing):
            try:
                with _signals_deferred():
                    directory.mkdir()
                    self._created.append(directory)
            except OSError as error:
                raise InputError(f"{path}: cannot create {option}: "
                                 f"{error.strerror or error}") from None

    def _claim(self, path, option):
        key = _identity(path)
        for other, other_option in self._inputs + [(p, o) for _, p, o in self._staged]:
            if _identity(other) == key:
                raise InputError(f"{path}: {option} is the same file as {other_option} "
                                 f"{other}")

    def _temporary(self, path, option, suffix):
        path = Path(path)
        self._claim(path, option)
        try:
            with _signals_deferred():
                fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix,
                                           dir=path.parent)
                self._staged.append((tmp, path, option))
        except OSError as error:
            raise InputError(f"{path}: cannot write {option}: {error.strerror or error}") \
                from None
        os.close(fd)
        os.chmod(tmp, self._mode)
        return tmp

    def reserve(self, path, option):
        """The name of a staged file for `path` (the output of `option`) that the caller
        writes itself, e.g. through a simulator, before the block ends. It ends like
        `path`, for writers that choose a format by the name's suffix."""
        return self._temporary(path, option, f".tmp{Path(path).suffix}")

    def stage(self, path, option, write):
        """Stage `path` (the output of `option`), written by ``write(binary file)``."""
        tmp = self._temporary(path, option, ".tmp")
        try:
            with open(tmp, "wb") as file:
                write(file)
        except OSError as error:
            raise InputError(f"{path}: cannot write {option}: {error.strerror or error}") \
                from None

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        with _signals_deferred():
            if kind is None:
                self._publish()
            else:
                self._discard()

    def _publish(self):
        for index, (tmp, path, option) in enumerate(self._staged):
            try:
                os.replace(tmp, path)
            except OSError as error:
                self._staged = self._staged[index:]
                self._discard()
                raise InputError(f"{path}: cannot write {option}: "
                                 f"{error.strerror or error}") from None

    def _discard(self):
        for tmp, _, _ in self._staged:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        for directory in reversed(self._created):
            with contextlib.suppress(OSError):
                directory.rmdir()
