"""The locks of the build cache's keys, and removal that never leaves a damaged entry.

An entry of key ``<key>`` is ``verilator-<key>`` under the root, filled in
``verilator-<key>.*.tmp`` under an exclusive lock of ``verilator-<key>.lock``. It is removed
under its key's lock held exclusively, renamed to a partial entry's name first (a removal
failing midway leaves a partial entry, never a damaged complete one), and its lock file with
it; whoever locked that file meanwhile locks the one now at its path.
"""

import contextlib
import fcntl
import os
import secrets
import shutil

__all__ = ["PREFIX", "KeyLock", "entry_key", "remove_key", "remove_path"]

PREFIX = "verilator-"


class KeyLock:
    """The lock file of one key, opened on first use (close it with :meth:`close`).

    The file may be removed by a process holding it exclusively; whoever locked the removed
    file meanwhile finds another file (or none) at its path, and locks that one instead.
    """

    def __init__(self, root, key):
        self.path = root / f"{PREFIX}{key}.lock"
        self._file = None

    def acquire(self, operation):
        """``flock`` the file at the path; raises BlockingIOError as ``flock`` does."""
        while True:
            if self._file is None:
                self._file = open(self.path, "a")
            fcntl.flock(self._file, operation)
            with contextlib.suppress(FileNotFoundError):
                if os.path.samestat(os.fstat(self._file.fileno()), os.stat(self.path)):
                    return
            self.close()

    def remove(self):
        """Remove the lock file, which the caller holds exclusively."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    def close(self):
        if self._file is not None:
            self._file.close()
            self._file = None


def entry_key(path):
    """The key in the name of an entry or of a partial one."""
    return path.name.removeprefix(PREFIX).split(".")[0]


def remove_path(path):
    """Remove the file or directory `path`; a directory is first renamed to a partial
    entry's name, so one that is only partly removed is never taken as complete.

    Raises
    ------
    OSError
        If some of it could not be removed.
    """
    try:
        if not path.is_dir() or path.is_symlink():
            path.unlink()
            return
        if path.suffix != ".tmp":
            partial = path.with_name(f"{path.name}.{secrets.token_hex(4)}.tmp")
            os.rename(path, partial)
            path = partial
        shutil.rmtree(path)
    except FileNotFoundError:
        pass


def remove_key(root, key, path=None):
    """Remove `path` (an entry or partial entry of `key`), then the key's lock file if
    nothing of the key is left, unless a process holds the key; return whether it did."""
    with contextlib.closing(KeyLock(root, key)) as lock:
        try:
            lock.acquire(fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        if path is not None:
            remove_path(path)
        if not (os.path.lexists(root / f"{PREFIX}{key}")
                or any(root.glob(f"{PREFIX}{key}.*.tmp"))):
            lock.remove()
    return True
