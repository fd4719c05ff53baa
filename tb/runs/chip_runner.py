"""Co-simulation of the whole chip: a program on every image, in one simulator run."""

from dataclasses import dataclass

import numpy as np

from cimtile.models import chip_timing
from cimtile.models.chip_golden import check_program, run_chip
from cimtile.models.verdict import Verdict, compare

from ..tops.chip_top import CHIP_DESIGN
from ..transport.exchange import run_testbench

__all__ = ["CHIP_GOLDEN", "ChipRun", "simulate_chip"]

#: The check of a chip run, as messages name it.
CHIP_GOLDEN = "golden chip model"
TB_MODULE = "cimtile.tb.benches.chip_tb"


@dataclass
class ChipRun:
    """What one chip co-simulation produced.

    Members
    -------
    outputs : ndarray (N, output_length) int64
        Each image's outputs, read back from the activation memory.
    cycles : ndarray (N,) int64
        Cycles from each run's ``start`` to its ``done``.
    requests : ndarray (blocks,) int64
        Analog requests (bit planes) each tile holding a block answered.
    verdict : Verdict
        The outputs against the golden chip model.
    build_s, wall_s : float
        Verilator build time (0 when cached) and simulation wall time.
    """
    outputs: np.ndarray
    cycles: np.ndarray
    requests: np.ndarray
    verdict: Verdict
    build_s: float
    wall_s: float


def simulate_chip(chip, program, images, *, waves=None, verbose=False):
    """Co-simulate `program` on the chip of `chip` for each of `images`, one run each.

    Each tile holding a block is answered by its behavioural macro with its block and seed,
    as :func:`cimtile.models.chip_golden.golden_tiles` does, so the outputs must equal
    :func:`~cimtile.models.chip_golden.run_chip`'s bit for bit.

    Parameters
    ----------
    chip : ChipConfig
    program : ChipProgram
    images : int array (N, program.input_length)
    waves, verbose
        As for :func:`cimtile.tb.transport.exchange.run_testbench`.

    Raises
    ------
    ProgramError
        If the program does not suit the chip or the images the program.
    BuildError, SimulationError
    """
    expected, _ = run_chip(chip, program, images)
    timing = chip_timing.schedule(chip, check_program(chip, program))
    # A run takes the model's cycles plus the fetch and done's register: far more is a hang.
    budget = 4 * timing.cycles + 1000
    io = [program.input_address, program.input_length, program.output_address,
          program.output_length]
    stimulus = dict(words=np.asarray(program.words, np.uint64),
                    mult=np.asarray(program.mult, np.int64),
                    bias=np.asarray(program.bias, np.int64),
                    weights=np.asarray(program.weights, np.int64),
                    seeds=np.asarray(program.seeds, np.uint64), io=np.asarray(io, np.int64),
                    images=np.asarray(images, np.int64), budget=budget)
    out, build_s, wall_s = run_testbench(chip, TB_MODULE, stimulus, waves=waves,
                                         verbose=verbose, top=CHIP_DESIGN)
    return ChipRun(outputs=out["outputs"], cycles=out["cycles"], requests=out["requests"],
                   verdict=compare(CHIP_GOLDEN, out["outputs"], expected),
                   build_s=build_s, wall_s=wall_s)
