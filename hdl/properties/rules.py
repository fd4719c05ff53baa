"""The registry of a harness's properties: every rule is a named one-bit signal.

A rule's signal is called ``<kind>__<name>`` (kind ``assert``, ``assume`` or ``cover``) and is
what the ``Assert``, ``Assume`` or ``Cover`` statement tests, so a counterexample trace shows
by name which rule broke, and the signals the rule involves are listed with it for the
cycle table. Past values are reset-less registers: they hold the previous cycle whatever the
reset does, and every rule that looks back also looks at :attr:`Rules.after_reset`.
"""

from dataclasses import dataclass

from amaranth.asserts import AnySeq, Initial
from amaranth.hdl import Assert, Assume, Cover, ResetSignal, Signal, Value

__all__ = ["Rule", "Rules"]

_STATEMENTS = {"assert": Assert, "assume": Assume, "cover": Cover}


@dataclass(frozen=True)
class Rule:
    """One property.

    Attributes
    ----------
    kind : str
        ``"assert"``, ``"assume"`` or ``"cover"``.
    name : str
        Unique within its harness; the rule it states.
    text : str
        The rule in words.
    signal : str
        Name of the one-bit signal the statement tests.
    involved : tuple of str
        Names of the signals a counterexample table shows for it.
    """
    kind: str
    name: str
    text: str
    signal: str
    involved: tuple


class Rules:
    """Collects the rules of one harness module.

    Parameters
    ----------
    m : Module
        The harness; its ``sync`` domain is the one checked, and its reset is the hard reset.
    prove : bool
        Build for k-induction: assertions marked ``inductive=False`` are left out (they are
        true only of states reachable from reset, which induction does not start from).

    Attributes
    ----------
    after_reset : Signal
        High in the cycle after a cycle with the hard reset high, and in the first cycle.
    skipped : list of str
        Assertions left out for ``prove``.
    context : list of str
        Signals every counterexample table shows besides a rule's own (the hard reset
        first).
    """

    def __init__(self, m, *, prove=False):
        self._m = m
        self._prove = prove
        self._rules = {}
        self._names = set()
        self.skipped = []
        self.context = ["rst"]
        self.after_reset = self.past(ResetSignal(), "rst", init=1)

    @property
    def rules(self):
        """Every rule, in the order it was added."""
        return list(self._rules.values())

    def _claim(self, name):
        if name in self._names:
            raise ValueError(f"signal name {name!r} is already used in this harness")
        self._names.add(name)
        return name

    @property
    def module(self):
        """The harness module the rules are added to."""
        return self._m

    def named(self, value, name, shape=None):
        """A signal called `name` (of `shape`, by default the shape of `value`) that follows
        `value`, so a trace shows it by that name."""
        raw = Value.cast(value)
        signal = Signal(raw.shape() if shape is None else shape, name=self._claim(name))
        self._m.d.comb += Value.cast(signal).eq(raw)
        return signal

    def free(self, shape, name):
        """A signal called `name` that the solver may set to any value in every cycle."""
        signal = Signal(shape, name=self._claim(name))
        raw = Value.cast(signal)
        self._m.d.comb += raw.eq(AnySeq(raw.shape()))
        return signal

    def signal(self, shape, name, *, init=None, reset_less=False):
        """A signal called `name` for the caller to drive; driven from ``sync``, it is a
        register that the hard reset clears, unless `reset_less`."""
        return Signal(shape, name=self._claim(name), init=init, reset_less=reset_less)

    def past(self, value, name, *, init=0):
        """`value` in the previous cycle, as a reset-less register called ``past__<name>``."""
        raw = Value.cast(value)
        register = Signal(raw.shape(), name=self._claim(f"past__{name}"), init=init,
                          reset_less=True)
        self._m.d.sync += register.eq(raw)
        return register

    def show(self, signal):
        """Show `signal` (a named signal of the harness) in every counterexample table."""
        self.context.append(self._signal_name(signal))

    def hard_reset(self):
        """Assume the hard reset high in the first cycle; it is free afterwards."""
        self.assume("reset_first", ~Initial() | ResetSignal(),
                    "the hard reset is high in the first cycle")

    def _add(self, kind, name, test, text, involved):
        if name in self._rules:
            raise ValueError(f"rule {name!r} is already defined in this harness")
        signal = self.named(test, f"{kind}__{name}")
        names = tuple(dict.fromkeys(self._signal_name(v) for v in involved))
        self._rules[name] = Rule(kind, name, text, signal.name, names)
        self._m.d.comb += _STATEMENTS[kind](signal, text)
        return signal

    @staticmethod
    def _signal_name(value):
        raw = Value.cast(value)
        if not isinstance(raw, Signal):
            raise TypeError(f"an involved signal must be a named Signal, not {raw!r}")
        return raw.name

    def assert_(self, name, holds, text, involved=(), *, inductive=True):
        """Check that `holds` is high in every cycle."""
        if self._prove and not inductive:
            self.skipped.append(name)
            return None
        return self._add("assert", name, holds, text, involved)

    def assume(self, name, holds, text, involved=()):
        """Constrain the free inputs so that `holds` is high in every cycle."""
        return self._add("assume", name, holds, text, involved)

    def cover(self, name, reached, text, involved=()):
        """Show a trace in which `reached` is high."""
        return self._add("cover", name, reached, text, involved)
