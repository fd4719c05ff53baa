"""Outputs staged next to their targets and published together once the command has
succeeded, so a failed or interrupted command leaves neither an output nor a temporary file
behind.
"""

import contextlib
import os
import signal
import tempfile
from pathlib import Path

from .path_checks import InputError, identity

__all__ = ["OutputFiles"]


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
        key = identity(path)
        for other, other_option in self._inputs + [(p, o) for _, p, o in self._staged]:
            if identity(other) == key:
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
