"""Random stream pauses as data: per-cycle pause bits computed once from a seed.

The same pattern drives TVALID gaps and TREADY back-pressure in both drive modes: the bus
VIP replays it (:func:`replay`) and the bulk top reads it from a memory, each at the bit of
the current cycle (counted from reset release) modulo the pattern's length.
"""

import numpy as np

__all__ = ["PATTERN_CYCLES", "pause_pattern", "replay"]

#: Cycles in a pattern before it repeats (the bulk top's pattern memory depth): a power of
#: two, so the bulk top's 32-bit cycle count indexes it without a jump when it wraps.
PATTERN_CYCLES = 4096


def pause_pattern(rng, prob, longest, cycles=PATTERN_CYCLES):
    """Pause bits for `cycles` cycles: each unpaused cycle is followed, with probability
    `prob`, by a run of 1..`longest` paused cycles. The last cycle is never paused, so a
    repeated pattern lets a beat through at least once a period.

    Returns
    -------
    numpy.ndarray of bool, shaped (cycles,)
    """
    bits = np.zeros(cycles, bool)
    if not longest or not prob:
        return bits
    at = 0
    while at < cycles:
        if rng.random() < prob:
            run = int(rng.integers(1, longest + 1))
            bits[at:at + run] = True
            at += run
        at += 1
    bits[-1] = False
    return bits


def replay(pattern, first_cycle):
    """A cocotbext-axi pause generator yielding `pattern` from cycle `first_cycle` on."""
    index = first_cycle % len(pattern)
    while True:
        yield bool(pattern[index])
        index = (index + 1) % len(pattern)
