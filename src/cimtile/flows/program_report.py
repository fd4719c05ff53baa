"""Programming reports: the co-simulated run (with or without column repair) checked against
the golden model, and its plot."""

import dataclasses
from dataclasses import dataclass

import numpy as np

from cimtile.behavioral.device import MemdiodeArray
from cimtile.models.golden import GOLDEN
from cimtile.models.program import Rectangle, program_golden
from cimtile.models.repair import GoldenArray, repair
from cimtile.models.verdict import Verdict, combine, compare

from .ppa.report import program_section

__all__ = ["Programmed", "program_weights", "programming_report", "repair_report",
           "plot_programming"]


@dataclass(frozen=True)
class Programmed:
    """What :func:`program_weights` leaves.

    Members
    -------
    report : dict
        The JSON-ready report (:func:`programming_report` or :func:`repair_report`, with
        ``drive``, and with repair ``failed``, ``simulator_runs``, ``wall_s``, ``build_s``).
    verdict : Verdict
        The run against the golden program-and-verify (or repair).
    conductance : ndarray (rows, cols_phys)
        The cells' read conductances afterwards, uS.
    window : (float, float)
        The conductance window the cells were programmed in, uS.
    remap : ndarray (cols_data,)
        The column remap table (all zero without repair).
    plotted : (ndarray, ProgramRun)
        The levels and run :func:`plot_programming` shows: each cell once, its last pass.
    """
    report: dict
    verdict: Verdict
    conductance: np.ndarray
    window: tuple
    remap: np.ndarray
    plotted: tuple


def program_weights(cfg, levels, faults, *, seed=0, drive="bulk", with_repair=False,
                    verbose=False):
    """Program target `levels` into the co-simulated tile with stuck-at map `faults`, with
    column repair on the spares if `with_repair`, and check it against the golden model.

    Returns
    -------
    Programmed

    Raises
    ------
    BuildError, SimulationError
    """
    from cimtile.tb.runs import runner
    remap = np.zeros(cfg.cols_data, np.int64)
    if with_repair:
        from cimtile.tb.runs.repair_runner import SimulatedArray
        array = SimulatedArray(cfg, faults, seed=seed, drive=drive, verbose=verbose)
        outcome = repair(cfg, levels, array)
        run, levels, remap = array.last, outcome.levels, outcome.remap
        report, verdict = repair_report(cfg, levels, faults, seed, run, outcome)
        report |= {"failed": outcome.failed_cells, "simulator_runs": array.runs,
                   "wall_s": round(array.wall_s, 3), "build_s": round(array.build_s, 3)}
        pulses, converged, reached = array.cell_results()
        plotted = (levels[reached], dataclasses.replace(
            run, pulses=pulses[reached], converged=converged[reached],
            conductance=run.conductance[reached]))
    else:
        run = runner.program(cfg, levels, faults=faults, seed=seed, drive=drive,
                             verbose=verbose)
        report, verdict = programming_report(cfg, levels, faults, seed, run)
        plotted = (levels, run)
    window = MemdiodeArray(cfg.device, (1, 1), np.random.default_rng(0)).window
    return Programmed(report | {"drive": drive}, verdict, run.conductance, window, remap,
                      plotted)


