"""A VALID/READY channel: what its sender promises.

AXI4-Stream (ARM IHI 0051, 2.2.1), every AXI4-Lite channel (ARM IHI 0022, A3.2.1) and
Amaranth's ``lib.stream`` share the rule: once VALID is high it stays high until READY takes
the transfer, and the payload does not change meanwhile. A reset ends the obligation, and the
cycle after a reset has VALID low (the sender's registers were just cleared).
"""

from amaranth.hdl import Value

__all__ = ["channel_rules"]


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
