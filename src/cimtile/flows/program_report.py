"""Programming reports: the co-simulated run (with or without column repair) checked against
the golden model, and its plot."""

import numpy as np

from cimtile.behavioral.device import MemdiodeArray
from cimtile.models.program import Rectangle, program_golden
from cimtile.models.repair import GoldenArray, repair

from .ppa.report import program_section

__all__ = ["programming_report", "repair_report", "plot_programming"]


def programming_report(cfg, levels, faults, seed, run):
    """The JSON-ready report of a whole-array :func:`cimtile.tb.runs.runner.program` run.

    The golden program-and-verify runs on an equally seeded device array; every cell whose
    pulse count, outcome or final state differs counts as a mismatch. Its ``energy`` section
    is the golden run's activity (:func:`cimtile.flows.ppa.report.program_section`).
    """
    shape = (cfg.tile.rows, cfg.cols_phys)
    device = MemdiodeArray(cfg.device, shape, np.random.default_rng(seed), faults)
    outcome = program_golden(device, levels, Rectangle.whole(*shape), cfg.write_verify,
                             bits_per_cell=cfg.tile.bits_per_cell,
                             adc_bits=cfg.tile.adc_bits)
    differs = ((run.pulses != outcome.pulses) | (run.converged != outcome.converged)
               | (run.state.reshape(-1) != device.state))
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
        "golden_mismatches": int(differs.sum()),
        "energy": program_section(cfg, device, run, levels, seed=seed, faults=faults),
    }


def repair_report(cfg, levels, faults, seed, run, outcome):
    """The JSON-ready report of a co-simulated repair: its :class:`RepairOutcome`, the
    programming figures over every pass, and the cells whose pulses, outcome or final state
    differ from the same repair on the golden model (``golden_mismatches``).

    Parameters
    ----------
    run : ProgramRun
        The last simulator run (every pass, in order, and the device afterwards).
    """
    golden = GoldenArray(cfg, faults, seed)
    expected = repair(cfg, levels, golden)
    pulses = np.concatenate([o.pulses for o in golden.outcomes])
    converged = np.concatenate([o.converged for o in golden.outcomes])
    if run.pulses.shape != pulses.shape:
        differs = max(run.pulses.size, pulses.size)
    else:
        differs = int(((run.pulses != pulses) | (run.converged != converged)).sum())
    differs += int((run.state.reshape(-1) != golden.device.state).sum())
    differs += int(not np.array_equal(expected.remap, outcome.remap))
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
        "golden_mismatches": differs,
        "energy": program_section(cfg, golden.device, run),
    }


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
