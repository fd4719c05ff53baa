"""The build cache: directories keyed by content, checked on use, evicted when unused.

Entries live under a root (``$CIMTILE_CACHE``, default ``~/.cache/cimtile``) as
``verilator-<key>``. An entry is filled in a temporary directory (``verilator-<key>.*.tmp``)
under an exclusive file lock of its key (``verilator-<key>.lock``) and published by renaming
it, so a reader never sees half an entry. Its ``COMPLETE`` marker records the size,
modification time and SHA-256 of its binary: every use compares size and time, the first use
in a process and :func:`verify` the whole hash, so bit rot under an unchanged time is found
too. An entry whose binary no longer matches is removed and filled again. Users hold the
key's lock shared, so an entry is never refilled or evicted under them.

An entry is removed under its key's lock held exclusively, renamed to a partial entry's name
first (a removal failing midway leaves a partial entry, never a damaged complete one), and
its lock file with it; whoever locked that file meanwhile locks the one now at its path.

Small files written whole share the root, the size cap and the clearing, one folder per
kind: the syntheses of :mod:`cimtile.flows.ppa.area` (``area/<key>.json``) and the elaborated
Verilog of :mod:`cimtile.tb.build.elaboration` (``verilog/<key>.v``), each written through
``<key>.<pid>.tmp`` and renamed. Reading one leaves no mark, so its last use is the later of
its modification and access times, as the file system records them (``relatime``: at least
daily).

The cache holds at most ``$CIMTILE_CACHE_MAX_MB`` megabytes, ASCII digits from 0 to
:data:`MAX_MB` (unset or empty: :data:`DEFAULT_MAX_MB`). After each new entry is published,
partial entries left by killed processes and then the least recently used entries beyond the
cap are removed (with 0, every entry not in use). A malformed cap, or a root that is not a
writable directory, raises :class:`CacheError` before anything is written.
"""

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISDIR

from cimtile.spec.config import ConfigError

__all__ = ["DEFAULT_MAX_MB", "MAX_MB", "CacheError", "CacheEntry", "CacheInfo",
           "cache_clear", "cache_info", "cache_root", "holding", "store_directory", "verify"]

#: Size cap of the cache, in megabytes, unless ``$CIMTILE_CACHE_MAX_MB`` sets another.
DEFAULT_MAX_MB = 2048
#: Largest ``$CIMTILE_CACHE_MAX_MB``: 2**30 MB, a pebibyte, more than any disk holds.
MAX_MB = 1 << 30

_PREFIX = "verilator-"
#: Folders of small files written whole, by kind.
STORES = ("area", "verilog", "toggles")
# A stored file is written in milliseconds: a partial one this old was left by a killed
# process.
_STALE_S = 600
_log = logging.getLogger(__name__)

# (entry path, recorded SHA-256) of the entries whose binary this process has hashed.
_verified = set()


class CacheError(ConfigError):
    """The cache root or its size cap is unusable (bad input); the message names it."""


def cache_root():
    """Root of the build cache: ``$CIMTILE_CACHE`` or ``~/.cache/cimtile``."""
    return Path(os.environ.get("CIMTILE_CACHE") or Path.home() / ".cache" / "cimtile")


def _cap():
    """Size cap of the cache in bytes, from ``$CIMTILE_CACHE_MAX_MB``."""
    value = os.environ.get("CIMTILE_CACHE_MAX_MB", "")
    if not value:
        return DEFAULT_MAX_MB << 20
    # str.isdigit alone accepts "²", which int() refuses; int() refuses over 4300 digits.
    digits = value.lstrip("0") or "0"
    if not (value.isascii() and value.isdigit()) or len(digits) > len(str(MAX_MB)) \
            or int(digits) > MAX_MB:
        shown = repr(value) if len(value) <= 40 else f"{value[:40]!r}..."
        raise CacheError(f"$CIMTILE_CACHE_MAX_MB must be a whole number of megabytes "
                         f"from 0 to {MAX_MB}, not {shown}")
    return int(digits) << 20


def _shown(path):
    """`path` as one printable line."""
    text = str(path)
    return text if text.isprintable() else repr(text)


