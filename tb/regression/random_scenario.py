"""Constrained-random scenarios for the host tile, each reproducible from one integer seed.

A seed picks a configuration from a small pool (random legal tiles drawn once, so the
Verilator builds of a long regression stay few and cached; three of them have spare columns,
whose cells hold levels of their own; both analog schedules are there, each with one and
with several conversions a cycle), a drive mode, and a sequence of episodes: batches at
random run-time settings with corner-biased operands, gaps and back-pressure; register
traffic with edge values; interrupts; TKEEP and early-TLAST errors; soft resets in the
middle of computing, programming and read-back; write-verify runs with edge settings and
stuck cells (:mod:`cimtile.tb.regression.program_episodes`); and the control episodes of
:mod:`cimtile.tb.regression.control_episodes` (the column remap table, writes while busy,
events raised in the same cycle). Every operation that has an expected answer gets a check,
computed from the register map, the golden model (through the remap table written) and the
golden write-verify, never from the RTL.
"""

from dataclasses import dataclass, field

import numpy as np

from cimtile.behavioral.conductance import level_conductances
from cimtile.spec.axis_frames import pack_vectors
from cimtile.spec.config import parse_config
from cimtile.spec.mapping import weight_levels
from cimtile.spec.regmap import REGISTERS, ErrorCause, register

from .control_episodes import arbitration, busy_refusals, remap_table
from ..runs.host_runner import Op
from .program_episodes import programming
from .scenario_builder import DECERR, OKAY, SLVERR, ScenarioBuilder

__all__ = ["POOL_SIZE", "PYTHON_BINS", "Scenario", "pool_config", "scenario"]

#: Configurations in the pool; a seed uses ``pool_config(seed % POOL_SIZE)``.
POOL_SIZE = 4
_POOL_TAG = 0x5EED
_UNMAPPED = (0x018, 0x050, 0x7FC, 0xFFC)
#: Spare columns of each pool tile: none (no remap hardware), two (an entry's width holds
#: a value beyond the spares, so a loosened range check would store it), three and one (no
#: spare index to choose).
_SPARE_COLS = (0, 2, 3, 1)
#: The analog schedule of each pool tile, ``(pipeline, adc_per_step)``: each schedule with one
#: conversion a cycle and with several, so every regression that closes coverage has run
#: both; fixed rather than drawn, as no draw of a small pool is sure to hold all four.
_SCHEDULES = ((False, 1), (True, 3), (False, 2), (True, 1))
#: Columns per ADC of the pool tiles that convert several a cycle, and of the pipelined one
#: that converts one: 3 a step leaves a short last step of one, and 4 one-cycle conversions
#: outlast the pipelined drive, so its next plane waits for the bank.
_COLS_PER_ADC = 4
_SETTINGS, _STATUS, _CTRL = register("SETTINGS"), register("STATUS"), register("CTRL")
_IRQ_ENABLE, _IRQ_STATUS = register("IRQ_ENABLE"), register("IRQ_STATUS")
#: Bins only the stimulus knows: the weights it drew and the stuck cells it programmed.
PYTHON_BINS = ("operands/weight most negative", "operands/weight most positive",
               "operands/weight column all zero", "operands/stuck at g_min cell programmed",
               "operands/stuck at g_max cell programmed")


def pool_config(index):
    """The `index`-th configuration of the pool: a random legal tile, small enough to build
    in seconds, drawn from a fixed generator so every machine has the same pool, with
    ``_SPARE_COLS[index]`` spare columns and the schedule ``_SCHEDULES[index]`` (with
    ``_COLS_PER_ADC`` columns per ADC where a step converts several, or where it is
    pipelined with one)."""
    rng = np.random.default_rng([_POOL_TAG, index])
    pick = lambda *values: int(rng.choice(values))      # noqa: E731
    pipeline, adc_per_step = _SCHEDULES[index]
    tile = dict(rows=pick(3, 5, 8, 12, 16), cols=pick(1, 2, 3), in_bits=pick(3, 4, 5, 6),
                w_bits=pick(3, 4, 5), bits_per_cell=pick(1, 2), adc_bits=pick(3, 4, 5),
                adc_shift=0, cols_per_adc=pick(1, 2, 4), spare_cols=_SPARE_COLS[index],
                pipeline=pipeline)
    if pipeline or adc_per_step > 1:
        tile["cols_per_adc"] = _COLS_PER_ADC
    timing = dict(t_settle=pick(1, 2), t_adc=pick(1, 2), adc_per_step=adc_per_step)
    return parse_config({"tile": tile, "timing": timing,
                         "host": dict(data_width=pick(32, 64))})


