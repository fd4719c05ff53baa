"""Switching activity of the digital periphery, measured in the simulated RTL.

The tile core runs in the Amaranth simulator on a window of a run's own vectors, its analog
port answered by the same behavioural macro as the golden model (or on the first cells of a
write-verify run, answered by the same memdiode array), and every bit transition of every
signal is counted from the waveform, block by block (the tile's submodules). A
block's activity factor is its transitions per signal bit; applied to its synthesised gate
equivalents (:mod:`cimtile.flows.ppa.area`) it gives gate-equivalent transitions, the count the
energy model charges ``ppa.ge_toggle_fj`` for. The host interface is not in the window (it
leaks, but its switching is not counted).
"""

import dataclasses
import hashlib
import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from amaranth.sim import Simulator

from cimtile.behavioral import AnalogMacro
from cimtile.behavioral.device import MemdiodeArray
from cimtile.hdl import Tile
from cimtile.hdl.tile import verilog_source
from cimtile.models.program import Rectangle
from cimtile.spec.mapping import random_operands, validated_inputs
from cimtile.tb.build.cache_settings import store, store_directory
from cimtile.tb.build.elaboration import elaborated

from .area import BLOCKS

__all__ = ["Toggles", "DigitalActivity", "count_toggles", "TileToggles", "tile_toggles",
           "typical_toggles",
           "program_toggles", "digital_activity"]

#: Vectors in the simulated window: the tile's schedule repeats per vector, so a few give
#: its per-vector activity; cells in a programming window, whose pulse counts vary more.
WINDOW = 4
WINDOW_CELLS = 16


@dataclass(frozen=True)
class Toggles:
    """Bit transitions per block over a window.

    Members
    -------
    units, cycles : int
        Vectors computed (or cells programmed) in the window, and the cycles it took.
    transitions, bits : dict
        Per block (:data:`~cimtile.flows.ppa.area.BLOCKS`): signal-bit transitions in the window
        and signal bits declared.
    """
    units: int
    cycles: int
    transitions: dict
    bits: dict

    def activity(self, block):
        """Transitions per signal bit per unit (vector or cell): the block's activity factor
        per MVM, or per programmed cell (0 for a block the tile does not have)."""
        if not self.bits[block]:
            return 0.0
        return self.transitions[block] / self.bits[block] / self.units


@dataclass(frozen=True)
class DigitalActivity:
    """The digital periphery in a run, block by block.

    Members
    -------
    ge : dict
        Gate equivalents of every synthesised block (all of them leak).
    ge_toggles : dict
        Gate-equivalent transitions of each tile block in the run: its measured activity
        factor per vector (or programmed cell) times its gate equivalents times the run's
        vectors (or cells); empty when not measured; the host interface is never in it.
    sram_bits : int
        Bits held in SRAM macros (they leak).
    sram_bits_per_vector : int
        Bits each input vector writes into the macros and reads out of them.
    """
    ge: dict
    ge_toggles: dict
    sram_bits: int = 0
    sram_bits_per_vector: int = 0


def digital_activity(area, toggles=None, units=0):
    """:class:`DigitalActivity` of a run of `units` vectors (or programmed cells) from a
    tile's :class:`~cimtile.flows.ppa.area.Area` and, if measured, its :class:`Toggles`."""
    switching = {} if toggles is None else {
        block: toggles.activity(block) * area.digital_ge[block] * units for block in BLOCKS}
    return DigitalActivity(ge=dict(area.digital_ge), ge_toggles=switching,
                           sram_bits=sum(area.sram_bits.values()),
                           sram_bits_per_vector=area.sram_bits_per_vector)


