"""A VALID/READY channel: what its sender promises.

AXI4-Stream (ARM IHI 0051, 2.2.1), every AXI4-Lite channel (ARM IHI 0022, A3.2.1) and
Amaranth's ``lib.stream`` share the rule: once VALID is high it stays high until READY takes
the transfer, and the payload does not change meanwhile. A reset ends the obligation, and the
cycle after a reset has VALID low (the sender's registers were just cleared). VALID must not
wait for READY (AXI4-Stream 2.2.1: "a transmitter is not permitted to wait until TREADY is
asserted before asserting TVALID"), which one copy of the sender cannot show: a twin of it,
fed the same inputs but READY, can.
"""

from amaranth.hdl import Value

__all__ = ["channel_rules", "valid_independent_of_ready"]


def channel_rules(rules, name, *, valid, ready, payload, assume=False,
                  words=("VALID", "READY"), covers=True):
    """Add the rules of the channel `name` to `rules`: asserted when the design sends on it,
    assumed (``assume=True``) when the environment does.

    Parameters
    ----------
    rules : :class:`~.rules.Rules`
    name : str
        Prefix of the rule names, e.g. ``m_axis_out``.
    valid, ready : Signal
    payload : dict of str to Signal
        Payload members by the name used in the rule (``tdata``, ``bresp``, ...).
    assume : bool
    words : (str, str)
        How the rule texts call VALID and READY (``TVALID``, ``BVALID``, ...).
    covers : bool
        Add covers of a transfer and of a stall.

    Returns
    -------
    Value
        The transfer condition, ``valid & ready``.
    """
    add = rules.assume if assume else rules.assert_
    v, r = words
    was_stalled = rules.past(valid & ~ready, f"{name}__stalled")
    stalled = was_stalled & ~rules.after_reset
    add(f"{name}__valid_held_until_ready", ~stalled | valid,
        f"{name}: {v} stays high until {r}", [valid, ready, was_stalled, rules.after_reset])
    for label, value in payload.items():
        before = rules.past(value, f"{name}__{label}")
        add(f"{name}__{label}_stable_while_stalled",
            ~stalled | (Value.cast(value) == before),
            f"{name}: {label} does not change while {v} is high and {r} low",
            [valid, ready, value, before, was_stalled, rules.after_reset])
    add(f"{name}__valid_low_after_reset", ~rules.after_reset | ~valid,
        f"{name}: {v} is low in the cycle after a reset", [valid, rules.after_reset])
    if covers:
        rules.cover(f"{name}__transfer", valid & ready, f"{name}: a transfer", [valid, ready])
        rules.cover(f"{name}__stall", valid & ~ready, f"{name}: a stalled offer",
                    [valid, ready])
    return valid & ready


def valid_independent_of_ready(rules, name, *, valid, ready, twin_valid, twin_ready):
    """Assert that the sender's `valid` does not depend on `ready` in the same cycle.

    `twin_valid` and `twin_ready` are the channel's signals on a twin of the sender that
    has had every input equal to the sender's since the first cycle, but its ``ready``,
    which is free. While the two ``ready`` have agreed in every cycle before, the twins are
    in one state, so their VALIDs may differ only if VALID follows READY.
    """
    # Reset-less: a reset does not bring the twins' memories back into one state.
    agreed = rules.signal(1, f"{name}__twin_agreed", init=1, reset_less=True)
    rules.module.d.sync += agreed.eq(agreed & (ready == twin_ready))
    rules.assert_(f"{name}__valid_independent_of_ready", ~agreed | (valid == twin_valid),
                  f"{name}: VALID does not depend on READY",
                  [valid, ready, twin_valid, twin_ready, agreed])