@dataclass
class Scenario:
    """One seed's stimulus and expectations.

    Members
    -------
    seed, pool_index : int
    cfg : Config
    drive : ``"bulk"`` or ``"vip"``
    ops : list of dict
        For :func:`cimtile.tb.runs.host_runner.play`.
    arrays : dict of str to numpy.ndarray
    checks : list of dict
        ``{"op": index, "kind": ..., ...}``: what each answer must be (see
        :func:`cimtile.tb.regression.scenario_check.check`).
    python_bins : dict of str to int
        Bins only the stimulus knows (weights and stuck cells drawn), with their hits.
    """
    seed: int
    pool_index: int
    cfg: object
    drive: str
    ops: list = field(default_factory=list)
    arrays: dict = field(default_factory=dict)
    checks: list = field(default_factory=list)
    python_bins: dict = field(default_factory=dict)


def _weights(cfg, rng, sc):
    limit = 2 ** (cfg.tile.w_bits - 1) - 1
    W = rng.integers(-limit, limit, (cfg.tile.rows, cfg.tile.cols), endpoint=True)
    corner = rng.random((cfg.tile.rows, cfg.tile.cols))
    W[corner < 0.15] = -limit
    W[corner > 0.85] = limit
    if rng.random() < 0.3:
        W[:, int(rng.integers(cfg.tile.cols))] = 0
    if rng.random() < 0.3:
        # A column at full scale: with all-ones planes its count is the largest there is.
        W[:, int(rng.integers(cfg.tile.cols))] = limit * int(rng.choice([-1, 1]))
    sc.python_bins["operands/weight most negative"] = int((W == -limit).sum())
    sc.python_bins["operands/weight most positive"] = int((W == limit).sum())
    sc.python_bins["operands/weight column all zero"] = int((W == 0).all(axis=0).sum())
    return W


# Episodes.

def _refused_setting(b):
    """A setting just outside its range (or an unknown mode): refused, with its cause."""
    in_max, shift_max = b.cfg.tile.in_bits, b.cfg.adc_shift_max
    mode, in_bits, shift = [(0, 0, 0), (0, in_max + 1, 0), (0, 1, shift_max + 1),
                            (3, 1, 0)][int(b.rng.integers(4))]
    cause = b.write("SETTINGS", _SETTINGS.pack(mode=mode, in_bits=in_bits, adc_shift=shift))
    b.status_cause(cause)


