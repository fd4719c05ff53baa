"""Co-simulation of the whole chip: a program on every image, in one simulator run."""

from dataclasses import dataclass

import numpy as np

from cimtile.models.chip_batch import batch_capacity, image_batch
from cimtile.models.chip_golden import run_chip
from cimtile.models.chip_programming import (program_golden_tiles, programmed_tiles,
                                             tile_targets)
from cimtile.models.verdict import Verdict, compare
from cimtile.spec.chip_isa import encode_program

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
    run_images : ndarray (runs,) int64
        Images of each run: the images go through the chip a batch at a time
        (:func:`~cimtile.models.chip_batch.image_batch`).
    cycles : ndarray (runs,) int64
        Cycles from each run's ``start`` to its ``done``.
    model_cycles : ndarray (runs,) int64
        Each run's cycles in the timing model: ``cycles`` is one more, the fetch.
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
    run_images: np.ndarray
    cycles: np.ndarray
    model_cycles: np.ndarray
    requests: np.ndarray
    verdict: Verdict
    program_verdict: Verdict | None
    remaps: list
    program_cycles: int
    build_s: float
    wall_s: float
    program_s: float
    inference_s: float

    @property
    def cycles_per_image(self):
        """Cycles from start to done over the images, all runs together."""
        return float(self.cycles.sum() / max(self.run_images.sum(), 1))


def simulate_chip(chip, program, images, *, write_verify=True, batch=None, waves=None,
                  verbose=False):
    """Co-simulate the chip of `chip`: program its tiles by write-verify, then run `program`
    on `images`, `batch` images a run (:func:`~cimtile.models.chip_batch.image_batch`),
    all in one simulator run.

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
    batch : int, optional
        Images per run, 1..:func:`~cimtile.models.chip_batch.batch_capacity` (the
        default: as many as the chip's memories hold).
    waves, verbose
        As for :func:`cimtile.tb.transport.exchange.run_testbench`.

    Raises
    ------
    ProgramError
        If the program does not suit the chip or the images the program.
    ValueError
        If `batch` is beyond the chip's capacity.
    BuildError, SimulationError
    """
    golden = program_golden_tiles(chip, program) if write_verify else None
    expected, _ = run_chip(chip, program, images,
                           programmed_tiles(chip, program, golden) if golden else None)
    targets = tile_targets(chip, program) if write_verify else []
    batch = batch or batch_capacity(chip, program)
    runs = [min(batch, len(images) - first) for first in range(0, len(images), batch)]
    batches = {size: image_batch(chip, program, size) for size in set(runs)}
    # A run takes the model's cycles plus the fetch: far more is a hang.
    budget = 4 * max(b.timing.cycles for b in batches.values()) + 1000 if runs else 0
    stimulus = dict(runs=np.asarray(runs, np.int64), budget=budget,
                    out_length=program.output_length,
                    mult=np.asarray(program.mult, np.int64),
                    bias=np.asarray(program.bias, np.int64),
                    weights=np.asarray(program.weights, np.int64),
                    seeds=np.asarray(program.seeds, np.uint64),
                    images=np.asarray(images, np.int64),
                    levels=np.asarray([t.levels for t in targets], np.int64),
                    faults=np.asarray([t.faults for t in targets], np.int64))
    for size, b in batches.items():
        stimulus |= {f"words{size}": np.asarray(encode_program(b.instructions), np.uint64),
                     f"inputs{size}": b.inputs, f"outputs{size}": b.outputs}
    out, build_s, wall_s = run_testbench(chip, TB_MODULE, stimulus, waves=waves,
                                         verbose=verbose, top=CHIP_DESIGN)
    blocks = len(program.weights)
    remaps = [out.get(f"remap{t}", np.zeros(chip.tile.cols_data, np.int64))
              for t in range(blocks)]
    ran = len(out["cycles"])
    return ChipRun(outputs=out["outputs"], expected=expected,
                   run_images=np.asarray(runs[:ran], np.int64), cycles=out["cycles"],
                   model_cycles=np.asarray([batches[n].timing.cycles for n in runs[:ran]],
                                           np.int64),
                   requests=out["requests"],
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
