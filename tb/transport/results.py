"""What a co-simulation returns: one result type per path.

The bare tile core reports per-vector timing and a mid-run reset (:class:`SimResult`); the
host top reports result frames (:class:`HostRun`); programming reports per-cell results
(:class:`ProgramRun`).
"""

from dataclasses import dataclass

import numpy as np

from cimtile.models.verdict import Verdict

__all__ = ["SimResult", "HostRun", "ProgramRun"]


@dataclass
class SimResult:
    """What one co-simulation produced.

    Members
    -------
    Y : ndarray (N, cols) int64
        Results in arrival order (only those that arrived before a mid-run reset).
    in_cycles, out_cycles : ndarray (N,) int64
        Clock cycle (counted from reset release) of each input and output transfer.
    request_cycles : ndarray int64
        Cycle of every analog request (rising ``analog__sample``).
    Y_after_reset, out_cycles_after_reset : ndarray
        The batch streamed after a mid-run reset (empty without one).
    stale_outputs : int
        Output transfers seen after a reset before any new input was sent.
    cycles_total : int
        Cycles from reset release to the last output transfer.
    verdict : Verdict
        The results against the golden model.
    build_s, wall_s : float
        Verilator build time (0 when cached) and simulation wall time.
    """
    Y: np.ndarray
    in_cycles: np.ndarray
    out_cycles: np.ndarray
    request_cycles: np.ndarray
    Y_after_reset: np.ndarray
    out_cycles_after_reset: np.ndarray
    stale_outputs: int
    cycles_total: int
    verdict: Verdict
    build_s: float
    wall_s: float

    @property
    def mvms(self):
        return len(self.Y) + len(self.Y_after_reset)

    @property
    def golden_mismatches(self):
        """Result vectors that differ from the golden model (the reports' count)."""
        return self.verdict.differ

    @property
    def cycles_per_mvm(self):
        """Steady-state cycles per MVM: median spacing of consecutive outputs.

        With a single output there is no spacing; its latency from input transfer is used.
        """
        if len(self.out_cycles) >= 2:
            return float(np.median(np.diff(self.out_cycles)))
        if len(self.out_cycles) == 1:
            return float(self.out_cycles[0] - self.in_cycles[0])
        return float("nan")


@dataclass
class HostRun:
    """What one co-simulated batch through the host top produced.

    Members
    -------
    Y : ndarray (N, cols) int64, or NpyRows
        Results in arrival order (in a file, read a chunk at a time, when the run wrote
        them to one).
    frame_cycles : ndarray int64
        Cycle (from reset release) at which each result frame ended.
    frame_vectors : ndarray int64
        Result vectors in each frame.
    first_request : int
        Cycle of the first analog sample request (-1 without one).
    verdict : Verdict
        The results against the golden model.
    build_s, wall_s : float
        Build time (0 when cached) and the simulator's whole run, start-up included.
    stream_s : float
        Time from sending the first vector to receiving the last result.
    wakeups : int or None
        Times the bulk drive woke Python during the batch (None for the VIP drive, which
        wakes it on every beat and bit plane).
    errors : dict or None
        The error against ``X @ W`` (as :func:`cimtile.flows.metrics.error_metrics` gives
        it), when the run counted it on the way (the bulk drive, which reads each chunk of
        inputs once for the stimulus, the answers and every check).
    driven : ndarray (rows,) int64 or None
        Per row, the bit planes that drove it, counted on the same way.
    """
    Y: np.ndarray
    frame_cycles: np.ndarray
    frame_vectors: np.ndarray
    first_request: int
    verdict: Verdict
    build_s: float
    wall_s: float
    stream_s: float
    wakeups: int | None
    errors: dict | None = None
    driven: np.ndarray | None = None

    @property
    def mvms(self):
        return len(self.Y)

    @property
    def golden_mismatches(self):
        """Result vectors that differ from the golden model (the reports' count)."""
        return self.verdict.differ

    @property
    def cycles_total(self):
        """Cycles from reset release to the last result (0 without one)."""
        return int(self.frame_cycles[-1]) if len(self.frame_cycles) else 0

    @property
    def cycles_per_mvm(self):
        """Steady-state cycles per MVM: the median spacing of one-vector frames, else the
        mean over the frames after the first.

        With a single result there is no spacing; its latency from its first analog sample
        request is used. Without results, ``nan``.
        """
        cycles, vectors = self.frame_cycles, np.asarray(self.frame_vectors)
        if len(cycles) >= 2 and (vectors == 1).all():
            return float(np.median(np.diff(cycles)))
        if len(cycles) >= 2:
            return float((cycles[-1] - cycles[0]) / vectors[1:].sum())
        if self.mvms == 1 and self.first_request >= 0:
            return float(cycles[0] - self.first_request)
        return float("nan")


@dataclass
class ProgramRun:
    """What one co-simulated programming produced.

    Members
    -------
    pulses, converged : ndarray
        Per-cell results in programming order (row-major over the rectangle, run after run).
    cycles_total : int
        Cycles from reset release to the end of the last run.
    state, conductance : ndarray (rows, cols_phys)
        Memdiode state lambda and read conductance (uS) of every cell afterwards.
    reads, pulses_applied : int
        Analog requests answered.
    build_s, wall_s : float
    """
    pulses: np.ndarray
    converged: np.ndarray
    cycles_total: int
    state: np.ndarray
    conductance: np.ndarray
    reads: int
    pulses_applied: int
    build_s: float
    wall_s: float