def _batches(b, W):
    for _ in range(int(b.rng.integers(1, 4))):
        if b.rng.random() < 0.35:
            _refused_setting(b)
        in_bits, shift = b.run_settings()
        b.settings(in_bits, shift)
        if b.rng.random() < 0.6:
            b.pauses()
        n = int(b.rng.choice([1, 2, 5, 9, 20]))
        b.stream(W, n, int(b.rng.choice([1, n, max(1, n // 2)])), in_bits, shift)


def _registers(b, W):
    rng, cfg = b.rng, b.cfg
    for _ in range(int(rng.integers(4, 14))):
        reg = REGISTERS[int(rng.integers(len(REGISTERS)))]
        if rng.random() < 0.3:
            offset = int(rng.choice(_UNMAPPED))
            if rng.random() < 0.5:
                b.op(Op.read(offset), kind="read_decerr")
            else:
                b.op(Op.write(offset, int(rng.integers(2 ** 32))), kind="resp", expect=DECERR)
        elif rng.random() < 0.45 or reg.name in ("CTRL", "IRQ_STATUS"):
            b.read(reg.name)
        else:
            word = 0
            for f in reg.fields:
                lo, hi = f.valid_range(cfg)
                top = (1 << f.width) - 1
                value = int(rng.choice([lo, hi, min(hi + 1, top), max(lo - 1, 0), 0,
                                        rng.integers(lo, hi + 1)]))
                word |= value << f.lsb
            strobe = int(rng.choice([0xF, 0xF, 0x1, 0x2, 0x3, 0x4, 0xC]))
            cause = b.write(reg.name, word, strobe)
            if cause is not None:
                b.status_cause(cause)
    b.settings(*b.run_settings())


def _interrupts(b, W):
    rng = b.rng
    enable = int(rng.choice([1, 2, 3]))
    b.write("IRQ_STATUS", 3)
    b.write("IRQ_ENABLE", enable)
    in_bits, shift = b.run_settings()
    b.settings(in_bits, shift)
    b.stream(W, 2, 2, in_bits, shift)
    b.op(Op.wait_irq(200), kind="irq", expect=bool(enable & 1))
    # An error beside the done: a refused write.
    b.write("SETTINGS", _SETTINGS.pack(mode=0, in_bits=0, adc_shift=0))
    b.op(Op.idle(3), kind="irq", expect=True)
    b.op(Op.read(_IRQ_STATUS.offset), kind="read", expect=3)
    first = int(rng.choice([1, 2]))
    b.write("IRQ_STATUS", first)
    b.op(Op.idle(2), kind="irq", expect=bool(enable & (3 ^ first)))
    b.op(Op.read(_IRQ_STATUS.offset), kind="read", expect=3 ^ first)
    b.write("IRQ_STATUS", 3 ^ first)
    b.op(Op.idle(2), kind="irq", expect=False)
    if rng.random() < 0.5:
        # Pending events cleared by a soft reset instead.
        b.op(Op.write(_IRQ_STATUS.offset, 0), kind="resp", expect=OKAY)
        b.write("SETTINGS", _SETTINGS.pack(mode=3, in_bits=1, adc_shift=0))
        b.op(Op.idle(2), kind="irq", expect=bool(enable & 2))
        b.op(Op.write(_CTRL.offset, _CTRL.pack(soft_reset=1)), kind="resp", expect=OKAY)
        b.op(Op.idle(2), kind="irq", expect=False)


def _stream_errors(b, W):
    cfg, rng = b.cfg, b.rng
    b.requests = None       # a dropped vector's planes may or may not have been requested
    b.settings(cfg.tile.in_bits, 0)
    n = int(rng.integers(2, 5))
    X = b.inputs(n, cfg.tile.in_bits)
    expected = b.golden(W, X, cfg.tile.in_bits, 0)
    data = np.frombuffer(pack_vectors(X, cfg.tile.in_bits, cfg.host.data_width), np.uint8)
    vector_bytes = data.size // n
    beat = cfg.host.data_width // 8
    lane = -(-cfg.tile.in_bits // 8)
    if rng.random() < 0.5 or vector_bytes == beat:
        # Not the last vector: a dropped vector takes its TLAST with it.
        bad = int(rng.integers(n - 1))
        keep = np.ones(data.size, np.uint8)
        keep[bad * vector_bytes + int(rng.integers(cfg.tile.rows * lane))] = 0
        b.op(Op.send_raw(b.array(data), b.array(keep), b.budget))
        b.op(Op.collect(1, b.budget * 2), kind="results",
             expect=np.delete(expected, bad, axis=0), frames=1)
        b.status_cause(ErrorCause.STREAM_KEEP)
    else:
        # A frame that ends one beat into its second vector, then a whole batch: the first
        # vector's result, which left without TLAST, leads the next frame.
        short = data[:vector_bytes + beat]
        b.op(Op.send_raw(b.array(short), b.array(np.ones(short.size, np.uint8)), b.budget))
        X2, expected2 = b.stream(W, n, n, cfg.tile.in_bits, 0)
        b.sc.checks[-1]["expect"] = np.concatenate([expected[:1], expected2])
        b.status_cause(ErrorCause.STREAM_LAST)


def _drain(b, vectors):
    """After a cut: let the input's stray beats (up to `vectors` vectors) finish, reset
    again, and empty the sink's queue."""
    b.op(Op.pauses())
    b.op(Op.idle((vectors + 4) * (b.cfg.analog_cycles_per_mvm + 16) + 400))
    b.op(Op.write(_CTRL.offset, _CTRL.pack(soft_reset=1)), kind="resp", expect=OKAY)
    for _ in range(3):
        b.op(Op.collect(1, 300))


def _soft_reset_compute(b, W):
    cfg, rng = b.cfg, b.rng
    if b.requests is None:
        return
    in_bits, shift = b.run_settings()
    b.settings(in_bits, shift)
    stall = rng.random() < 0.4
    if stall:
        b.op(Op.pauses(out_prob=1.0, out_max=3000))
    n = int(rng.choice([3, 8, 24]))
    X = b.inputs(n, in_bits)
    expected = b.golden(W, X, in_bits, shift)
    b.op(Op.send(b.array(X), n))
    # The cut frame holds a prefix of the batch only if every beat was taken before the
    # reset: beats sent later make vectors of their own (with the early-TLAST error).
    plane_cycles = cfg.plane_cycles
    beats = -(-cfg.tile.rows * 8 * -(-cfg.tile.in_bits // 8) // cfg.host.data_width)
    settled = -(-(n * beats + 16) // plane_cycles)
    after = int(rng.integers(1, in_bits * min(n, 4) + 1))
    whole = n <= cfg.host.input_fifo_vectors and settled <= n * in_bits and rng.random() < 0.7
    if whole:
        after = int(rng.integers(settled, n * in_bits + 1))
    b.op(Op.soft_reset_after(b.requests + after, _CTRL.offset, _CTRL.pack(soft_reset=1),
                             b.budget), kind="resp", expect=OKAY)
    b.requests = None       # how far the cut vectors got is the tile's to decide
    budget = 250_000 if stall else 4 * cfg.analog_cycles_per_mvm + 400
    if whole:
        b.op(Op.collect(1, budget), kind="prefix", expect=expected)
    else:
        b.op(Op.collect(1, budget))
    _drain(b, n)
    b.stream(W, n, n, in_bits, shift)


def _busy(b, W):
    """Settings and a start written while a batch computes are refused (cause BUSY) and
    change nothing; the batch still completes."""
    cfg = b.cfg
    in_bits, shift = b.run_settings()
    b.settings(in_bits, shift)
    n = int(b.rng.integers(4, 9))
    X = b.inputs(n, in_bits)
    b.op(Op.pauses())       # no TVALID gap before the batch is inside
    b.op(Op.send(b.array(X), n))
    # A few cycles: even at in_bits 1 the batch is still inside.
    b.op(Op.idle(2))
    if b.rng.random() < 0.5:
        word = _SETTINGS.pack(mode=0, in_bits=1, adc_shift=0)
        b.op(Op.write(_SETTINGS.offset, word), kind="resp", expect=SLVERR)
    else:
        b.op(Op.write(_CTRL.offset, _CTRL.pack(start=1)), kind="resp", expect=SLVERR)
    b.op(Op.read(_STATUS.offset), kind="cause", expect=int(ErrorCause.BUSY))
    b.op(Op.collect(1, b.budget * (1 + n // 8)), kind="results",
         expect=b.golden(W, X, in_bits, shift), frames=1)
    b.read("SETTINGS")
    b.write("IRQ_STATUS", _IRQ_STATUS.pack(error=1))
    b.counted(n * in_bits)


def scenario(seed):
    """The scenario of `seed` (any non-negative integer)."""
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, not {seed!r}")
    rng = np.random.default_rng([seed, 0x12])
    index = seed % POOL_SIZE
    cfg = pool_config(index)
    drive = "vip" if rng.random() < 0.55 else "bulk"
    sc = Scenario(seed=seed, pool_index=index, cfg=cfg, drive=drive,
                  python_bins=dict.fromkeys(PYTHON_BINS, 0))
    b = ScenarioBuilder(sc, rng)
    W = _weights(cfg, rng, sc)
    sc.arrays |= {"W": W, "seed": seed}
    if cfg.tile.spare_cols:
        # Spares hold levels of their own, so every remap entry changes what its column
        # reads, and an entry read from the wrong spare gives other results.
        levels = weight_levels(W, cfg)
        levels[:, cfg.cols_data:] = rng.integers(0, cfg.max_level + 1,
                                                 (cfg.tile.rows, cfg.tile.spare_cols))
        sc.arrays["G"] = level_conductances(cfg, levels)
    episodes = [_batches, _registers, _interrupts, remap_table, busy_refusals, arbitration]
    if drive == "vip":
        episodes += [_stream_errors, _soft_reset_compute, programming, _busy]
    order = list(rng.permutation(len(episodes)))
    if drive == "vip":
        # The cut batch counts requests: before any dropped vector. A run kept busy takes
        # any target a cut programming run left: before that.
        for first, then in ((_soft_reset_compute, _stream_errors),
                            (busy_refusals, programming)):
            first, then = episodes.index(first), episodes.index(then)
            if order.index(then) < order.index(first):
                order.remove(first)
                order.insert(order.index(then), first)
    for index in order + list(rng.integers(0, len(episodes), int(rng.integers(0, 3)))):
        episode = episodes[index]
        if episode is programming and "faults" in sc.arrays:
            continue                # one device per run; its golden cannot follow two
        episode(b, W)
    return sc
