"""The write-verify episodes of the constrained-random scenarios: program-and-verify runs
and read-backs with edge settings over random rectangles of one device with stuck cells,
some cut by a soft reset, each checked against the golden write-verify
(:func:`cimtile.models.program.program_golden`).
"""

import numpy as np

from cimtile.behavioral.device import MemdiodeArray
from cimtile.models.program import Rectangle, program_golden
from cimtile.spec.config_tables import WriteVerifyConfig
from cimtile.spec.mapping import weight_levels
from cimtile.spec.regmap import Mode, register

from ..runs.host_runner import Op
from .scenario_builder import OKAY

__all__ = ["programming"]

_CTRL, _IRQ_STATUS = register("CTRL"), register("IRQ_STATUS")


def _wv_settings(b):
    rng = b.rng
    # Half the runs make cells flip polarity in a way the amplitude shows: a window of at
    # most one code and up to 24 pulses ramping from 0.6-1.3 V by 0.1 or 0.4 V up to
    # 0.8 V higher make cells of middle levels overshoot both ways, while the amplitude
    # still decides how far (pulses from 1.5 V flip cells too, but switch them fully
    # whatever the amplitude).
    if rng.random() < 0.5:
        s = dict(tol=int(rng.choice([0, 1])), set_start=int(rng.integers(60, 130)),
                 set_step=int(rng.choice([10, 40])), reset_start=int(rng.integers(60, 130)),
                 reset_step=int(rng.choice([10, 40])), max_pulses=24,
                 pulse_width=int(rng.choice([1, 5, 20, 50])))
        s["set_limit"], s["reset_limit"] = s["set_start"] + 80, s["reset_start"] + 80
        return s
    s = dict(tol=int(rng.choice([0, 1, 2, 3])), set_start=int(rng.integers(60, 200)),
             set_step=int(rng.choice([1, 10, 40])), reset_start=int(rng.integers(60, 200)),
             reset_step=int(rng.choice([1, 10, 40])), max_pulses=int(rng.choice([1, 3, 8, 24])),
             pulse_width=int(rng.choice([1, 5, 20, 50])))
    s["set_limit"] = min(255, s["set_start"] + int(rng.choice([0, 20, 80])))
    s["reset_limit"] = min(255, s["reset_start"] + int(rng.choice([0, 20, 80])))
    return s


def _rectangle(b):
    rng, cfg = b.rng, b.cfg
    r0 = int(rng.integers(cfg.tile.rows))
    c0 = int(rng.integers(cfg.cols_phys))
    if rng.random() < 0.25:
        return Rectangle(r0, r0, c0, c0)
    return Rectangle(r0, min(cfg.tile.rows - 1, r0 + int(rng.integers(0, 2))), c0,
                     min(cfg.cols_phys - 1, c0 + int(rng.integers(0, 8))))


