"""AXI protocol checkers for simulation tops: they watch a bus and drive nothing on it.

A checker raises a sticky ``violation`` flag and latches the :class:`Rule` code of the first
broken rule, so a cocotb testbench awaits ``RisingEdge(violation)`` (no per-cycle Python) and
reports :func:`rule_message` of ``rule``. The checkers' registers reset with their domain, so
nothing is checked across a reset.
"""

from amaranth.hdl import Cat, Module, Signal, unsigned
from amaranth.lib import enum, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["Rule", "RULE_MESSAGES", "rule_message", "AxiStreamChecker", "AxiLiteChecker"]


class Rule(enum.Enum, shape=unsigned(5)):
    """The protocol rules the checkers enforce; ``NONE`` while nothing is broken."""
    NONE = 0
    TVALID_DROPPED = 1
    TDATA_CHANGED = 2
    TKEEP_CHANGED = 3
    TLAST_CHANGED = 4
    AW_VALID_DROPPED = 5
    AW_PAYLOAD_CHANGED = 6
    W_VALID_DROPPED = 7
    W_PAYLOAD_CHANGED = 8
    B_VALID_DROPPED = 9
    B_PAYLOAD_CHANGED = 10
    AR_VALID_DROPPED = 11
    AR_PAYLOAD_CHANGED = 12
    R_VALID_DROPPED = 13
    R_PAYLOAD_CHANGED = 14
    B_WITHOUT_REQUEST = 15
    R_WITHOUT_REQUEST = 16


RULE_MESSAGES = {
    Rule.NONE: "no violation",
    Rule.TVALID_DROPPED: "TVALID dropped before TREADY",
    Rule.TDATA_CHANGED: "TDATA changed while TVALID and not TREADY",
    Rule.TKEEP_CHANGED: "TKEEP changed while TVALID and not TREADY",
    Rule.TLAST_CHANGED: "TLAST changed while TVALID and not TREADY",
} | {
    Rule[f"{ch}_VALID_DROPPED"]: f"{ch}VALID dropped before {ch}READY"
    for ch in ("AW", "W", "B", "AR", "R")
} | {
    Rule[f"{ch}_PAYLOAD_CHANGED"]:
        f"{ch} channel payload changed while {ch}VALID and not {ch}READY"
    for ch in ("AW", "W", "B", "AR", "R")
} | {
    Rule.B_WITHOUT_REQUEST: "BVALID without an accepted write address and write data",
    Rule.R_WITHOUT_REQUEST: "RVALID without an accepted read address",
}


def rule_message(code):
    """The message for a ``rule`` port value (an int or a :class:`Rule`).

    Raises
    ------
    ValueError
        If `code` is not a rule code.
    """
    try:
        return RULE_MESSAGES[Rule(code)]
    except ValueError:
        raise ValueError(f"unknown protocol rule code {code!r}") from None


def _watch_channel(m, valid, ready, dropped, fields):
    """Conditions of a channel's broken rules, [(condition, rule)] in priority order.

    `dropped` is the rule broken by VALID falling before READY; `fields` is [(value, rule)]:
    each payload field with the rule its change while stalled breaks.
    """
    stalled = Signal()              # the previous cycle had valid and not ready
    m.d.sync += stalled.eq(valid & ~ready)
    conditions = [(stalled & ~valid, dropped)]
    for value, rule in fields:
        saved = Signal(len(value))
        m.d.sync += saved.eq(value)
        conditions.append((stalled & valid & (value != saved), rule))
    return conditions


def _latch_first(m, component, conditions):
    with m.If(~component.violation):
        with m.If(conditions[0][0]):
            m.d.sync += [component.violation.eq(1), component.rule.eq(conditions[0][1])]
        for condition, rule in conditions[1:]:
            with m.Elif(condition):
                m.d.sync += [component.violation.eq(1), component.rule.eq(rule)]


class _Checker(wiring.Component):
    def watch(self, m, bus):
        """Drive the checker's inputs from `bus` (any object with the watched member names,
        either side of the interface), combinationally in module `m`."""
        m.d.comb += [getattr(self.bus, name).eq(getattr(bus, name))
                     for name in self.bus.signature.members]


