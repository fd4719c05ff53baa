"""The build cache: directories keyed by content, checked on use, evicted when unused.

Entries live under a root (``$CIMTILE_CACHE``, default ``~/.cache/cimtile``) as
``verilator-<key>``. An entry is filled in a temporary directory (``verilator-<key>.*.tmp``)
under an exclusive file lock of its key (``verilator-<key>.lock``) and published by renaming
it, so a reader never sees half an entry. Its ``COMPLETE`` marker records the size,
modification time and SHA-256 of its binary; an entry whose binary no longer matches is
removed and filled again. Users hold the key's lock shared, so an entry is never refilled
or evicted under them.

The cache holds at most ``$CIMTILE_CACHE_MAX_MB`` megabytes (default 2048): after each new
entry is published, partial entries left by killed processes and then the least recently
used entries beyond the cap are removed.
"""

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DEFAULT_MAX_MB", "CacheError", "CacheEntry", "CacheInfo", "cache_clear",
           "cache_info", "cache_root", "holding"]

#: Size cap of the cache, in megabytes, unless ``$CIMTILE_CACHE_MAX_MB`` sets another.
DEFAULT_MAX_MB = 2048

_PREFIX = "verilator-"
_log = logging.getLogger(__name__)


class CacheError(RuntimeError):
    """The cache root or its size cap is unusable; the message names it."""


def cache_root():
    """Root of the build cache: ``$CIMTILE_CACHE`` or ``~/.cache/cimtile``."""
    return Path(os.environ.get("CIMTILE_CACHE") or Path.home() / ".cache" / "cimtile")


def _cap():
    """Size cap of the cache in bytes, from ``$CIMTILE_CACHE_MAX_MB``."""
    value = os.environ.get("CIMTILE_CACHE_MAX_MB") or str(DEFAULT_MAX_MB)
    if not value.isdigit():
        raise CacheError(f"$CIMTILE_CACHE_MAX_MB must be a whole number of megabytes, not "
                         f"{value!r}")
    return int(value) << 20


def _unusable(root, problem):
    return CacheError(f"build cache {root} is unusable: {problem} (set $CIMTILE_CACHE to a "
                      f"writable directory)")


def _usable_root():
    """The cache root, created if needed."""
    root = cache_root()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _unusable(root, "not a directory" if root.exists()
                        else error.strerror or str(error)) from None
    if not os.access(root, os.W_OK | os.X_OK):
        raise _unusable(root, "not writable")
    return root


def _lock_file(root, key):
    return open(root / f"{_PREFIX}{key}.lock", "a")


def _key_of(path):
    """The key in the name of an entry or of a partial one."""
    return path.name.removeprefix(_PREFIX).split(".")[0]


def _remove(path):
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


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

    The binary's size and modification time are compared with those recorded at
    publication; only when they differ is it hashed (about 0.1 s for 150 MB), and a binary
    with its recorded digest is then accepted and its record updated.
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
        if (stat.st_size, stat.st_mtime_ns) == (record["size"], record["mtime_ns"]):
            return None
        current = _binary_record(binary)
    except FileNotFoundError as error:
        return f"{Path(error.filename).name} missing"
    except (KeyError, TypeError):
        return "its COMPLETE marker records no binary"
    except (OSError, ValueError) as error:
        return f"unreadable ({error})"
    if current["sha256"] != record["sha256"]:
        return (f"{record['name']} changed since it was built: {current['size']} bytes, "
                f"{record['size']} built")
    with contextlib.suppress(OSError):
        _write_marker(entry, {**marker, "binary": current})
    return None


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
    root, cap = _usable_root(), _cap()
    entry = root / f"{_PREFIX}{key}"
    start, waited = time.perf_counter(), False
    with _lock_file(root, key) as lock:
        while True:
            fcntl.flock(lock, fcntl.LOCK_SH)
            if _damage(entry) is None:
                break
            # Not atomic (flock drops the shared lock first), so the entry is checked again
            # under the shared lock once filled.
            fcntl.flock(lock, fcntl.LOCK_EX)
            waited = True
            damage = _damage(entry)
            if damage is not None:
                if damage != "absent":
                    _log.warning("build cache entry %s is damaged (%s); rebuilding", entry,
                                 damage)
                _fill(root, key, fill, binary, marker)
                _evict(root, keep=key, cap=cap)
        with contextlib.suppress(OSError):
            os.utime(entry)  # its last use, for eviction
        yield entry, time.perf_counter() - start if waited else 0.0


def _fill(root, key, fill, binary, marker):
    """Fill and publish the entry of `key`, whose lock the caller holds exclusively."""
    entry = root / f"{_PREFIX}{key}"
    _remove(entry)
    for stale in root.glob(f"{_PREFIX}{key}.*.tmp"):
        _remove(stale)  # left by a killed process that was filling it
    work = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{key}.", suffix=".tmp", dir=root))
    try:
        fill(work)
        _write_marker(work, {**marker, "binary": _binary_record(work / binary)})
        os.rename(work, entry)
    finally:
        _remove(work)
    os.utime(entry)


@dataclass(frozen=True)
class CacheEntry:
    """One directory of the build cache.

    Members
    -------
    path : Path
    size : int
        Bytes of its files.
    last_use : float
        When it was last used or built (POSIX time).
    complete : bool
        False for a partial entry: one being built, or left by a killed process.
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


def _entries(root):
    entries = []
    for path in root.glob(f"{_PREFIX}*"):
        if path.suffix == ".lock":
            continue
        with contextlib.suppress(FileNotFoundError):  # removed meanwhile
            entries.append(CacheEntry(path, _tree_size(path), path.lstat().st_mtime,
                                      path.suffix != ".tmp"
                                      and (path / "COMPLETE").is_file()))
    return sorted(entries, key=lambda entry: entry.last_use, reverse=True)


@contextlib.contextmanager
def _unused(root, key):
    """Yield whether the entries of `key` are unused (no process holds or fills them); if
    so, keep them so until the block ends."""
    with _lock_file(root, key) as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
        else:
            yield True


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
        if _key_of(entry.path) == keep:
            continue
        with _unused(root, _key_of(entry.path)) as unused:
            if unused:
                _remove(entry.path)
                total -= entry.size


def cache_info():
    """The entries of the build cache, their sizes and last use, and the size cap.

    Raises
    ------
    CacheError
        If the cache root or ``$CIMTILE_CACHE_MAX_MB`` is unusable.
    """
    root, cap = cache_root(), _cap()
    if root.exists() and not root.is_dir():
        raise _unusable(root, "not a directory")
    entries = tuple(_entries(root)) if root.is_dir() else ()
    return CacheInfo(root, entries, sum(entry.size for entry in entries), cap)


def cache_clear():
    """Remove every entry of the build cache that no process is using or building.

    Returns
    -------
    (list of CacheEntry, list of CacheEntry)
        The entries removed, and those kept because they were in use.

    Raises
    ------
    CacheError
        If the cache root or ``$CIMTILE_CACHE_MAX_MB`` is unusable.
    """
    info = cache_info()
    removed, kept = [], []
    for entry in info.entries:
        with _unused(info.root, _key_of(entry.path)) as unused:
            if unused:
                _remove(entry.path)
            (removed if unused else kept).append(entry)
    return removed, kept
