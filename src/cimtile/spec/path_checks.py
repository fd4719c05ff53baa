"""Paths of a command, checked before any work starts: inputs must be regular files, outputs
writable and not directories, directories creatable, and no path may name an input or
another output (links included).
"""

import os
import stat
import tempfile
from pathlib import Path

__all__ = ["InputError", "check_paths", "identity", "regular_file"]


class InputError(ValueError):
    """A command-line argument, input file or output path is unusable; the message names
    it."""


def regular_file(path, where):
    """The size of `path`, refusing what could block or never end when read (FIFOs,
    devices); directories are left to open(), whose error says so."""
    info = os.stat(path)
    if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
        raise InputError(f"{where}: not a regular file")
    return info.st_size


def identity(path):
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
            regular_file(path, f"{path}: {option}")
    for path, option in outputs:
        _check_output(path, option)
    for path, option in directories:
        _check_directory(path, option)
    seen = {}
    for path, option in inputs + outputs + directories:
        key = identity(path)
        if key in seen and (path, option) not in inputs:
            first, first_option = seen[key]
            raise InputError(f"{path}: {option} is the same file as {first_option} {first}")
        seen.setdefault(key, (path, option))
