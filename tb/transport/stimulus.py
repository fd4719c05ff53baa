"""The stimulus knobs of one co-simulation run, shared by the launchers and the benches."""

from dataclasses import dataclass

__all__ = ["Scenario"]


@dataclass(frozen=True)
class Scenario:
    """Stimulus knobs of one co-simulation run.

    Members
    -------
    seed : int
        Seeds the analog model (as the golden model does) and the stimulus timing.
    in_gap_prob, in_gap_max : float, int
        After each input transfer, with probability ``in_gap_prob`` the driver idles for
        1..``in_gap_max`` cycles.
    out_stall_prob, out_stall_max : float, int
        Before each output transfer, with probability ``out_stall_prob`` the monitor holds
        ``o_stream__ready`` low for 1..``out_stall_max`` cycles.
    reset_after_requests : int
        When >= 0, reset the tile one cycle after this many analog requests have been
        answered, then check that no stale output appears and stream ``X_after_reset``.
    strict : bool
        Fail the simulation on any mismatch with the golden model (otherwise only count).
    """
    seed: int = 0
    in_gap_prob: float = 0.0
    in_gap_max: int = 0
    out_stall_prob: float = 0.0
    out_stall_max: int = 0
    reset_after_requests: int = -1
    strict: bool = True