def programming_report(cfg, levels, faults, seed, run):
    """The JSON-ready report of a whole-array :func:`cimtile.tb.runs.runner.program` run.

    The golden program-and-verify runs on an equally seeded device array; every cell whose
    pulse count, outcome or final state differs counts as a mismatch. Its ``energy`` section
    is the golden run's activity (:func:`cimtile.flows.ppa.report.program_section`).

    Returns
    -------
    (dict, Verdict)
        The report, and the cells against the golden program-and-verify.
    """
    shape = (cfg.tile.rows, cfg.cols_phys)
    device = MemdiodeArray(cfg.device, shape, np.random.default_rng(seed), faults)
    outcome = program_golden(device, levels, Rectangle.whole(*shape), cfg.write_verify,
                             bits_per_cell=cfg.tile.bits_per_cell,
                             adc_bits=cfg.tile.adc_bits)
    verdict = compare(GOLDEN, np.column_stack([run.pulses, run.converged,
                                               run.state.reshape(-1)]),
                      np.column_stack([outcome.pulses, outcome.converged, device.state]),
                      noun="cells")
    failed = np.argwhere(~run.converged.reshape(shape))
    return {
        "cells": int(run.pulses.size),
        "converged": int(run.converged.sum()),
        "failed": failed.tolist(),
        "pulses_total": int(run.pulses.sum()),
        "pulses_mean": round(float(run.pulses.mean()), 3),
        "pulses_max": int(run.pulses.max()),
        "pulses_histogram": np.bincount(run.pulses).tolist(),
        "cycles_total": run.cycles_total,
        "build_s": round(run.build_s, 3),
        "wall_s": round(run.wall_s, 3),
        "cells_per_s": round(run.pulses.size / run.wall_s, 1),
        **verdict.report(),
        "energy": program_section(cfg, device, run, levels, seed=seed, faults=faults),
    }, verdict


def repair_report(cfg, levels, faults, seed, run, outcome):
    """The JSON-ready report of a co-simulated repair: its :class:`RepairOutcome`, the
    programming figures over every pass, and the cells whose pulses, outcome or final state
    differ from the same repair on the golden model (``golden_mismatches``).

    Parameters
    ----------
    run : ProgramRun
        The last simulator run (every pass, in order, and the device afterwards).

    Returns
    -------
    (dict, Verdict)
        The report, and the run against the golden repair (counted over the report's
        cells, the differing remap table as one more).
    """
    golden = GoldenArray(cfg, faults, seed)
    expected = repair(cfg, levels, golden)
    pulses = np.concatenate([o.pulses for o in golden.outcomes])
    converged = np.concatenate([o.converged for o in golden.outcomes])
    # Counted over the report's cells, as the single programming run's verdict is.
    verdict = dataclasses.replace(combine([
        compare(GOLDEN, np.column_stack([run.pulses, run.converged]),
                np.column_stack([pulses, converged])),
        compare(GOLDEN, run.state.reshape(-1), golden.device.state),
        compare(GOLDEN, outcome.remap[None], expected.remap[None])], noun="cells"),
        compared=int(run.pulses.size))
    return outcome.report() | {
        "remap": outcome.remap.tolist(),
        "cells": int(run.pulses.size),
        "converged": int(run.converged.sum()),
        "pulses_total": int(run.pulses.sum()),
        "pulses_mean": round(float(run.pulses.mean()), 3),
        "pulses_max": int(run.pulses.max()),
        "cycles_total": run.cycles_total,
        "build_s": round(run.build_s, 3),
        "wall_s": round(run.wall_s, 3),
        **verdict.report(),
        "energy": program_section(cfg, golden.device, run),
    }, verdict


def plot_programming(file, cfg, levels, run, window):
    """Pulse-count histogram and target-vs-programmed conductance scatter, as PNG."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot

    g_lo, g_hi = window
    target = g_lo + (g_hi - g_lo) * levels.reshape(-1) / cfg.max_level
    figure, (left, right) = pyplot.subplots(1, 2, figsize=(10, 4))
    left.bar(np.arange(run.pulses.max() + 1), np.bincount(run.pulses), width=0.9)
    left.set(xlabel="pulses per cell", ylabel="cells",
             title=f"{run.pulses.size} cells, {int(run.converged.sum())} converged")
    converged = run.converged.reshape(-1)
    programmed = run.conductance.reshape(-1)
    right.scatter(target[converged], programmed[converged], s=4, alpha=0.4,
                  label="converged")
    right.scatter(target[~converged], programmed[~converged], s=8, color="red",
                  label="failed")
    right.plot([g_lo, g_hi], [g_lo, g_hi], color="black", linewidth=0.8)
    right.set(xlabel="target conductance (uS)", ylabel="programmed conductance (uS)",
              title="write-verify result")
    right.legend(loc="upper left")
    figure.tight_layout()
    figure.savefig(file, format="png", dpi=100)
    pyplot.close(figure)
