"""Column repair driven by write-verify: find the columns whose cells failed, move them to
spare columns, and say what could not be repaired.

The flow is the host's, the same for every array behind it: a co-simulated tile
(:class:`cimtile.tb.runs.repair_runner.SimulatedArray`), a board (:class:`cimtile.fpga.run.Board`
through :class:`BoardArray`) or the golden model (:class:`GoldenArray`, for studies). Each
offers three operations, the ones a host driver has:

``program(levels, rect)``
    Program the rectangle of the (rows, cols_phys) target `levels` by write-verify; return
    each cell's ``converged`` flag, row-major over the rectangle.
``set_remap(remap)``
    Write the column remap table (REMAP_COL / REMAP_SPARE).
``read_remap()``
    Read the whole table back.

Write-verify already decides which cells need repair. A stuck cell whose stuck level lies
inside its target's verify window converges like a healthy one, so it needs no spare: the
fault-aware part of the mapping comes for free. A column is replaced when any of its cells
did not converge; a spare is used only if every one of its cells converges to the column's
targets (a spare stuck at g_min where its column's target is level 0 is fine); a spare that
fails is never used again and the column tries the next one, until the spares run out. The
first pass also erases every spare to level 0, so spares with a cell stuck at g_max are
known bad before any column is moved to them.
When they do, the columns of the more significant weight slices have been served first.
"""

from dataclasses import dataclass

import numpy as np

from cimtile.behavioral.conductance import fault_map
from cimtile.behavioral.device import MemdiodeArray
from cimtile.spec.mapping import check_remap

from .program import Rectangle, program_golden

__all__ = ["RepairError", "RepairOutcome", "repair", "repair_steps", "tile_fault_map",
           "GoldenArray", "BoardArray"]


def tile_fault_map(cfg, rng):
    """A random stuck-at map of the whole array (:func:`~cimtile.behavioral.conductance.
    fault_map`), the data columns drawn first and the spares after them, so that a tile's
    data columns have the same faults whatever its number of spares (and without spares
    the map of earlier versions)."""
    data = fault_map(cfg, rng, (cfg.tile.rows, cfg.cols_data))
    spares = fault_map(cfg, rng, (cfg.tile.rows, cfg.tile.spare_cols))
    return np.concatenate([data, spares], axis=1)


class RepairError(RuntimeError):
    """The array did not hold the remap table written to it."""


@dataclass
class RepairOutcome:
    """What a repair did.

    Members
    -------
    remap : ndarray (cols_data,)
        The remap table written (and read back).
    levels : ndarray (rows, cols_phys)
        The targets the array now holds: data columns, and in each used spare the levels of
        the column it replaces.
    failed_cells : list of [row, col]
        Cells of the data columns that did not converge in the first programming pass.
    repaired_columns : list of int
        Data columns now read from a spare.
    spares_used : list of int
        Spare indices holding a repaired column (spare ``k`` is physical column
        ``cols_data + k``).
    spares_rejected : list of int
        Spares left unused because a cell failed: when erased in the first pass, or when
        programmed with a column's targets.
    unrepaired_cells : list of [row, col]
        Failed cells still read by the tile: those of the columns no spare could take.
    passes : int
        Write-verify runs made (the first over the whole array, then one per round of
        spares).
    """
    remap: np.ndarray
    levels: np.ndarray
    failed_cells: list
    repaired_columns: list
    spares_used: list
    spares_rejected: list
    unrepaired_cells: list
    passes: int = 1

    def report(self):
        """The JSON-ready summary ``cimtile program --repair`` prints."""
        return {
            "repaired_columns": self.repaired_columns,
            "spares_used": self.spares_used,
            "spares_rejected": self.spares_rejected,
            "unrepaired_cells": self.unrepaired_cells,
            "failed_cells_before_repair": len(self.failed_cells),
            "repair_passes": self.passes,
        }


def repair(cfg, levels, array):
    """Program the data `levels` into `array` by write-verify and repair what failed.

    Parameters
    ----------
    cfg : Config
    levels : integer array (rows, cols_phys) or (rows, cols_data)
        Target levels of the data columns (spare columns, if given, are ignored).
    array
        The array behind the host (see the module's description).

    Returns
    -------
    RepairOutcome

    Raises
    ------
    RepairError
        The remap table read back differs from the one written.
    """
    steps = repair_steps(cfg, levels)
    answer = None
    while True:
        try:
            operation, *operands = steps.send(answer)
        except StopIteration as stop:
            return stop.value
        answer = getattr(array, operation)(*operands)