def _program(b, device, levels, rect, reset_after=None):
    """One write-verify run (or a read-back without `levels`) over a random rectangle,
    checked against the golden write-verify on `device`; with `reset_after` the run is cut
    by a soft reset after that many cycles instead."""
    cfg, rng = b.cfg, b.rng
    s = _wv_settings(b)
    if reset_after is not None and levels is not None:
        # Pulses of 50 cycles fill most of a run's time, so the cut often lands on one.
        s["pulse_width"] = 50
    regs = [("WV_TOL", dict(tol=s["tol"])),
            ("WV_SET", dict(start=s["set_start"], step=s["set_step"], limit=s["set_limit"])),
            ("WV_RESET", dict(start=s["reset_start"], step=s["reset_step"],
                              limit=s["reset_limit"])),
            ("WV_PULSE", dict(max_pulses=s["max_pulses"], width=s["pulse_width"])),
            ("WV_ROWS", dict(first=rect.row_first, last=rect.row_last)),
            ("WV_COLS", dict(first=rect.col_first, last=rect.col_last))]
    for name, fields in regs:
        b.write(name, register(name).pack(**fields))
    mode = Mode.PROGRAM if levels is not None else Mode.READ_BACK
    b.settings(cfg.tile.in_bits, 0, mode)
    # Op.program starts the run and reads STATUS.error as the start's refusal: clear
    # earlier errors first.
    b.write("IRQ_STATUS", _IRQ_STATUS.pack(done=1, error=1))
    settings = WriteVerifyConfig(**s)
    cells = rect.shape[0] * rect.shape[1]
    budget = cells * (s["max_pulses"] + 1) * (s["pulse_width"] + cfg.timing.t_settle
                                              + cfg.timing.t_adc + 8) + 1000
    targets = None
    if levels is not None:
        targets = levels[rect.row_first:rect.row_last + 1, rect.col_first:rect.col_last + 1]
        faults = b.sc.arrays["faults"][rect.row_first:rect.row_last + 1,
                                       rect.col_first:rect.col_last + 1]
        for kind, name in ((1, "g_min"), (2, "g_max")):
            key = f"operands/stuck at {name} cell programmed"
            b.sc.python_bins[key] = b.sc.python_bins.get(key, 0) + int((faults == kind).sum())
    if reset_after is not None:
        if rng.random() < 0.5:
            b.op(Op.pauses(out_prob=1.0, out_max=2000))
        name = None if targets is None else b.array(targets.reshape(-1))
        b.op(Op.program(name, cells, reset_after, settings, rect))
        b.stale_targets |= name is not None
        b.op(Op.write(_CTRL.offset, _CTRL.pack(soft_reset=1)), kind="resp", expect=OKAY)
        # A stalled result beat survives the reset (and keeps the tile busy) until taken.
        b.op(Op.pauses())
        b.op(Op.idle(16))
        return
    if targets is None:
        b.op(Op.program(None, cells, budget, settings, rect), kind="read_back", cells=cells)
        return
    outcome = program_golden(device, targets, rect, settings,
                             bits_per_cell=cfg.tile.bits_per_cell, adc_bits=cfg.tile.adc_bits)
    b.op(Op.program(b.array(targets.reshape(-1)), cells, budget, settings, rect),
         kind="program",
         pulses=outcome.pulses, converged=outcome.converged)


def programming(b, W):
    """The programming episode: write-verify runs and read-backs over random rectangles of
    a device with stuck cells, some cut by a soft reset, each checked against the golden
    write-verify."""
    cfg, rng = b.cfg, b.rng
    shape = (cfg.tile.rows, cfg.cols_phys)
    faults = np.where(rng.random(shape) < 0.1, rng.integers(1, 3, shape), 0)
    b.sc.arrays["faults"] = faults
    device = MemdiodeArray(cfg.device, shape, np.random.default_rng(b.sc.seed), faults)
    # The weights' levels (half of them 0: the idle side of each differential pair), or
    # levels drawn evenly, or middle levels only, which cells overshoot both ways.
    choice = rng.random()
    if choice < 0.25:
        levels = weight_levels(W, cfg)
    elif choice < 0.5 or cfg.max_level < 2:
        levels = rng.integers(0, cfg.max_level + 1, shape)
    else:
        levels = rng.integers(1, cfg.max_level, shape)
    rect = _rectangle(b)
    for _ in range(int(rng.integers(1, 4))):
        if rng.random() < 0.3:
            _program(b, device, None, rect)
            continue
        _program(b, device, levels, rect)
        if rng.random() < 0.6:
            # Lower targets on the same cells next: cells now above their window take
            # RESET pulses.
            levels = np.maximum(levels - int(rng.integers(1, cfg.max_level + 1)), 0)
        else:
            rect = _rectangle(b)
    if rng.random() < 0.6:
        # Cut: a read-back, or the last cells taken to the other end of the range, which
        # they are far from, so the cut most often lands on a pulse in flight.
        cut = int(rng.integers(5, 200))
        if rng.random() < 0.6:
            _program(b, device, cfg.max_level - levels, rect, reset_after=cut)
        else:
            _program(b, device, None, _rectangle(b), reset_after=cut)
    b.settings(cfg.tile.in_bits, 0)
