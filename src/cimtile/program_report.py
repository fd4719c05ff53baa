"""Programming reports: the co-simulated run checked against the golden model, and its plot."""

import numpy as np

from .behavioral.device import MemdiodeArray
from .ppa.report import program_section
from .program import Rectangle, program_golden

__all__ = ["programming_report", "plot_programming"]


def programming_report(cfg, levels, faults, seed, run):
    """The JSON-ready report of a whole-array :func:`cimtile.tb.runner.program` run.

    The golden program-and-verify runs on an equally seeded device array; every cell whose
    pulse count, outcome or final state differs counts as a mismatch. Its ``energy`` section
    is the golden run's activity (:func:`cimtile.ppa.report.program_section`).
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