class AxiStreamChecker(_Checker):
    """Checks one AXI4-Stream interface: TVALID held until TREADY, and TDATA, TKEEP and TLAST
    stable while TVALID is high and TREADY low.

    Parameters
    ----------
    data_width : int
        ``tdata`` width.
    keep : bool
        Whether the interface has ``tkeep``.

    Members
    -------
    bus : ``In(Signature)``
        ``tdata``, ``tkeep`` (with `keep`), ``tlast``, ``tvalid``, ``tready``, all inputs.
    violation : ``Out(1)``
        Sticky: some rule was broken.
    rule : ``Out(Rule)``
        The first broken rule (``Rule.NONE`` until then).
    """

    def __init__(self, data_width, *, keep):
        members = {"tdata": In(data_width)}
        if keep:
            members["tkeep"] = In(data_width // 8)
        members |= {"tlast": In(1), "tvalid": In(1), "tready": In(1)}
        self.keep = bool(keep)
        super().__init__({
            "bus": In(wiring.Signature(members)),
            "violation": Out(1),
            "rule": Out(Rule),
        })

    def elaborate(self, platform):
        m = Module()
        bus = self.bus
        fields = [(bus.tdata, Rule.TDATA_CHANGED)]
        if self.keep:
            fields.append((bus.tkeep, Rule.TKEEP_CHANGED))
        fields.append((bus.tlast, Rule.TLAST_CHANGED))
        _latch_first(m, self, _watch_channel(m, bus.tvalid, bus.tready, Rule.TVALID_DROPPED,
                                              fields))
        return m


class AxiLiteChecker(_Checker):
    """Checks an AXI4-Lite interface: on all five channels VALID held until READY and the
    payload stable while stalled; a write response only after an accepted write address and
    write data, a read response only after an accepted read address.

    Outstanding transactions are counted in 8 bits, far above what an AXI4-Lite manager
    keeps in flight.

    Parameters
    ----------
    addr_width : int
    data_width : int
        32 or 64.

    Members
    -------
    bus : ``In(Signature)``
        ``awaddr, awprot, awvalid, awready, wdata, wstrb, wvalid, wready, bresp, bvalid,
        bready, araddr, arprot, arvalid, arready, rdata, rresp, rvalid, rready``, all inputs.
    violation : ``Out(1)``
    rule : ``Out(Rule)``
    """

    def __init__(self, addr_width=12, data_width=32):
        super().__init__({
            "bus": In(wiring.Signature({
                "awaddr": In(addr_width), "awprot": In(3), "awvalid": In(1), "awready": In(1),
                "wdata": In(data_width), "wstrb": In(data_width // 8), "wvalid": In(1),
                "wready": In(1),
                "bresp": In(2), "bvalid": In(1), "bready": In(1),
                "araddr": In(addr_width), "arprot": In(3), "arvalid": In(1), "arready": In(1),
                "rdata": In(data_width), "rresp": In(2), "rvalid": In(1), "rready": In(1),
            })),
            "violation": Out(1),
            "rule": Out(Rule),
        })

    def elaborate(self, platform):
        m = Module()
        bus = self.bus
        payloads = {
            "AW": Cat(bus.awaddr, bus.awprot), "W": Cat(bus.wdata, bus.wstrb),
            "B": bus.bresp, "AR": Cat(bus.araddr, bus.arprot), "R": Cat(bus.rdata, bus.rresp),
        }
        conditions = []
        for ch, payload in payloads.items():
            valid = getattr(bus, f"{ch.lower()}valid")
            ready = getattr(bus, f"{ch.lower()}ready")
            conditions += _watch_channel(m, valid, ready, Rule[f"{ch}_VALID_DROPPED"],
                                         [(payload, Rule[f"{ch}_PAYLOAD_CHANGED"])])

        outstanding = {}
        for ch, done_by in (("AW", "B"), ("W", "B"), ("AR", "R")):
            count = outstanding[ch] = Signal(8)
            taken = getattr(bus, f"{ch.lower()}valid") & getattr(bus, f"{ch.lower()}ready")
            answered = (getattr(bus, f"{done_by.lower()}valid")
                        & getattr(bus, f"{done_by.lower()}ready"))
            m.d.sync += count.eq(count + taken - answered)
        conditions += [
            (bus.bvalid & ((outstanding["AW"] == 0) | (outstanding["W"] == 0)),
             Rule.B_WITHOUT_REQUEST),
            (bus.rvalid & (outstanding["AR"] == 0), Rule.R_WITHOUT_REQUEST),
        ]
        _latch_first(m, self, conditions)
        return m
