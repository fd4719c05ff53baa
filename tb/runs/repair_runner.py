"""Column repair in co-simulation: the repair flow's array.

A simulator run starts from reset, so a run cannot continue where the previous one left the
device array. :class:`SimulatedArray` therefore plays every programming pass made so far
again in each run: the memdiode array is seeded and each cell's noise is indexed by the cell
and its pulse count, so the passes replayed give the same results as before, and the last
one continues from exactly the state a real array would be in.
"""

import numpy as np

from cocotbext.axi import AxiResp

from cimtile.spec.mapping import check_remap

from ..transport.exchange import SimulationError
from .host_runner import Op, play
from ..transport.results import ProgramRun

__all__ = ["SimulatedArray"]


class SimulatedArray:
    """The co-simulated host tile and its memdiode array, behind the repair flow
    (:func:`cimtile.models.repair.repair`).

    Parameters
    ----------
    cfg : Config
    faults : array (rows, cols_phys) of 0/1/2
    seed : int
        Seeds the device array, as the golden model does.
    drive : ``"bulk"`` or ``"vip"``

    Members
    -------
    runs : int
        Simulator runs so far.
    last : ProgramRun or None
        The device after the latest run (``state``, ``conductance``) and its programming
        results over every pass.
    """

    def __init__(self, cfg, faults, *, seed=0, drive="bulk", verbose=False):
        self.cfg, self.seed, self.drive, self.verbose = cfg, seed, drive, verbose
        self.faults = np.asarray(faults, np.int64)
        self.passes = []            # (targets, rect, remap written before it)
        self.remap = np.zeros(cfg.cols_data, np.int64)
        self.runs, self.last, self._read_back = 0, None, None
        self.build_s = self.wall_s = 0.0

    def program(self, levels, rect):
        # A copy: the caller goes on changing its targets for later passes.
        self.passes.append((np.array(levels, np.int64), rect, self.remap.copy()))
        records = self._play()
        return records[-1]["converged"].astype(bool)

    def set_remap(self, remap):
        self.remap = check_remap(remap, self.cfg)

    def read_remap(self):
        if self._read_back is None or not np.array_equal(self._read_back[0], self.remap):
            self._play()
        return self._read_back[1]

    def cell_results(self):
        """Per cell of the array, from the last pass that programmed it: ``(pulses,
        converged, programmed)``, each shaped (rows, cols_phys); ``programmed`` is False
        for cells no pass reached (untried spares)."""
        shape = (self.cfg.tile.rows, self.cfg.cols_phys)
        pulses, converged = np.zeros(shape, np.int64), np.zeros(shape, bool)
        programmed = np.zeros(shape, bool)
        first = 0
        for _, rect, _ in self.passes:
            n = rect.shape[0] * rect.shape[1]
            window = (slice(rect.row_first, rect.row_last + 1),
                      slice(rect.col_first, rect.col_last + 1))
            pulses[window] = self.last.pulses[first:first + n].reshape(rect.shape)
            converged[window] = self.last.converged[first:first + n].reshape(rect.shape)
            programmed[window] = True
            first += n
        return pulses, converged, programmed

    def _play(self):
        """One run: every pass so far, each after the remap table written before it, then
        the current table written and read back."""
        cfg, settings = self.cfg, self.cfg.write_verify
        ops, arrays, written = [], {"faults": self.faults, "seed": self.seed}, None
        for n, (levels, rect, remap) in enumerate(self.passes):
            if written is None or not np.array_equal(written, remap):
                arrays[f"remap{n}"] = remap
                ops.append(Op.driver("load_remap", {"remap": f"remap{n}"},
                                     every=written is not None))
                written = remap
            targets = levels[rect.row_first:rect.row_last + 1,
                             rect.col_first:rect.col_last + 1].reshape(-1)
            arrays[f"targets{n}"] = targets
            budget = targets.size * (settings.max_pulses + 1) * (
                settings.pulse_width + cfg.timing.t_settle + cfg.timing.t_adc + 8) + 1000
            ops.append(Op.driver("program", {"targets": f"targets{n}"}, cells=targets.size,
                                 settings=settings, rect=rect, budget=budget))
        arrays["remap"] = self.remap
        ops += [Op.driver("load_remap", {"remap": "remap"}, every=written is not None),
                Op.driver("read_remap")]
        played = play(cfg, ops, arrays, drive=self.drive, verbose=self.verbose)
        self.runs += 1
        self.build_s += played.build_s
        self.wall_s += played.wall_s
        refused = [r["write_refused"] for r in played.records if "write_refused" in r]
        if refused:
            raise SimulationError(f"repair: {refused[0]}")
        runs = [r for op, r in zip(ops, played.records) if op["sequence"] == "program"]
        for record in runs:
            if (record["start_resp"][0] != AxiResp.OKAY or record["refused"][0]
                    or record["timeout"][0]):
                raise SimulationError("a write-verify pass was refused or did not finish")
        self._read_back = (self.remap.copy(), played.records[-1]["answer"])
        self.last = ProgramRun(
            pulses=np.concatenate([r["pulses"] for r in runs]),
            converged=np.concatenate([r["converged"] for r in runs]).astype(bool),
            cycles_total=played.cycles, state=played.arrays["state"],
            conductance=played.arrays["conductance"], reads=int(played.arrays["reads"]),
            pulses_applied=int(played.arrays["pulses_applied"]), build_s=played.build_s,
            wall_s=played.wall_s)
        return runs
