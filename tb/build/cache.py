"""The build cache's entries: directories keyed by content, filled once, checked on use.

An entry is filled in a temporary directory under an exclusive file lock of its key
(:mod:`.cache_lock`) and published by renaming it, so a reader never sees half an entry.
Its ``COMPLETE`` marker records the size, modification time and SHA-256 of its binary: every
use compares size and time, the first use in a process and :func:`verify` the whole hash,
so bit rot under an unchanged time is found too. An entry whose binary no longer matches is
removed and filled again. Users hold the key's lock shared, so an entry is never refilled
or evicted (:mod:`.cache_evict`) under them. Where the cache lives and its size cap are
:mod:`.cache_settings`'s; the names the commands use are importable from here.
"""

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import tempfile
import time
from pathlib import Path

from .cache_evict import cache_clear, cache_info, evict
from .cache_lock import PREFIX, KeyLock, remove_path
from .cache_settings import CacheError, cache_root, checked_root, reason, size_cap, unusable

__all__ = ["CacheError", "cache_clear", "cache_info", "cache_root", "holding", "verify"]

_log = logging.getLogger(__name__)

# (entry path, recorded SHA-256) of the entries whose binary this process has hashed.
_verified = set()


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
    cap, root = size_cap(), checked_root(create=True)
    entry = root / f"{PREFIX}{key}"
    start, waited = time.perf_counter(), False
    with contextlib.closing(KeyLock(root, key)) as lock:
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
                evict(root, keep=key, cap=cap)
        with contextlib.suppress(OSError):
            os.utime(entry)  # its last use, for eviction
        yield entry, time.perf_counter() - start if waited else 0.0


def _fill(root, key, fill, binary, marker):
    """Fill and publish the entry of `key`, whose lock the caller holds exclusively."""
    entry = root / f"{PREFIX}{key}"
    try:
        remove_path(entry)
    except OSError as error:
        raise unusable(root, f"{entry.name} cannot be removed "
                              f"({reason(error)})") from None
    for stale in root.glob(f"{PREFIX}{key}.*.tmp"):
        with contextlib.suppress(OSError):
            remove_path(stale)  # left by a killed process that was filling it
    work = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{key}.", suffix=".tmp", dir=root))
    try:
        fill(work)
        record = _binary_record(work / binary)
        _write_marker(work, {**marker, "binary": record})
        os.rename(work, entry)
    finally:
        with contextlib.suppress(OSError):
            remove_path(work)
    _verified.add((os.path.abspath(entry), record["sha256"]))
    os.utime(entry)
