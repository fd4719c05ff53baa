"""One verdict for every comparison of results with an expectation.

Every check (the golden model against a co-simulation, an emulator or a board, a sweep's
spot checks, the scoreboard, a regression seed) compares with :func:`compare` and hands on
the :class:`Verdict` it returns: how many results were compared, how many differ and where
the first difference is, with both values. The command line turns verdicts into its exit
status in one place.
"""

from dataclasses import dataclass

import numpy as np

__all__ = ["Verdict", "compare", "combine"]


@dataclass(frozen=True)
class Verdict:
    """The outcome of comparing results with their expectation.

    Members
    -------
    check : str
        What the results were compared with (``"golden model"``).
    compared : int
        Results compared: the larger of the given and the expected count.
    differ : int
        Results that differ, missing and unexpected ones included.
    index : int or None
        The first result that differs (None when none does).
    column : int or None
        Its first differing column (None for one-value results, or when the result is
        missing, unexpected or shaped unlike its expectation).
    got, expected : int, float, bool or None
        The values at the first difference (None where there is no value).
    noun : str
        What a result is called in :meth:`describe` (``"results"``, ``"cells"``).
    """
    check: str
    compared: int
    differ: int
    index: int | None = None
    column: int | None = None
    got: int | float | bool | None = None
    expected: int | float | bool | None = None
    noun: str = "results"

    @property
    def ok(self):
        """True when no result differs."""
        return self.differ == 0

    def where(self):
        """The first difference as ``at [index, column]: got G, expected E`` (None if ok)."""
        if self.ok:
            return None
        place = [self.index] if self.column is None else [self.index, self.column]
        if self.got is None and self.expected is None:
            return f"at {place}"
        return f"at {place}: got {self.got}, expected {self.expected}"

    def describe(self):
        """One line for messages: counts, the check and the first difference."""
        text = f"{self.differ} of {self.compared} {self.noun} differ from the {self.check}"
        return text if self.ok else f"{text}, first {self.where()}"

    def first_difference(self):
        """The first difference as a JSON-ready dict for reports (None if ok)."""
        if self.ok:
            return None
        return {"index": self.index, "column": self.column, "got": self.got,
                "expected": self.expected}

    def report(self, prefix="golden"):
        """The report's keys: ``<prefix>_mismatches`` and, when a result differs,
        ``<prefix>_first_difference``."""
        fields = {f"{prefix}_mismatches": self.differ}
        if not self.ok:
            fields[f"{prefix}_first_difference"] = self.first_difference()
        return fields


def _scalar(value):
    return value.item() if hasattr(value, "item") else value


def compare(check, got, expected, *, noun="results", start=0):
    """Compare results `got` with `expected`, result by result (row by row).

    Parameters
    ----------
    check : str
        What `expected` comes from (see :class:`Verdict`).
    got, expected : array_like
        One result per row: shaped (N,) for one-value results, (N, ...) otherwise.
    noun : str
        What a result is called.
    start : int
        Index of the first row (for a chunk of a longer run).

    Returns
    -------
    Verdict
        A row differs if any of its values differs; rows past the shorter array differ,
        and so does every row when the results are shaped unlike their expectation.
    """
    got, expected = np.asarray(got), np.asarray(expected)
    compared = max(len(got), len(expected))
    if got.shape[1:] != expected.shape[1:]:
        return Verdict(check, compared, compared, start if compared else None, noun=noun)
    n = min(len(got), len(expected))
    unequal = (got[:n] != expected[:n]).reshape(n, -1) if n else np.zeros((0, 1), bool)
    rows = np.flatnonzero(unequal.any(axis=1))
    differ = len(rows) + compared - n
    if not differ:
        return Verdict(check, compared, 0, noun=noun)
    if not len(rows):
        return Verdict(check, compared, differ, start + n, noun=noun)
    row = int(rows[0])
    if got.ndim == 1:
        return Verdict(check, compared, differ, start + row, None, _scalar(got[row]),
                       _scalar(expected[row]), noun)
    column = int(np.flatnonzero(unequal[row])[0])
    return Verdict(check, compared, differ, start + row, column,
                   _scalar(got[row].reshape(-1)[column]),
                   _scalar(expected[row].reshape(-1)[column]), noun)


def combine(verdicts, *, check=None, noun=None):
    """One verdict over several of the same check: the counts added, the first difference
    of the first that has one (`check` and `noun` default to the first verdict's)."""
    verdicts = list(verdicts)
    if not verdicts:
        return Verdict(check or "", 0, 0, noun=noun or "results")
    failed = next((v for v in verdicts if not v.ok), verdicts[0])
    return Verdict(check or verdicts[0].check, sum(v.compared for v in verdicts),
                   sum(v.differ for v in verdicts), failed.index, failed.column, failed.got,
                   failed.expected, noun or verdicts[0].noun)
