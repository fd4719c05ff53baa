"""Checks the tile's result vectors, in order, against the golden model: each difference
logged as it arrives, the verdict (:func:`cimtile.models.verdict.compare`) at the end."""

import logging

import numpy as np
from cocotb.triggers import Event

from cimtile.models.golden import GOLDEN
from cimtile.models.verdict import compare

from ..transport.packing import unpack_fields

__all__ = ["Scoreboard"]


class Scoreboard:
    """Decodes ``o_stream`` payloads and compares them with expected result rows.

    Parameters
    ----------
    cfg : Config
    expected : array (M, cols) of int
        The golden results, in input order.
    name : str
        Names the batch in log messages.

    Members
    -------
    received : list of numpy.ndarray
        Decoded results in arrival order (including any beyond `expected`).
    stamps : list of int
        Cycle of each arrival.
    mismatches : int
        Arrivals that differ from their expected row, counted as they arrive (the first
        :attr:`MAX_REPORTED` are logged).
    extra : int
        Arrivals beyond the expected count.
    done : Event
        Set when as many results as expected have arrived.
    """

    MAX_REPORTED = 5

    def __init__(self, cfg, expected, name="batch"):
        self._cols = cfg.tile.cols
        self._width = cfg.result_width
        self.expected = np.asarray(expected)
        self.name = name
        self.received = []
        self.stamps = []
        self.mismatches = 0
        self.extra = 0
        self.done = Event()
        self.log = logging.getLogger("cocotb.tb.scoreboard")
        if len(self.expected) == 0:
            self.done.set()

    def on_transfer(self, payload, cycle):
        y = unpack_fields(payload, self._cols, self._width, signed=True)
        index = len(self.received)
        self.received.append(y)
        self.stamps.append(cycle)
        if index >= len(self.expected):
            self.extra += 1
            self.log.error("%s: unexpected result #%d at cycle %d: %s",
                           self.name, index, cycle, y.tolist())
            return
        want = self.expected[index]
        if not np.array_equal(y, want):
            self.mismatches += 1
            if self.mismatches <= self.MAX_REPORTED:
                cols = np.flatnonzero(y != want)
                self.log.error("%s: result #%d at cycle %d differs from golden in columns "
                               "%s: got %s, expected %s", self.name, index, cycle,
                               cols.tolist(), y[cols].tolist(), want[cols].tolist())
        if len(self.received) == len(self.expected):
            self.done.set()

    def results(self):
        """Received results as an int64 array (N, cols)."""
        if not self.received:
            return np.zeros((0, self._cols), np.int64)
        return np.array(self.received, np.int64)

    def verdict(self):
        """The results that arrived against the expected ones they answer (those that did
        not arrive, or were not expected, are :meth:`summary`'s)."""
        n = min(len(self.received), len(self.expected))
        return compare(GOLDEN, self.results()[:n], self.expected[:n],
                       noun=f"{self.name} results")

    def summary(self):
        """Results missing or unexpected so far, one phrase each (empty when all is well)."""
        problems = []
        if self.extra:
            problems.append(f"{self.extra} unexpected {self.name} results")
        if len(self.received) < len(self.expected):
            problems.append(f"only {len(self.received)} of {len(self.expected)} "
                            f"{self.name} results arrived")
        return problems
