"""A network on the co-simulated chip: compile it for the chip, run every test image
through the chip's RTL in one simulator, and compare with the golden chip model."""

import time

import numpy as np

from cimtile.tb.runs.chip_runner import simulate_chip

from .chip_compile import compile_network
from .chip_report import chip_images, chip_report
from .network import accuracy

__all__ = ["chip_run_report"]


def chip_run_report(graph, chip, x_test, y_test, x_cal, *, seed=0, per_channel=False,
                    ppa=False, verbose=False):
    """Compile `graph` for `chip`, co-simulate the chip on `x_test`, and report (the energy
    and area only with `ppa`, as for :func:`~.chip_report.chip_report`).

    Returns
    -------
    (dict, list of Verdict)
        The golden chip model's figures (:func:`~.chip_report.chip_report`) with the
        co-simulation's: its accuracy and agreement with the golden chip model, the cycles
        from ``start`` to ``done`` of the first run (a batch of images) and per image over
        all runs, the programming's cycles and repairs,
        and the wall times; and the run's verdicts: the programmed cells against the
        golden program-and-verify, the outputs against the golden chip model.

    Raises
    ------
    FitError
        If the network does not fit the chip.
    BuildError, SimulationError
    """
    start = time.perf_counter()
    program = compile_network(graph, chip, x_cal, seed, per_channel)
    report = chip_report(graph, chip, program, x_test, y_test, x_cal, per_channel, ppa=ppa)
    compile_s = time.perf_counter() - start
    run = simulate_chip(chip, program, chip_images(program, chip, x_test), verbose=verbose)
    # A run that stopped early has fewer outputs: the images without one count as wrong.
    right = (np.argmax(run.outputs, axis=1) == np.asarray(y_test)[:len(run.outputs)]).sum()
    report |= {
        "cosim_accuracy": float(right / len(y_test)),
        "programmed_golden_accuracy": accuracy(run.expected, y_test),
        "agreement": 1 - run.verdict.differ / max(run.verdict.compared, 1),
        "cosim_cycles_per_run": int(run.cycles[0]) if len(run.cycles) else 0,
        "cosim_cycles_per_image": round(run.cycles_per_image, 2),
        "analog_requests": run.requests.tolist(),
        "program_cycles": run.program_cycles,
        "program_cells": run.program_verdict.compared if run.program_verdict else 0,
        "repaired_columns": [int((remap != 0).sum()) for remap in run.remaps],
        "compile_s": round(compile_s, 3), "build_s": round(run.build_s, 3),
        "program_s": round(run.program_s, 3), "inference_s": round(run.inference_s, 3),
        "simulation_s": round(run.wall_s, 3),
    }
    return report, [v for v in (run.program_verdict, run.verdict) if v is not None]
