"""Ring halves as files, written ahead and read behind by threads of their own.

A ring of the bulk top loads a half from a file, and a recorder dumps one. Cutting a
batch's entries into halves, turning them into file bytes and writing them, and parsing a
dumped half and checking its results, is work for every half; here threads do it while the
simulator runs the model (cocotb's lock is released during a free run, and numpy releases
it while it computes), so that a refill or a drain is a rename. :class:`HalfFiles` writes
each half under a name of its own and stays a few halves ahead of the rings that have taken
fewest, so a long batch is never held whole; :class:`HalfReader` hands the dumped halves to
their reader in order.
"""

import os
import queue
import threading
from pathlib import Path

import numpy as np

from .memfiles import fread_image, parse_hex_image

__all__ = ["HalfFiles", "HalfReader"]


class HalfFiles:
    """The halves of rings `names`, cut from `chunks` and written by a thread as
    ``<prefix><name>_<k>.bin`` in `directory`.

    Parameters
    ----------
    chunks : iterator of tuple
        One entry array (or None: no entries) per ring of `names`, in that order.
    names : sequence of str
    sizes : dict of str to int
        Each ring's half, in entries.
    directory : path
    prefix : str
    ahead : int or None
        The thread waits while every ring still to be fed has `ahead` halves written and
        not taken by :meth:`take` (None: it never waits).

    An exception raised while making the entries is raised by :meth:`take`.
    """

    def __init__(self, chunks, names, sizes, directory=".", *, prefix="ahead_", ahead=2):
        self.names = tuple(names)
        self._directory, self._prefix, self._ahead = Path(directory), prefix, ahead
        self._ready = {name: queue.SimpleQueue() for name in self.names}
        self._waiting = dict.fromkeys(self.names, 0)
        self._open = set(self.names)
        self._changed = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._write, args=(chunks, sizes),
                                        name="cimtile-half-files", daemon=True)
        self._thread.start()

    def take(self, name):
        """The next half of ring `name` as ``(path, entries)``, or None after its last."""
        item = self._ready[name].get()
        if isinstance(item, BaseException):
            raise item
        with self._changed:
            self._waiting[name] -= 1
            self._changed.notify()
        return item

    def close(self):
        """Stop writing; the thread ends at its next half."""
        with self._changed:
            self._closed = True
            self._changed.notify()

    def _write(self, chunks, sizes):
        cutters = {name: _Cutter(sizes[name]) for name in self.names}
        counts = dict.fromkeys(self.names, 0)
        try:
            for chunk in chunks:
                for name, entries in zip(self.names, chunk):
                    if entries is not None:
                        for block in cutters[name].add(entries):
                            counts[name] = self._put(name, counts[name], block)
            for name in self.names:
                block = cutters[name].rest()
                if block is not None:
                    counts[name] = self._put(name, counts[name], block)
                self._end(name, None)
        except _Closed:
            return
        except BaseException as error:  # raised by take, in the testbench's thread
            for name in self.names:
                self._end(name, error)

    def _put(self, name, count, block):
        with self._changed:
            while self._ahead is not None and not self._closed and all(
                    self._waiting[other] >= self._ahead for other in self._open):
                self._changed.wait()
            if self._closed:
                raise _Closed
            self._waiting[name] += 1
        path = self._directory / f"{self._prefix}{name}_{count}.bin"
        path.write_bytes(fread_image(block))
        self._ready[name].put((path, len(block)))
        return count + 1

    def _end(self, name, item):
        with self._changed:
            self._open.discard(name)
            self._waiting[name] += 1
            self._changed.notify()
        self._ready[name].put(item)


class HalfReader:
    """Dumped halves of `entry_bytes`-byte entries, parsed and handed to `sink` (which takes
    an array (n, entry_bytes) of little-endian rows) in order by a thread of its own.

    An exception raised by `sink` is raised by :meth:`finish`; the halves after it are
    not read.
    """

    def __init__(self, sink, entry_bytes):
        self._sink, self._entry_bytes = sink, entry_bytes
        self._halves = queue.SimpleQueue()
        self._read = 0
        self._error = None
        self._thread = threading.Thread(target=self._run, name="cimtile-half-reader",
                                        daemon=True)
        self._thread.start()

    def read(self, path, entries):
        """Read the first `entries` entries of the half just dumped to `path`: it is moved
        aside at once, so the recorder may dump the next one there."""
        aside = Path(f"{path}.{self._read}")
        os.replace(path, aside)
        self._read += 1
        self._halves.put((aside, entries))

    def finish(self):
        """Wait until every half was handed over."""
        self._halves.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def _run(self):
        while (half := self._halves.get()) is not None:
            path, entries = half
            if self._error is None:
                try:
                    self._sink(parse_hex_image(path.read_bytes(), self._entry_bytes)[:entries])
                except BaseException as error:  # raised by finish, in the testbench's thread
                    self._error = error
            path.unlink(missing_ok=True)


class _Closed(Exception):
    """The reader closed the files: the writing thread stops."""


class _Cutter:
    """Entry arrays (n, bytes) cut into arrays of exactly `half` entries, fed a chunk at a
    time; :meth:`rest` is the last, shorter one."""

    def __init__(self, half):
        self.half, self.pending, self.size = half, [], 0

    def add(self, entries):
        self.pending.append(entries)
        self.size += len(entries)
        while self.size >= self.half:
            block = self.pending[0] if len(self.pending) == 1 else np.concatenate(self.pending)
            yield block[:self.half]
            self.pending, self.size = [block[self.half:]], self.size - self.half

    def rest(self):
        return np.concatenate(self.pending) if self.size else None
