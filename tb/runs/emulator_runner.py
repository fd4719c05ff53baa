"""All-RTL simulation: the host top with the crossbar emulator behind its analog port.

No Python model answers the analog port here: Verilator simulates the host tile and the
emulator together (as the FPGA board core wires them), inside the bulk top, whose player and
recorder stream the batch through the AXI4-Stream ports from files. Python wakes only to
refill or drain a ring half. In ideal mode the results equal the bulk co-simulation's in the
same cycles, so this backend measures how fast the co-simulation could run if the analog
model and the testbench cost nothing.

Builds, the build cache and the stimulus and result files are those of :mod:`.exchange`.
"""

import numpy as np
from cocotbext.axi import AxiResp

from cimtile.hdl.crossbar_emulator import emulator_geometry
from cimtile.models.golden import golden_verdict
from cimtile.spec.host_driver import settings_word
from cimtile.spec.regmap import register

from ..tops.bulk_top import EMULATED_BULK
from ..transport.exchange import SimulationError, run_testbench
from .host_runner import cycle_budget
from ..tops.pauses import pause_pattern
from ..transport.results import HostRun
from ..transport.stimulus import Scenario

__all__ = ["simulate_emulator"]

TB_MODULE = "cimtile.tb.benches.emulator_tb"


def simulate_emulator(cfg, W, X, *, scenario=Scenario(), frame_vectors=1, waves=None,
                      verbose=False):
    """Simulate the host top of `cfg` and its crossbar emulator holding `W`, on every row of
    `X`, as :func:`cimtile.tb.runs.runner.simulate` co-simulates it.

    Parameters
    ----------
    cfg : Config
        Its ``[analog]`` model must be ideal: the emulator has no other.
    W : array (rows, cols) of int
    X : array (N, rows) of int
    scenario : Scenario
        Seed of the pause patterns, random input gaps and output back-pressure, and whether
        a mismatch with the golden model fails the run; no mid-run reset.
    frame_vectors : int
        Vectors per batch (frame).
    waves, verbose
        As for :func:`cimtile.tb.transport.exchange.run_testbench`.

    Returns
    -------
    HostRun

    Raises
    ------
    ValueError
        If the analog model is physical or the scenario resets mid-run.
    ConfigError
        If the emulator cannot meet the config's ADC timing.
    BuildError, SimulationError
        Also when the SETTINGS write is refused, a result is missing, the AXI checker
        fires, or (with ``scenario.strict``) a result differs from the golden model.
    """
    if cfg.analog.physical:
        raise ValueError("the emulator backend has only the ideal analog model; "
                         "set analog.model = \"ideal\" or use the cosim backend")
    if scenario.reset_after_requests >= 0:
        raise ValueError("the emulator backend does not reset mid-run")
    emulator_geometry(cfg)  # refuses an ADC timing it cannot serve, before any build
    X = np.asarray(X, np.int64)
    s = scenario
    stimulus = dict(W=np.asarray(W, np.int64), X=X, frame_vectors=frame_vectors,
                    budget=cycle_budget(cfg, len(X)),
                    settings_offset=register("SETTINGS").offset, settings=settings_word(cfg))
    if s.in_gap_prob or s.out_stall_prob:
        # Drawn as the co-simulation's player draws them from the same seed.
        rng = np.random.default_rng([s.seed, 1])
        stimulus["pause_in"] = pause_pattern(rng, s.in_gap_prob, s.in_gap_max)
        stimulus["pause_out"] = pause_pattern(rng, s.out_stall_prob, s.out_stall_max)
    out, build_s, wall_s = run_testbench(cfg, TB_MODULE, stimulus, waves=waves,
                                         verbose=verbose, top=EMULATED_BULK)
    if int(out["settings_resp"]) != AxiResp.OKAY:
        raise SimulationError("SETTINGS write refused")
    Y = out["Y"]
    if bool(out["timeout"]):
        raise SimulationError(f"only {len(Y)} of {len(X)} results arrived")
    verdict = golden_verdict(cfg, W, X, Y, s.seed)
    if s.strict and not verdict.ok:
        raise SimulationError(verdict.describe())
    return HostRun(Y=Y, frame_cycles=out["frame_cycles"],
                   frame_vectors=out["frame_vectors"],
                   first_request=int(out["first_request"]), verdict=verdict,
                   build_s=build_s, wall_s=wall_s, stream_s=float(out["stream_s"]),
                   wakeups=int(out["wakeups"]))
