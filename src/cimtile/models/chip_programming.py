"""Programming a chip's tiles by write-verify, as the golden model does it, and the tiles'
golden models once programmed.

Each tile holding a block is programmed as the tile-by-tile flow programs it
(:func:`cimtile.flows.network_run.program_tiles`): its block's cell levels, stuck cells drawn
from its seed in physical mode, write-verify with column repair over its spares
(:func:`~.repair.repair`, one pass without spares). In physical mode it then computes with
the conductances programming left, read out over the programming window
(:func:`~.program.read_config`); the ideal model computes with the levels.
"""

from dataclasses import dataclass

import numpy as np

from cimtile.spec.mapping import weight_levels

from .golden import golden_mvm
from .program import read_config
from .repair import GoldenArray, RepairOutcome, repair, tile_fault_map

__all__ = ["TileTargets", "tile_targets", "ProgrammedTile",
           "program_golden_tiles", "programmed_tiles"]


@dataclass(frozen=True)
class TileTargets:
    """What programming one tile starts from.

    Members
    -------
    levels : ndarray (rows, cols_phys) int64
        Its block's cell levels (spares at 0).
    faults : ndarray (rows, cols_phys) int8
        Its stuck cells (0 healthy, 1 stuck at g_min, 2 at g_max); none in ideal mode.
    seed : int
        Seeds its device array and its analog model.
    """
    levels: np.ndarray
    faults: np.ndarray
    seed: int


def tile_targets(chip, program):
    """The :class:`TileTargets` of every tile holding a block of `program`."""
    cfg = chip.tile
    targets = []
    for W, seed in zip(program.weights, program.seeds):
        seed = int(seed)
        levels = weight_levels(W, cfg)
        faults = (tile_fault_map(cfg, np.random.default_rng([seed, 1]))
                  if cfg.analog.physical else np.zeros(levels.shape, np.int8))
        targets.append(TileTargets(levels, faults, seed))
    return targets


@dataclass
class ProgrammedTile:
    """One tile after programming.

    Members
    -------
    outcome : RepairOutcome
        Its repair (the remap table among it).
    pulses, converged : ndarray
        Every cell's pulses and convergence, pass after pass, row-major in each pass's
        rectangle.
    conductances : ndarray (rows, cols_phys) or None
        What programming left, in physical mode (None: the ideal levels).
    """
    outcome: RepairOutcome
    pulses: np.ndarray
    converged: np.ndarray
    conductances: np.ndarray = None


def program_golden_tiles(chip, program):
    """Every tile of `program` programmed by the golden program-and-verify: a
    :class:`ProgrammedTile` each."""
    cfg = chip.tile
    programmed = []
    for target in tile_targets(chip, program):
        array = GoldenArray(cfg, target.faults, target.seed)
        outcome = repair(cfg, target.levels, array)
        programmed.append(ProgrammedTile(
            outcome, np.concatenate([o.pulses for o in array.outcomes]),
            np.concatenate([o.converged for o in array.outcomes]),
            array.device.conductances() if cfg.analog.physical else None))
    return programmed


def programmed_tiles(chip, program, programmed):
    """``mvm(tile, X) -> Y`` on the golden model of each tile as `programmed` (a
    :class:`ProgrammedTile` each) left it: its conductances and remap table, read out as
    :func:`~.program.read_config` says in physical mode."""
    cfg = read_config(chip.tile) if chip.tile.analog.physical else chip.tile

    def mvm(tile, X):
        done = programmed[tile]
        return golden_mvm(cfg, program.weights[tile], X, int(program.seeds[tile]),
                          done.conductances, remap=done.outcome.remap)
    return mvm