def count_toggles(vcd_text):
    """Bit transitions and declared bits of every scope path in a VCD, after time 0.

    A string variable (an enumeration such as an FSM state, which the simulator writes
    decoded) counts as one bit that changes whenever its value does.

    Returns
    -------
    (dict, dict)
        Scope path (tuple of names) -> transitions, and -> bits. A signal that appears in
        several scopes counts in each.
    """
    scopes, path = {}, []
    width, owners = {}, {}
    header, _, body = vcd_text.partition("$enddefinitions")
    for token in re.finditer(r"\$scope\s+\w+\s+(\S+)\s+\$end|\$upscope|"
                             r"\$var\s+\w+\s+(\d+)\s+(\S+)\s+\S+.*?\$end", header):
        if token.group(1):
            path.append(token.group(1))
        elif token.group(2):
            ident = token.group(3)
            width[ident] = int(token.group(2))
            owners.setdefault(ident, []).append(tuple(path))
            scopes.setdefault(tuple(path), [0, 0])[1] += int(token.group(2))
        else:
            path.pop()
    value, started = {}, False
    flips = dict.fromkeys(width, 0)
    for line in body.split("\n"):
        if not line:
            continue
        head = line[0]
        if head == "#":
            started = started or int(line[1:]) > 0
            continue
        if head in "bB":
            bits, ident = line[1:].split()
            new = int(bits.replace("x", "0").replace("z", "0"), 2)
        elif head in "01xz":
            new, ident = (1 if head == "1" else 0), line[1:]
        elif head in "sS":
            # A decoded enumeration (an FSM state): a change of value is at least one bit.
            new, ident = line[1:].rsplit(" ", 1)
        else:
            continue
        if ident in value and started:
            old = value[ident]
            flips[ident] += (old ^ new).bit_count() if isinstance(new, int) else old != new
        value[ident] = new
    for ident, paths in owners.items():
        for p in paths:
            scopes[p][0] += flips[ident]
    return ({p: t for p, (t, _) in scopes.items()}, {p: b for p, (_, b) in scopes.items()})


class TileToggles:
    """Measures :class:`Toggles` of the tile core of `cfg` on window after window, in one
    simulator reset between them: elaborating the tile for the simulator takes about as long
    as simulating a window, and the tiles of a network run share their configuration.

    Parameters
    ----------
    cfg : Config
    """

    def __init__(self, cfg):
        self.cfg = cfg
        dut = Tile(cfg)
        self._window = None
        rows = cfg.tile.rows

        async def analog(ctx):
            async for _ in ctx.tick():
                if ctx.get(dut.analog.sample):
                    wl = ctx.get(dut.analog.wl)
                    plane = np.array([(wl >> r) & 1 for r in range(rows)], np.float32)
                    codes = self._window["macro"].sample(plane)
                    ctx.set(dut.analog.codes, [int(c) for c in codes])

        async def driver(ctx):
            ctx.set(dut.o_stream.ready, 1)
            for x in self._window["X"]:
                ctx.set(dut.i_stream.payload, [int(v) for v in x])
                ctx.set(dut.i_stream.valid, 1)
                await ctx.tick().until(dut.i_stream.ready)
            ctx.set(dut.i_stream.valid, 0)

        async def monitor(ctx):
            cycles, done = 0, self._window["done"]
            while len(done) < len(self._window["X"]):
                _, _, valid = await ctx.tick().sample(dut.o_stream.valid)
                cycles += 1
                if valid:
                    done.append(cycles)

        self._sim = Simulator(dut)
        self._sim.add_clock(1e-8)
        self._sim.add_testbench(analog, background=True)
        self._sim.add_testbench(driver, background=True)
        self._sim.add_testbench(monitor)

    def measure(self, W, X, *, seed=0, conductances=None):
        """:class:`Toggles` of the tile computing the vectors `X` (a window of a run) back to
        back with weights `W`, its analog macro seeded with `seed` (reading `conductances`
        when given), at the configured run-time settings."""
        X = validated_inputs(X, self.cfg)
        macro = AnalogMacro.for_array(self.cfg, W, np.random.default_rng(seed), conductances)
        if self._window is not None:
            self._sim.reset()
        self._window = {"macro": macro, "X": X, "done": []}
        return _measured(self._sim, len(X), self._window["done"])


def tile_toggles(cfg, W, X, *, seed=0, conductances=None):
    """:class:`Toggles` of the tile core computing the vectors `X` (a window of a run)
    back to back, at the configured run-time settings (:meth:`TileToggles.measure` on a
    simulator of its own)."""
    return TileToggles(cfg).measure(W, X, seed=seed, conductances=conductances)


