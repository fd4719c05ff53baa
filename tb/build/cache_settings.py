"""Where the build cache lives and how much it may hold.

The root is ``$CIMTILE_CACHE`` (default ``~/.cache/cimtile``); the cache holds at most
``$CIMTILE_CACHE_MAX_MB`` megabytes, ASCII digits from 0 to :data:`MAX_MB` (unset or empty:
:data:`DEFAULT_MAX_MB`). A malformed cap, or a root that is not a writable directory, raises
:class:`CacheError` before anything is written.

Small files written whole share the root, the size cap and the clearing, one folder per
kind (:data:`STORES`): the syntheses of :mod:`cimtile.flows.ppa.area` (``area/<key>.json``),
the elaborated Verilog of :mod:`cimtile.tb.build.elaboration` (``verilog/<key>.v``) and the
configurations' typical switching of :mod:`cimtile.flows.ppa.digital`
(``toggles/<key>.json``), each written through ``<key>.<pid>.tmp`` and renamed.
"""

import os
import tempfile
from pathlib import Path
from stat import S_ISDIR

from cimtile.spec.config import ConfigError

__all__ = ["DEFAULT_MAX_MB", "MAX_MB", "STORES", "CacheError", "cache_root", "checked_root",
           "reason", "size_cap", "store_directory", "store", "unusable"]

#: Size cap of the cache, in megabytes, unless ``$CIMTILE_CACHE_MAX_MB`` sets another.
DEFAULT_MAX_MB = 2048
#: Largest ``$CIMTILE_CACHE_MAX_MB``: 2**30 MB, a pebibyte, more than any disk holds.
MAX_MB = 1 << 30

#: Folders of small files written whole, by kind.
STORES = ("area", "verilog", "toggles")


class CacheError(ConfigError):
    """The cache root or its size cap is unusable (bad input); the message names it."""


def cache_root():
    """Root of the build cache: ``$CIMTILE_CACHE`` or ``~/.cache/cimtile``."""
    return Path(os.environ.get("CIMTILE_CACHE") or Path.home() / ".cache" / "cimtile")


def size_cap():
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


def reason(error):
    """What the OSError `error` says went wrong, for a one-line message."""
    return error.strerror or str(error)


def unusable(root, problem):
    """The :class:`CacheError` saying that `root` is unusable because of `problem`."""
    return CacheError(f"build cache {_shown(root)} is unusable: {problem} (set "
                      f"$CIMTILE_CACHE to a writable directory)")


def checked_root(*, create):
    """The cache root, checked to be a directory this process can write into.

    An absent root is created if `create`, else ``None`` is returned. Writability is tried,
    not inferred from mode bits: with an unnamed temporary file, which leaves nothing.
    """
    root = cache_root()
    try:
        if not S_ISDIR(os.stat(root).st_mode):
            raise unusable(root, "not a directory")
    except FileNotFoundError:
        if os.path.islink(root):
            raise unusable(root, "a symbolic link to nothing") from None
        if not create:
            return None
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise unusable(root, reason(error)) from None
    except OSError as error:  # a symbolic link loop, a file on the way, no permission
        raise unusable(root, reason(error)) from None
    try:
        with tempfile.TemporaryFile(dir=root):
            pass
    except OSError:
        raise unusable(root, "not writable") from None
    return root


def store_directory(kind):
    """The folder of the stored files of `kind` (one of :data:`STORES`), created if needed.

    Raises
    ------
    CacheError
        If the cache root, the folder or ``$CIMTILE_CACHE_MAX_MB`` is unusable.
    """
    size_cap()
    if kind not in STORES:
        raise ValueError(f"kind must be one of {', '.join(STORES)}, not {kind!r}")
    folder = checked_root(create=True) / kind
    try:
        folder.mkdir(exist_ok=True)
    except OSError as error:
        raise unusable(folder, "not a directory" if os.path.lexists(folder)
                        else reason(error)) from None
    return folder


def store(entry, text):
    """Write the stored file `entry` whole: through ``<key>.<pid>.tmp``, then renamed, so a
    reader never sees it half written."""
    partial = entry.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(text)
    partial.replace(entry)
