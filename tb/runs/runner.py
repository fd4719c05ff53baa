"""Entry points of the co-simulation (their results are in :mod:`.results`).

:func:`simulate` and :func:`program` drive the tile through its AXI ports
(:mod:`.host_runner`); :func:`simulate_tile` and :func:`program_tile` drive the bare tile
core. The build and its cache are :mod:`.build`'s, the exchange of files with the simulator
:mod:`.exchange`'s.
"""

import dataclasses
import json

import numpy as np

from cimtile.models.verdict import Verdict

from ..transport.exchange import SimulationError, run_testbench
from .host_runner import program as host_program
from .host_runner import simulate as host_simulate
from ..transport.results import ProgramRun, SimResult
from ..transport.stimulus import Scenario

__all__ = ["Scenario", "simulate", "simulate_tile", "program", "program_tile"]

TB_MODULE = "cimtile.tb.benches.tile_tb"


def simulate_tile(cfg, W, X, *, scenario=Scenario(), X_after_reset=None, conductances=None,
                  waves=None, verbose=False):
    """Co-simulate the bare tile core (its native stream ports, no host interface) holding
    weights `W` on every row of `X`: the block-level test of the periphery, with per-vector
    timing and a hard reset in mid-run.

    Parameters
    ----------
    cfg : Config
    W : array (rows, cols) of int
    X : array (N, rows) of int
    scenario : Scenario
        Stimulus timing, seed and an optional mid-run reset.
    X_after_reset : array (M, rows) of int, optional
        Batch streamed after the mid-run reset of ``scenario.reset_after_requests``.
    conductances : array (rows, cols_phys), optional
        Cell conductances (uS) left by programming `W`; by default its ideal levels.
    waves, verbose
        As for :func:`run_testbench`.

    Returns
    -------
    SimResult

    Raises
    ------
    BuildError, SimulationError
    """
    if X_after_reset is None:
        X_after_reset = np.zeros((0, cfg.tile.rows), np.int64)
    if scenario.reset_after_requests < 0 and len(X_after_reset):
        raise ValueError("X_after_reset needs scenario.reset_after_requests >= 0")
    stimulus = dict(W=np.asarray(W, np.int64), X=np.asarray(X, np.int64),
                    X_after_reset=np.asarray(X_after_reset, np.int64),
                    G=np.zeros(0) if conductances is None else np.asarray(conductances, float),
                    scenario=np.array(json.dumps(dataclasses.asdict(scenario))))
    out, build_s, wall_s = run_testbench(cfg, TB_MODULE, stimulus, waves=waves,
                                         verbose=verbose)
    return SimResult(
        Y=out["Y"], in_cycles=out["in_cycles"], out_cycles=out["out_cycles"],
        request_cycles=out["request_cycles"], Y_after_reset=out["Y_after_reset"],
        out_cycles_after_reset=out["out_cycles_after_reset"],
        stale_outputs=int(out["stale_outputs"]), cycles_total=int(out["cycles_total"]),
        verdict=Verdict(**json.loads(str(out["verdict"]))), build_s=build_s, wall_s=wall_s)


def program_tile(cfg, levels, *, faults=None, settings=None, rect=None, runs=1, seed=0,
                 waves=None, verbose=False):
    """Co-simulate the bare tile core programming target `levels` into a memdiode array.

    Parameters
    ----------
    cfg : Config
    levels : array (rows, cols_phys) of int
        Target level of every cell; only the rectangle is programmed.
    faults : array (rows, cols_phys) of 0/1/2, optional
        Stuck-at map (0 healthy, 1 stuck at g_min, 2 stuck at g_max).
    settings : WriteVerifyConfig, optional
        Default: ``cfg.write_verify``.
    rect : Rectangle, optional
        Default: the whole array.
    runs : int
        Program the rectangle this many times in a row (reprogramming).
    seed : int
        Seeds the device array as the golden model does.

    Raises
    ------
    BuildError, SimulationError
    """
    from cimtile.models.program import Rectangle
    shape = (cfg.tile.rows, cfg.cols_phys)
    settings = settings or cfg.write_verify
    rect = rect or Rectangle.whole(*shape)
    faults = np.zeros(shape, np.int64) if faults is None else faults
    stimulus = dict(levels=np.asarray(levels, np.int64), faults=np.asarray(faults, np.int64),
                    settings=np.array(json.dumps(dataclasses.asdict(settings))),
                    rect=np.array(dataclasses.astuple(rect)), seed=seed, runs=runs)
    out, build_s, wall_s = run_testbench(cfg, "cimtile.tb.benches.program_tb", stimulus,
                                         waves=waves, verbose=verbose)
    return ProgramRun(pulses=out["pulses"], converged=out["converged"],
                      cycles_total=int(out["cycles_total"]), state=out["state"],
                      conductance=out["conductance"], reads=int(out["reads"]),
                      pulses_applied=int(out["pulses_applied"]), build_s=build_s,
                      wall_s=wall_s)


def simulate(cfg, W, X, *, scenario=Scenario(), conductances=None, in_bits=None,
             adc_shift=None, frame_vectors=1, drive="bulk", out=None, remap=None,
             waves=None, verbose=False):
    """Co-simulate the tile of `cfg` holding weights `W` on every row of `X`, driven only
    through its AXI4-Lite and AXI4-Stream ports (see :func:`cimtile.tb.runs.host_runner.simulate`).

    `scenario` gives the seed, random input gaps and output back-pressure, and whether a
    mismatch with the golden model fails the run (``strict``). A mid-run reset is a
    :func:`simulate_tile` scenario. `drive` is ``"bulk"`` (stimulus, results and analog
    answers in bulk) or ``"vip"`` (cocotbext-axi beat by beat, the analog model plane by
    plane); both give the same results in the same cycles. `out` (bulk drive) names a
    ``.npy`` file the results are written to as they arrive; `remap` is the column remap
    table of a tile with spare columns.

    Raises
    ------
    ValueError
        If the scenario asks for a mid-run reset.
    BuildError, SimulationError
    """
    if scenario.reset_after_requests >= 0:
        raise ValueError("a mid-run reset scenario runs on the bare tile: use simulate_tile")
    s = scenario
    pauses = ((s.in_gap_prob, s.in_gap_max, s.out_stall_prob, s.out_stall_max)
              if s.in_gap_prob or s.out_stall_prob else None)
    result = host_simulate(cfg, W, X, seed=s.seed, conductances=conductances, in_bits=in_bits,
                           adc_shift=adc_shift, frame_vectors=frame_vectors, pauses=pauses,
                           drive=drive, out=out, remap=remap, waves=waves,
                           verbose=verbose)
    if s.strict and not result.verdict.ok:
        raise SimulationError(result.verdict.describe())
    return result


def program(cfg, levels, *, faults=None, settings=None, rect=None, runs=1, seed=0,
            drive="bulk", waves=None, verbose=False):
    """Co-simulate programming target `levels` into a memdiode array through the tile's
    AXI ports (see :func:`cimtile.tb.runs.host_runner.program`, which says what `drive` does);
    other arguments and the result as for :func:`program_tile`."""
    return host_program(cfg, levels, faults=faults, settings=settings, rect=rect, runs=runs,
                        seed=seed, drive=drive, waves=waves, verbose=verbose)