def typical_toggles(cfg):
    """:class:`Toggles` of the tile core of `cfg` on a window of uniform random weights and
    inputs (seed 0), at the configured run-time settings: the configuration's switching per
    vector, measured once and cached beside the synthesised areas, so that a run's energy
    needs no simulation of its own (:func:`tile_toggles` measures a run's own window)."""
    text = elaborated(verilog_source, cfg)
    settings = json.dumps(dataclasses.asdict(cfg), sort_keys=True, default=str)
    # The blocks are in the key: the counts are kept per block.
    key = hashlib.sha256(f"{WINDOW}\0{BLOCKS}\0{settings}\0{text}".encode()).hexdigest()[:32]
    entry = store_directory("toggles") / f"{key}.json"
    if entry.is_file():
        return Toggles(**json.loads(entry.read_text()))
    W, X = random_operands(cfg, WINDOW, np.random.default_rng(0))
    toggles = tile_toggles(cfg, W, X)
    store(entry, json.dumps(dataclasses.asdict(toggles), sort_keys=True))
    return toggles


def program_toggles(cfg, levels, *, seed=0, faults=None, cells=WINDOW_CELLS):
    """:class:`Toggles` of the tile core programming the first `cells` cells of row 0 to
    `levels` (rows, cols_phys) by write-verify, a memdiode array seeded as the run's
    answering its verify reads and pulses."""
    cells = min(cells, cfg.cols_phys)
    dut = Tile(cfg)
    shape = (cfg.tile.rows, cfg.cols_phys)
    device = MemdiodeArray(cfg.device, shape, np.random.default_rng(seed), faults)
    settings = dataclasses.asdict(cfg.write_verify) | dataclasses.asdict(
        Rectangle(0, 0, 0, cells - 1))
    done = []

    async def analog(ctx):
        cell = dut.analog.cell
        async for _ in ctx.tick():
            index = np.array([ctx.get(cell.row) * cfg.cols_phys + ctx.get(cell.col)])
            if ctx.get(cell.read):
                ctx.set(cell.read_code, int(device.read(index, cfg.tile.adc_bits)[0]))
            if ctx.get(cell.pulse):
                device.pulse(index, [ctx.get(cell.polarity).value], [ctx.get(cell.amplitude)],
                             [ctx.get(cell.width)])

    async def bench(ctx):
        ctx.set(dut.prog_settings, settings)
        ctx.set(dut.r_stream.ready, 1)
        ctx.set(dut.prog_start, 1)
        await ctx.tick()
        ctx.set(dut.prog_start, 0)
        cycles = 1
        for level in np.asarray(levels)[0, :cells]:
            ctx.set(dut.t_stream.payload, int(level))
            ctx.set(dut.t_stream.valid, 1)
            while True:
                _, _, ready = await ctx.tick().sample(dut.t_stream.ready)
                cycles += 1
                if ready:
                    break
        ctx.set(dut.t_stream.valid, 0)
        while not ctx.get(dut.prog_done):
            await ctx.tick()
            cycles += 1
        done.append(cycles)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(analog, background=True)
    sim.add_testbench(bench)
    return _measured(sim, cells, done)


def _measured(sim, units, done):
    """Run `sim` writing a waveform and count its transitions per block."""
    with tempfile.TemporaryDirectory(prefix="cimtile-toggles-") as work:
        vcd = Path(work) / "tile.vcd"
        with sim.write_vcd(str(vcd)):
            sim.run()
        transitions, bits = count_toggles(vcd.read_text())
    blocks_t, blocks_b = {}, {}
    for block, modules in BLOCKS.items():
        blocks_t[block] = sum(t for p, t in transitions.items() if p and p[-1] in modules)
        blocks_b[block] = sum(b for p, b in bits.items() if p and p[-1] in modules)
    return Toggles(units=units, cycles=done[-1], transitions=blocks_t, bits=blocks_b)
