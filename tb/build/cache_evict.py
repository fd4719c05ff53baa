"""What the build cache holds, and its eviction: the entries with their sizes and last
use, the least recently used removed beyond the size cap, and the clearing.

A stored file leaves no mark when read, so its last use is the later of its modification
and access times, as the file system records them (``relatime``: at least daily). After
each new entry is published, partial entries left by killed processes and then the least
recently used entries beyond the cap are removed (with a cap of 0, every entry not in use).
"""

import contextlib
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from .cache_lock import PREFIX, entry_key, remove_key, remove_path
from .cache_settings import STORES, cache_root, checked_root, reason, size_cap, unusable

__all__ = ["CacheEntry", "CacheInfo", "cache_clear", "cache_info", "evict"]

# A stored file is written in milliseconds: a partial one this old was left by a killed
# process.
_STALE_S = 600
_log = logging.getLogger(__name__)


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
        raise unusable(folder, reason(error)) from None


def _entries(root):
    entries = []
    for path in _listing(root):
        if not path.name.startswith(PREFIX) or path.suffix == ".lock":
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
        remove_path(entry.path)
        return True
    return remove_key(root, entry_key(entry.path), entry.path)


def evict(root, *, keep, cap):
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
        if entry.path.parent == root and entry_key(entry.path) == keep:
            continue
        try:
            if _remove_unused(root, entry):
                total -= entry.size
        except OSError as error:
            _log.warning("build cache entry %s could not be evicted (%s)", entry.path,
                         reason(error))


def cache_info():
    """The entries of the build cache, their sizes and last use, and the size cap.

    Raises
    ------
    CacheError
        If the cache root or ``$CIMTILE_CACHE_MAX_MB`` is unusable.
    """
    cap, root = size_cap(), checked_root(create=False)
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
            failed.append((entry, reason(error)))
    for lock in info.root.glob(f"{PREFIX}*.lock"):
        with contextlib.suppress(OSError):
            remove_key(info.root, entry_key(lock))
    return removed, kept, failed