def _reason(error):
    return error.strerror or str(error)


def _unusable(root, problem):
    return CacheError(f"build cache {_shown(root)} is unusable: {problem} (set "
                      f"$CIMTILE_CACHE to a writable directory)")


def _checked_root(*, create):
    """The cache root, checked to be a directory this process can write into.

    An absent root is created if `create`, else ``None`` is returned. Writability is tried,
    not inferred from mode bits: with an unnamed temporary file, which leaves nothing.
    """
    root = cache_root()
    try:
        if not S_ISDIR(os.stat(root).st_mode):
            raise _unusable(root, "not a directory")
    except FileNotFoundError:
        if os.path.islink(root):
            raise _unusable(root, "a symbolic link to nothing") from None
        if not create:
            return None
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise _unusable(root, _reason(error)) from None
    except OSError as error:  # a symbolic link loop, a file on the way, no permission
        raise _unusable(root, _reason(error)) from None
    try:
        with tempfile.TemporaryFile(dir=root):
            pass
    except OSError:
        raise _unusable(root, "not writable") from None
    return root


def store_directory(kind):
    """The folder of the stored files of `kind` (one of :data:`STORES`), created if needed.

    Raises
    ------
    CacheError
        If the cache root, the folder or ``$CIMTILE_CACHE_MAX_MB`` is unusable.
    """
    _cap()
    if kind not in STORES:
        raise ValueError(f"kind must be one of {', '.join(STORES)}, not {kind!r}")
    folder = _checked_root(create=True) / kind
    try:
        folder.mkdir(exist_ok=True)
    except OSError as error:
        raise _unusable(folder, "not a directory" if os.path.lexists(folder)
                        else _reason(error)) from None
    return folder


class _KeyLock:
    """The lock file of one key, opened on first use (close it with :meth:`close`).

    The file may be removed by a process holding it exclusively; whoever locked the removed
    file meanwhile finds another file (or none) at its path, and locks that one instead.
    """

    def __init__(self, root, key):
        self.path = root / f"{_PREFIX}{key}.lock"
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


def _key_of(path):
    """The key in the name of an entry or of a partial one."""
    return path.name.removeprefix(_PREFIX).split(".")[0]


def _remove(path):
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


def _binary_record(path):
    stat = path.stat()
    with open(path, "rb") as file:
        digest = hashlib.file_digest(file, "sha256").hexdigest()
    return {"name": path.name, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
            "sha256": digest}


def _write_marker(entry, content):
    tmp = entry / "COMPLETE.tmp"
    tmp.write_text(json.dumps(content))
    os.replace(tmp, entry / "COMPLETE")


def _damage(entry):
    """Why `entry` cannot be used: ``None`` if it can, ``"absent"`` if it does not exist.

    The binary is hashed (about 0.1 s for 150 MB) on the entry's first use in this process,
    and whenever its size or modification time differ from those recorded at publication; a
    binary with its recorded digest is then accepted, its record updated if need be.
    """
    if not entry.exists():
        return "absent"
    if not entry.is_dir():
        return "not a directory"
    try:
        marker = json.loads((entry / "COMPLETE").read_text())
        record = marker["binary"]
        binary = entry / record["name"]
        stat = binary.stat()
        same = (stat.st_size, stat.st_mtime_ns) == (record["size"], record["mtime_ns"])
        known = (os.path.abspath(entry), record["sha256"])
        if same and known in _verified:
            return None
        current = _binary_record(binary)
    except FileNotFoundError as error:
        return f"{Path(error.filename).name} missing"
    except (KeyError, TypeError):
        return "its COMPLETE marker records no binary"
    except (OSError, ValueError) as error:
        return f"unreadable ({error})"
    if current["sha256"] != record["sha256"]:
        sizes = ("same size, another SHA-256" if current["size"] == record["size"]
                 else f"{current['size']} bytes, {record['size']} built")
        return f"{record['name']} changed since it was built: {sizes}"
    _verified.add(known)
    if not same:
        with contextlib.suppress(OSError):
            _write_marker(entry, {**marker, "binary": current})
    return None


