"""Co-simulation of the whole chip: a program on every image, in one simulator run."""

from dataclasses import dataclass

import numpy as np

from cimtile.models import chip_timing
from cimtile.models.chip_golden import check_program, run_chip
from cimtile.models.chip_programming import (program_golden_tiles, programmed_tiles,
                                             tile_targets)
from cimtile.models.verdict import Verdict, compare

from ..tops.chip_top import CHIP_DESIGN
from ..transport.exchange import run_testbench

__all__ = ["CHIP_GOLDEN", "PROGRAM_GOLDEN", "ChipRun", "simulate_chip"]

#: The checks of a chip run, as messages name them.
CHIP_GOLDEN = "golden chip model"
PROGRAM_GOLDEN = "golden program-and-verify"
TB_MODULE = "cimtile.tb.benches.chip_tb"


@dataclass
class ChipRun:
    """What one chip co-simulation produced.

    Members
    -------
    outputs : ndarray (N, output_length) int64
        Each image's outputs, read back from the activation memory.
    expected : ndarray (N, output_length) int64
        The golden chip model's, on the tiles as the golden programming left them.
    cycles : ndarray (N,) int64
        Cycles from each run's ``start`` to its ``done``.
    requests : ndarray (blocks,) int64
        Analog requests (bit planes) each tile holding a block answered.
    verdict : Verdict
        The outputs against the golden chip model.
    program_verdict : Verdict or None
        Every programmed cell's pulses and convergence, tile after tile and pass after
        pass, against the golden program-and-verify (None: the tiles were not programmed).
    remaps : list of ndarray
        The remap table each tile holding a block was left with (zeros without
        programming).
    program_cycles : int
        Cycles from reset to the end of the last tile's programming (0 without).
    build_s, wall_s, program_s, inference_s : float
        Verilator build time (0 when cached), the simulation's wall time, and its parts in
        the testbench: programming the tiles, then loading the program and running the
        images.
    """
    outputs: np.ndarray
    expected: np.ndarray
    cycles: np.ndarray
    requests: np.ndarray
    verdict: Verdict
    program_verdict: Verdict | None
    remaps: list
    program_cycles: int
    build_s: float
    wall_s: float
    program_s: float
    inference_s: float


def simulate_chip(chip, program, images, *, write_verify=True, waves=None, verbose=False):
    """Co-simulate the chip of `chip`: program its tiles by write-verify, then run `program`
    on each of `images`, one run each, all in one simulator run.

    Each tile holding a block is programmed and repaired as
    :mod:`cimtile.models.chip_programming` says, then answered by its behavioural macro with
    what programming left, so the programming must equal
    :func:`~cimtile.models.chip_programming.program_golden_tiles`' and the outputs
    :func:`~cimtile.models.chip_golden.run_chip`'s on those tiles, bit for bit.

    Parameters
    ----------
    chip : ChipConfig
    program : ChipProgram
    images : int array (N, program.input_length)
    write_verify : bool
        Program the tiles first; without, each holds its block's ideal levels
        (:func:`~cimtile.models.chip_golden.golden_tiles`).
    waves, verbose
        As for :func:`cimtile.tb.transport.exchange.run_testbench`.

    Raises
    ------
    ProgramError
        If the program does not suit the chip or the images the program.
    BuildError, SimulationError
    """
    golden = program_golden_tiles(chip, program) if write_verify else None
    expected, _ = run_chip(chip, program, images,
                           programmed_tiles(chip, program, golden) if golden else None)
    targets = tile_targets(chip, program) if write_verify else []
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
                    images=np.asarray(images, np.int64), budget=budget,
                    levels=np.asarray([t.levels for t in targets], np.int64),
                    faults=np.asarray([t.faults for t in targets], np.int64))
    out, build_s, wall_s = run_testbench(chip, TB_MODULE, stimulus, waves=waves,
                                         verbose=verbose, top=CHIP_DESIGN)
    blocks = len(program.weights)
    remaps = [out.get(f"remap{t}", np.zeros(chip.tile.cols_data, np.int64))
              for t in range(blocks)]
    return ChipRun(outputs=out["outputs"], expected=expected, cycles=out["cycles"], requests=out["requests"],
                   verdict=compare(CHIP_GOLDEN, out["outputs"], expected),
                   program_verdict=_program_verdict(out, golden), remaps=remaps,
                   program_cycles=int(out["program_cycles"]), build_s=build_s, wall_s=wall_s,
                   program_s=float(out["program_s"]), inference_s=float(out["inference_s"]))


def _program_verdict(out, golden):
    """Every cell's ``(pulses, converged)``, tile after tile, against `golden`'s."""
    if golden is None:
        return None
    got = np.concatenate([np.stack([out[f"pulses{t}"], out[f"converged{t}"]], axis=1)
                          for t in range(len(golden))])
    expected = np.concatenate([np.stack([g.pulses, g.converged], axis=1) for g in golden])
    return compare(PROGRAM_GOLDEN, got, expected, noun="programmed cells")
