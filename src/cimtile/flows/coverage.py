"""Functional coverage of a regression: bins, hit counts, merging and reports.

The counting happens in RTL (:mod:`cimtile.tb.tops.coverage_monitor`) and, for the few bins only
the stimulus knows (weights and stuck cells it drew), in Python; a run hands its counts here
as ``{"group/name": count}``. Merging adds counts bin by bin, so seeds run anywhere (another
process, another machine) combine in any order into one result.

cocotb-coverage samples its cover points from Python coroutines, once per event; counting
at every event in Python is what the co-simulation avoids (one Python wake-up per hundred
MVMs), so the bins are counted by a monitor in the simulated top and only merged and
reported here, which needs no more than this module.
"""

import json

__all__ = ["Coverage", "CoverageError"]


class CoverageError(ValueError):
    """A coverage file or a set of counts that does not fit the declared bins."""


class Coverage:
    """Hit counts of declared bins.

    Parameters
    ----------
    bins : iterable of str
        ``"group/name"`` of every declared bin.

    Members
    -------
    counts : dict of str to int
        Hits per bin (0 for a bin not hit yet), in declaration order.
    """

    def __init__(self, bins):
        self.counts = {}
        for name in bins:
            group, sep, rest = str(name).partition("/")
            if not sep or not group or not rest:
                raise CoverageError(f"bin names are 'group/name', not {name!r}")
            self.counts[str(name)] = 0

    def add(self, counts):
        """Add `counts` (``{bin: hits}``); every bin named must be declared."""
        for name, hits in counts.items():
            if name not in self.counts:
                raise CoverageError(f"counts name an undeclared bin {name!r}")
            if int(hits) < 0:
                raise CoverageError(f"bin {name!r}: hits must be >= 0, not {hits}")
            self.counts[name] += int(hits)
        return self

    def merged(self, other):
        """A new :class:`Coverage` over the bins of both, with their counts added."""
        result = Coverage(list(self.counts) + [b for b in other.counts if b not in self.counts])
        return result.add(self.counts).add(other.counts)

    @property
    def hit(self):
        return sum(1 for hits in self.counts.values() if hits)

    @property
    def total(self):
        return len(self.counts)

    @property
    def percent(self):
        return 100.0 * self.hit / self.total if self.total else 100.0

    def holes(self):
        """Bins never hit, in declaration order."""
        return [name for name, hits in self.counts.items() if not hits]

    def groups(self):
        """``{group: (hit, total)}`` in declaration order."""
        table = {}
        for name, hits in self.counts.items():
            group = name.partition("/")[0]
            hit, total = table.get(group, (0, 0))
            table[group] = (hit + bool(hits), total + 1)
        return table

    def table(self):
        """The coverage table as text: bins hit / total per group, then the holes."""
        rows = [(group, f"{hit}/{total}", f"{100.0 * hit / total:5.1f} %")
                for group, (hit, total) in self.groups().items()]
        rows.append(("total", f"{self.hit}/{self.total}", f"{self.percent:5.1f} %"))
        width = max(len(r[0]) for r in rows)
        lines = [f"{'group':<{width}}  {'bins':>9}  {'covered':>8}"]
        lines += [f"{g:<{width}}  {b:>9}  {p:>8}" for g, b, p in rows]
        holes = self.holes()
        if holes:
            lines.append(f"holes ({len(holes)}):")
            lines += [f"  {name}" for name in holes]
        return "\n".join(lines)

    def to_json(self, **extra):
        """JSON text: the summary, every bin's count and the holes, plus `extra` keys."""
        return json.dumps({"hit": self.hit, "total": self.total,
                           "percent": round(self.percent, 2),
                           "groups": {g: {"hit": h, "total": t}
                                      for g, (h, t) in self.groups().items()},
                           "bins": self.counts, "holes": self.holes(), **extra}, indent=1)

    @classmethod
    def from_json(cls, text, source="coverage"):
        """The coverage in JSON `text` written by :meth:`to_json`."""
        try:
            data = json.loads(text)
            bins = data["bins"]
        except (ValueError, KeyError, TypeError) as error:
            raise CoverageError(f"{source}: not a coverage file ({error})") from None
        if not isinstance(bins, dict):
            raise CoverageError(f"{source}: bins must be an object of counts")
        return cls(bins).add(bins)