def verify(entry):
    """Hash the binary of `entry` again: why it is damaged, or ``None`` if it is intact.

    For a run that failed unexpectedly on an entry it holds (a path :func:`holding`
    yielded). A damaged entry is no longer trusted by this process: the next
    :func:`holding` of its key removes and fills it again, with a warning.
    """
    path = os.path.abspath(entry)
    _verified.difference_update({known for known in _verified if known[0] == path})
    return _damage(Path(entry))


@contextlib.contextmanager
def holding(key, fill, *, binary, marker):
    """Hold the complete entry of `key`, filling it first if it is absent or damaged.

    Yields ``(path, wait_s)``: ``wait_s`` is 0 when the entry was complete, else the time
    spent filling it or waiting for another process that was. While the block runs, the
    entry is neither refilled nor evicted. A damaged entry is logged as a warning, removed
    and filled again.

    Parameters
    ----------
    key : str
    fill : callable
        ``fill(directory)`` writes the entry's files into an empty directory; it is called
        under the key's exclusive lock, and whatever it raises leaves nothing behind.
    binary : str
        Name of the file in the entry that is checked on every use.
    marker : dict
        JSON-ready content recorded in the entry's ``COMPLETE`` marker.

    Raises
    ------
    CacheError
        If the cache root or size cap is unusable.
    """
    cap, root = _cap(), _checked_root(create=True)
    entry = root / f"{_PREFIX}{key}"
    start, waited = time.perf_counter(), False
    with contextlib.closing(_KeyLock(root, key)) as lock:
        while True:
            lock.acquire(fcntl.LOCK_SH)
            if _damage(entry) is None:
                break
            # Not atomic (flock drops the shared lock first), so the entry is checked again
            # under the shared lock once filled.
            lock.acquire(fcntl.LOCK_EX)
            waited = True
            damage = _damage(entry)
            if damage is not None:
                if damage != "absent":
                    _log.warning("build cache entry %s is damaged (%s); rebuilding", entry,
                                 damage)
                try:
                    _fill(root, key, fill, binary, marker)
                except BaseException:
                    lock.remove()
                    raise
                _evict(root, keep=key, cap=cap)
        with contextlib.suppress(OSError):
            os.utime(entry)  # its last use, for eviction
        yield entry, time.perf_counter() - start if waited else 0.0


def _fill(root, key, fill, binary, marker):
    """Fill and publish the entry of `key`, whose lock the caller holds exclusively."""
    entry = root / f"{_PREFIX}{key}"
    try:
        _remove(entry)
    except OSError as error:
        raise _unusable(root, f"{entry.name} cannot be removed "
                              f"({_reason(error)})") from None
    for stale in root.glob(f"{_PREFIX}{key}.*.tmp"):
        with contextlib.suppress(OSError):
            _remove(stale)  # left by a killed process that was filling it
    work = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{key}.", suffix=".tmp", dir=root))
    try:
        fill(work)
        record = _binary_record(work / binary)
        _write_marker(work, {**marker, "binary": record})
        os.rename(work, entry)
    finally:
        with contextlib.suppress(OSError):
            _remove(work)
    _verified.add((os.path.abspath(entry), record["sha256"]))
    os.utime(entry)


@dataclass(frozen=True)
class CacheEntry:
    """One entry of the build cache: a Verilator build or a stored file.

    Members
    -------
    path : Path
    size : int
        Bytes of its files.
    last_use : float
        When it was last used or built (POSIX time).
    complete : bool
        False for a partial entry: one being built or written, or left by a killed process.
    """
    path: Path
    size: int
    last_use: float
    complete: bool


@dataclass(frozen=True)
class CacheInfo:
    """The build cache: its `root`, `entries` (most recently used first), their `total`
    size and the size `cap`, both in bytes."""
    root: Path
    entries: tuple
    total: int
    cap: int


def _tree_size(path):
    if not path.is_dir():
        return path.lstat().st_size
    return sum(os.lstat(os.path.join(folder, name)).st_size
               for folder, _, names in os.walk(path) for name in names)


def _listing(folder):
    """Paths in `folder`; none if it does not exist."""
    try:
        with os.scandir(folder) as found:
            return [Path(item.path) for item in found]
    except FileNotFoundError:
        return []
    except OSError as error:
        raise _unusable(folder, _reason(error)) from None