def repair_steps(cfg, levels):
    """The flow of :func:`repair` as a generator of the array operations it makes, for a
    host that cannot block on them (a testbench's task): it yields ``("program", levels,
    rect)``, ``("set_remap", remap)`` and ``("read_remap",)``, is sent each operation's
    answer, and returns the :class:`RepairOutcome`. The levels it yields change after
    the operation: an array that keeps them copies them."""
    rows, cols_data, spares = cfg.tile.rows, cfg.cols_data, cfg.tile.spare_cols
    targets = np.zeros((rows, cfg.cols_phys), np.int64)
    targets[:, :cols_data] = np.asarray(levels, np.int64)[:, :cols_data]
    remap = np.zeros(cols_data, np.int64)
    # The first pass programs the data columns and erases the spares to level 0: a spare
    # with a cell that cannot reach level 0 (stuck at g_max, the commonest fault) is known
    # bad before any column is moved to it, which saves a round per spare it would cost.
    first = np.asarray((yield ("program", targets, Rectangle(0, rows - 1, 0,
                                                               cfg.cols_phys - 1))))
    first = first.reshape(rows, cfg.cols_phys).astype(bool)
    failed = ~first[:, :cols_data]
    erased = first[:, cols_data:].all(axis=0)
    # When spares run short, the columns that weigh most are repaired first: the top slice
    # (2**bits_per_cell times its neighbour below), then the most failed cells.
    significance = (np.arange(cols_data) // 2) % cfg.slices
    pending = sorted((int(c) for c in np.flatnonzero(failed.any(axis=0))),
                     key=lambda c: (-significance[c], -int(failed[:, c].sum()), c))
    free = [s for s in range(spares) if erased[s]]
    used, rejected, passes = [], [s for s in range(spares) if not erased[s]], 1
    while pending and free:
        # The columns still failing try the lowest free spares, in one round of write-verify
        # over the span of those spares. Spares in the span that are not chosen are
        # programmed again to what they hold, and their results are not read.
        count = min(len(pending), len(free))
        columns, chosen, free = pending[:count], free[:count], free[count:]
        physical = [cols_data + s for s in chosen]
        targets[:, physical] = targets[:, columns]
        tentative = remap.copy()
        tentative[columns] = np.array(chosen) + 1
        yield ("set_remap", tentative)
        span = Rectangle(0, rows - 1, physical[0], physical[-1])
        result = np.asarray((yield ("program", targets, span))).reshape(span.shape).astype(bool)
        passes += 1
        good = result[:, np.array(physical) - physical[0]].all(axis=0)
        retry = []
        for column, spare, ok in zip(columns, chosen, good):
            if ok:
                remap[column] = spare + 1
                used.append(spare)
            else:
                rejected.append(spare)
                retry.append(column)
        pending = retry + pending[count:]
    yield ("set_remap", remap)
    back = np.asarray((yield ("read_remap",)))
    if not np.array_equal(back, remap):
        raise RepairError(f"the remap table read back differs from the one written in "
                          f"{int((back != remap).sum())} entries")
    # Spares left untried keep level 0 as a target; those tried and rejected keep the
    # targets they were programmed with, which nothing reads.
    unrepaired = [[int(r), int(c)] for r, c in np.argwhere(failed) if c in set(pending)]
    return RepairOutcome(
        remap=remap, levels=targets,
        failed_cells=[[int(r), int(c)] for r, c in np.argwhere(failed)],
        repaired_columns=[int(c) for c in np.flatnonzero(remap)],
        spares_used=sorted(used), spares_rejected=sorted(rejected),
        unrepaired_cells=unrepaired, passes=passes)


class GoldenArray:
    """The golden program-and-verify as the array behind the flow (studies, tests): the
    device array keeps its state from one pass to the next, as a real one does.

    Parameters
    ----------
    cfg : Config
    faults : array (rows, cols_phys) of 0/1/2, optional
    seed : int
        Seeds the device array as the co-simulation does.
    """

    def __init__(self, cfg, faults=None, seed=0):
        self.cfg = cfg
        self.device = MemdiodeArray(cfg.device, (cfg.tile.rows, cfg.cols_phys),
                                    np.random.default_rng(seed), faults)
        self.remap = np.zeros(cfg.cols_data, np.int64)
        self.outcomes = []

    def program(self, levels, rect):
        r = rect
        outcome = program_golden(self.device,
                                 levels[r.row_first:r.row_last + 1, r.col_first:r.col_last + 1],
                                 rect, self.cfg.write_verify,
                                 bits_per_cell=self.cfg.tile.bits_per_cell,
                                 adc_bits=self.cfg.tile.adc_bits)
        self.outcomes.append(outcome)
        return outcome.converged

    def set_remap(self, remap):
        self.remap = check_remap(remap, self.cfg)

    def read_remap(self):
        return self.remap.copy()


class BoardArray:
    """A board's tile (:class:`cimtile.fpga.run.Board`) as the array behind the flow."""

    def __init__(self, board):
        self.board = board

    def program(self, levels, rect):
        return self.board.program_rect(levels, rect).converged

    def set_remap(self, remap):
        self.board.load_remap(remap)

    def read_remap(self):
        return self.board.read_remap()
