"""All-RTL simulation: the tile with the crossbar emulator behind its analog port.

No Python model answers the analog port here: Verilator simulates the periphery and the
emulator together, and cocotb only streams vectors in and results out. In ideal mode the
results equal the co-simulation's bit for bit, so this backend measures how fast the
co-simulation could run if the analog model cost nothing.

Builds, the build cache and the stimulus and result files are those of :mod:`.runner`.
"""

import dataclasses
import json
from dataclasses import dataclass, field

import numpy as np
from amaranth.back import verilog
from amaranth.hdl import Module
from amaranth.lib import wiring

from cimtile.hdl.crossbar_emulator import CrossbarEmulator, emulator_geometry
from cimtile.hdl.tile import Tile

from .exchange import run_testbench
from .runner import Scenario, SimResult

__all__ = ["EmulatedTile", "verilog_source", "TOP_NAME", "EmulatorResult",
           "simulate_emulator"]

TOP_NAME = "cim_tile_emu"
TB_MODULE = "cimtile.tb.emulator_tb"


class EmulatedTile(wiring.Component):
    """The tile of `config` with a :class:`CrossbarEmulator` as its analog macro.

    Members
    -------
    Every member of :class:`~cimtile.hdl.tile.Tile` but ``analog``, and
    l_stream : ``In(stream.Signature(load_layout(config)))``
        The emulator's direct level writes.
    """

    def __init__(self, config):
        self.config = config
        self._tile = Tile(config)
        self._emulator = CrossbarEmulator(config)
        self._forwarded = {name: member for name, member in self._tile.signature.members.items()
                           if name != "analog"}
        super().__init__(self._forwarded
                         | {"l_stream": self._emulator.signature.members["l_stream"]})

    def elaborate(self, platform):
        m = Module()
        m.submodules.tile = tile = self._tile
        m.submodules.emulator = emulator = self._emulator
        wiring.connect(m, tile.analog, emulator.analog)
        wiring.connect(m, wiring.flipped(self.l_stream), emulator.l_stream)
        for name, member in self._forwarded.items():
            outer, inner = getattr(self, name), getattr(tile, name)
            if member.is_signature:
                wiring.connect(m, wiring.flipped(outer), inner)
            elif member.flow == wiring.In:
                m.d.comb += inner.eq(outer)
            else:
                m.d.comb += outer.eq(inner)
        return m


def verilog_source(config):
    """Verilog of the emulated tile (module ``cim_tile_emu``) for `config`."""
    return verilog.convert(EmulatedTile(config), name=TOP_NAME, emit_src=False)


@dataclass
class EmulatorResult(SimResult):
    """A :class:`SimResult`, plus what programming the levels produced.

    Members
    -------
    pulses, converged : ndarray
        Per-cell write-verify results, row-major over the whole array (empty when the
        levels were loaded directly).
    program_cycles : int
        Cycles programming took (0 when loaded directly).
    """
    pulses: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    converged: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    program_cycles: int = 0


def simulate_emulator(cfg, W, X, *, scenario=Scenario(), program=False, waves=None,
                      verbose=False):
    """Simulate the tile of `cfg` and its crossbar emulator holding `W`, on every row of `X`.

    Parameters
    ----------
    cfg : Config
        Its ``[analog]`` model must be ideal: the emulator has no other.
    W : array (rows, cols) of int
    X : array (N, rows) of int
    scenario : Scenario
        Stimulus timing and strictness; no mid-run reset.
    program : bool
        Program the levels of `W` by the tile's write-verify engine (``cfg.write_verify``
        settings) instead of writing them through ``l_stream``.
    waves, verbose
        As for :func:`cimtile.tb.runner.run_testbench`.

    Returns
    -------
    EmulatorResult

    Raises
    ------
    ValueError
        If the analog model is physical or the scenario resets mid-run.
    ConfigError
        If the emulator cannot meet the config's ADC timing.
    BuildError, SimulationError
    """
    if cfg.analog.physical:
        raise ValueError("the emulator backend has only the ideal analog model; "
                         "set analog.model = \"ideal\" or use the cosim backend")
    if scenario.reset_after_requests >= 0:
        raise ValueError("the emulator backend does not reset mid-run")
    emulator_geometry(cfg)  # refuses an ADC timing it cannot serve, before any build
    stimulus = dict(W=np.asarray(W, np.int64), X=np.asarray(X, np.int64), program=program,
                    scenario=np.array(json.dumps(dataclasses.asdict(scenario))))
    out, build_s, wall_s = run_testbench(cfg, TB_MODULE, stimulus, waves=waves,
                                         verbose=verbose, top=(verilog_source, TOP_NAME))
    empty = np.zeros(0, np.int64)
    return EmulatorResult(
        Y=out["Y"], in_cycles=out["in_cycles"], out_cycles=out["out_cycles"],
        request_cycles=empty, Y_after_reset=np.zeros((0, cfg.tile.cols), np.int64),
        out_cycles_after_reset=empty, stale_outputs=0, cycles_total=int(out["cycles_total"]),
        golden_mismatches=int(out["golden_mismatches"]), build_s=build_s, wall_s=wall_s,
        pulses=out["pulses"], converged=out["converged"],
        program_cycles=int(out["program_cycles"]))