def _entries(root):
    entries = []
    for path in _listing(root):
        if not path.name.startswith(_PREFIX) or path.suffix == ".lock":
            continue
        with contextlib.suppress(FileNotFoundError):  # removed meanwhile
            entries.append(CacheEntry(path, _tree_size(path), path.lstat().st_mtime,
                                      path.suffix != ".tmp"
                                      and (path / "COMPLETE").is_file()))
    for store in STORES:
        folder = root / store
        if not folder.is_dir() or folder.is_symlink():
            continue
        for path in _listing(folder):
            with contextlib.suppress(FileNotFoundError):
                stat = path.lstat()
                entries.append(CacheEntry(path, stat.st_size,
                                          max(stat.st_atime, stat.st_mtime),
                                          path.suffix != ".tmp"))
    return sorted(entries, key=lambda entry: entry.last_use, reverse=True)


def _remove_unused(root, entry):
    """Remove `entry` unless a process uses it; return whether it was removed.

    Raises
    ------
    OSError
        If some of it could not be removed.
    """
    if entry.path.parent != root:  # a stored file, written whole by a rename
        if entry.path.suffix == ".tmp" and time.time() - entry.last_use < _STALE_S:
            return False
        _remove(entry.path)
        return True
    return _remove_of_key(root, _key_of(entry.path), entry.path)


def _remove_of_key(root, key, path=None):
    """Remove `path` (an entry or partial entry of `key`), then the key's lock file if
    nothing of the key is left, unless a process holds the key; return whether it did."""
    with contextlib.closing(_KeyLock(root, key)) as lock:
        try:
            lock.acquire(fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        if path is not None:
            _remove(path)
        if not (os.path.lexists(root / f"{_PREFIX}{key}")
                or any(root.glob(f"{_PREFIX}{key}.*.tmp"))):
            lock.remove()
    return True


def _evict(root, *, keep, cap):
    """Remove partial entries left by killed processes, then the least recently used
    entries while the cache exceeds `cap` bytes, sparing those of key `keep` and those in
    use."""
    entries = _entries(root)
    total = sum(entry.size for entry in entries)
    partial = [entry for entry in entries if entry.path.suffix == ".tmp"]
    oldest_first = [entry for entry in reversed(entries) if entry.path.suffix != ".tmp"]
    for entry in partial + oldest_first:
        if entry.path.suffix != ".tmp" and total <= cap:
            break
        if entry.path.parent == root and _key_of(entry.path) == keep:
            continue
        try:
            if _remove_unused(root, entry):
                total -= entry.size
        except OSError as error:
            _log.warning("build cache entry %s could not be evicted (%s)", entry.path,
                         _reason(error))


def cache_info():
    """The entries of the build cache, their sizes and last use, and the size cap.

    Raises
    ------
    CacheError
        If the cache root or ``$CIMTILE_CACHE_MAX_MB`` is unusable.
    """
    cap, root = _cap(), _checked_root(create=False)
    if root is None:
        return CacheInfo(cache_root(), (), 0, cap)
    entries = tuple(_entries(root))
    return CacheInfo(root, entries, sum(entry.size for entry in entries), cap)


def cache_clear():
    """Remove every entry of the build cache that no process is using or writing, and
    the lock files of keys left with no entry.

    Returns
    -------
    (list of CacheEntry, list of CacheEntry, list of (CacheEntry, str))
        The entries removed; those kept because they were in use; those that could not be
        removed, each with the reason.

    Raises
    ------
    CacheError
        If the cache root or ``$CIMTILE_CACHE_MAX_MB`` is unusable.
    """
    info = cache_info()
    removed, kept, failed = [], [], []
    for entry in info.entries:
        try:
            (removed if _remove_unused(info.root, entry) else kept).append(entry)
        except OSError as error:
            failed.append((entry, _reason(error)))
    for lock in info.root.glob(f"{_PREFIX}*.lock"):
        with contextlib.suppress(OSError):
            _remove_of_key(info.root, _key_of(lock))
    return removed, kept, failed
