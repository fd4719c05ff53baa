"""cocotb test of the whole chip: program every tile by write-verify, load a program, run it
on every image, read the outputs.

The stimulus comes from the ``.npz`` file named by ``$CIMTILE_TB_IN`` (written by
:func:`cimtile.tb.runs.chip_runner.simulate_chip`); the outputs, the cycles of every image,
the tiles' analog requests and programming results go to ``$CIMTILE_TB_OUT``, written
before any check can fail so the caller always gets them.

All tiles are programmed at once, each by its own write-verify engine against its own
memdiode array, with column repair over its spares run by the host's flow
(:func:`cimtile.models.repair.repair_steps`). Each tile's analog port is then answered by its
own behavioural macro, seeded as the golden chip model seeds the tile, holding what
programming left (the conductances in physical mode, read out over the programming window;
the levels in ideal mode). The caller compares the programming with the golden
program-and-verify and the outputs with the golden chip model.
"""

import json
import os
import time

import cocotb
import numpy as np
from cocotb.triggers import ReadOnly, RisingEdge, SimTimeoutError, with_timeout

from cimtile.behavioral import AnalogMacro
from cimtile.behavioral.device import MemdiodeArray
from cimtile.hdl.chip_datapath import param_layout
from cimtile.hdl.chip_sequencer import SequencerError
from cimtile.hdl.write_verify import RESULT_LAYOUT
from cimtile.models.program import program_golden, read_config
from cimtile.models.repair import repair_steps
from cimtile.spec.chip_config import parse_chip_config
from cimtile.spec.config import parse_config

from .analog import AnalogBinding
from .chip_rings import RingDrainer, RingFeeder
from .clocking import CLOCK_PERIOD_NS, cycle_now
from ..tops.bulk_layout import Layout
from ..tops.chip_top import CHIP_RINGS, result_fields_of, target_fields_of
from ..transport.bulk_entries import cell_entries
from ..transport.exchange import ENV_IN, ENV_OUT
from .write_verify_pass import pack_settings, pass_budget

RESET_CYCLES = 2


def _load():
    with np.load(os.environ[ENV_IN]) as data:
        config = json.loads(str(data["config"]))
        chip = parse_chip_config({"chip": config["chip"]}, parse_config(config["tile"]))
        arrays = {name: data[name] for name in data.files if name != "config"}
    return chip, arrays


def _bits(value, width):
    return int(value) & ((1 << width) - 1)


class ChipHost:
    """The host side of the chip's ports: the program, parameter and activation ports, a
    write or read a cycle, and the run control."""

    def __init__(self, dut, chip):
        self.dut, self.chip = dut, chip
        c = chip.chip
        self._addr_bits = (chip.act_elements - 1).bit_length()
        self._program_bits = (c.program_words - 1).bit_length()
        self._param_bits = (c.param_words - 1).bit_length()
        layout = param_layout(chip)
        self._mult_at, self._bias_at = layout["mult"].offset, layout["bias"].offset

    async def _write(self, port, words):
        """Write each ``(addr, data, addr_bits)`` of `words` a cycle, with ``en`` set."""
        for addr, value, addr_bits in words:
            port.value = 1 | addr << 1 | value << (1 + addr_bits)
            await RisingEdge(self.dut.clk)
        port.value = 0

    async def load(self, words, mult, bias):
        c = self.chip.chip
        await self._write(self.dut.program_write,
                          [(a, int(w), self._program_bits) for a, w in enumerate(words)])
        await self._write(self.dut.param_write, [
            (a, _bits(m, c.mult_bits) << self._mult_at | _bits(b, c.bias_bits) << self._bias_at,
             self._param_bits) for a, (m, b) in enumerate(zip(mult, bias))])

    async def write_activations(self, address, values):
        bits = self.chip.chip.out_bits
        await self._write(self.dut.act_write, [(address + i, _bits(v, bits), self._addr_bits)
                                               for i, v in enumerate(values)])

    async def read_activations(self, address, length):
        """The activations at `address`: a read a cycle, each value the cycle after."""
        port, values = self.dut.act_read, []
        for i in range(length + 1):
            if i:
                values.append(self.dut.act_data.value.to_signed())
            port.value = 1 | (address + i) << 1 if i < length else 0
            await RisingEdge(self.dut.clk)
        return values

    async def run(self, budget):
        """Start the program and return ``(cycles from start to done, error)``, or None if
        ``done`` does not rise within `budget` cycles."""
        self.dut.start.value = 1
        await RisingEdge(self.dut.clk)
        start = cycle_now()
        self.dut.start.value = 0
        try:
            await with_timeout(RisingEdge(self.dut.done), budget * CLOCK_PERIOD_NS, "ns")
        except SimTimeoutError:
            return None
        await ReadOnly()
        cycles, error = cycle_now() - start, SequencerError(int(self.dut.error.value))
        await RisingEdge(self.dut.clk)
        return cycles, error


def _idle_tiles(dut, chip):
    """Every tile at its configured settings, no repair, write-verify idle, its rings
    empty."""
    tile = chip.tile.tile
    for t in range(chip.chip.tiles):
        ports = {f"tile{t}__{name}": value for name, value in (
            ("in_bits", tile.in_bits), ("adc_shift", tile.adc_shift), ("remap", 0),
            ("prog_settings", 0), ("prog_start", 0), ("prog_read_only", 0))}
        ports |= {f"bulk__{ring}{t}_{port}": 0 for ring in ("target", "cell")
                  for port in ("count", "load0", "load1")}
        ports |= {f"bulk__result{t}_{port}": 0 for port in ("drained", "dump0", "dump1")}
        for name, value in ports.items():
            if hasattr(dut, name):
                getattr(dut, name).value = value


def _field(payload, name):
    field = RESULT_LAYOUT[name]
    return (payload >> field.offset) & ((1 << field.width) - 1)


class TileProgrammer:
    """Programs tile `t` of the chip by write-verify with column repair, through its rings
    (:mod:`cimtile.tb.tops.chip_top`): each pass's targets and the verify reads and pulses
    that the golden program-and-verify makes on a memdiode array with the stuck cells
    `faults`, seeded with `seed` (the array the tile then computes with)."""

    def __init__(self, dut, cfg, t, levels, faults, seed):
        self.dut, self.cfg, self.levels = dut, cfg, levels
        self.prefix, self.cell_error = f"tile{t}__", f"bulk__cell{t}_error"
        self.device = MemdiodeArray(cfg.device, (cfg.tile.rows, cfg.cols_phys),
                                    np.random.default_rng(seed), faults)
        self.layout = Layout.of(cfg)
        rings = CHIP_RINGS
        self.targets = RingFeeder(dut, f"target{t}", rings.target_half, "sent")
        self.cells = RingFeeder(dut, f"cell{t}", rings.cell_half, "used")
        result_bytes = Layout.offsets(result_fields_of(cfg))[1] // 8
        self.results = RingDrainer(dut, f"result{t}", rings.result_half, result_bytes)
        self._target_bytes = Layout.offsets(target_fields_of(cfg))
        self.pulses, self.converged, self.errors = [], [], []
        self.remap = np.zeros(cfg.cols_data, np.int64)

    def _port(self, name):
        return getattr(self.dut, self.prefix + name, None)

    async def run(self):
        """Program and repair, leaving the remap table the tile holds in :attr:`remap`
        and what went wrong in :attr:`errors`."""
        steps, answer = repair_steps(self.cfg, self.levels), None
        bits = self.cfg.tile.spare_cols.bit_length()
        while True:
            try:
                operation, *operands = steps.send(answer)
            except StopIteration as stop:
                self.remap = stop.value.remap
                return
            if operation == "program":
                answer = await self._program(*operands)
                if self.errors:
                    return
            elif operation == "set_remap":
                (remap,) = operands
                if self._port("remap") is not None:
                    self._port("remap").value = sum(int(v) << (c * bits)
                                                    for c, v in enumerate(remap))
                answer = None
            else:
                # Read back from the port the tile takes its table from.
                port = self._port("remap")
                value = int(port.value) if port is not None else 0
                answer = [(value >> (c * bits)) & ((1 << bits) - 1)
                          for c in range(self.cfg.cols_data)]

    async def _program(self, levels, rect):
        """One write-verify pass over `rect`; return each cell's convergence."""
        cfg, settings = self.cfg, self.cfg.write_verify
        targets = levels[rect.row_first:rect.row_last + 1, rect.col_first:rect.col_last + 1]
        golden = program_golden(self.device, targets, rect, settings,
                                bits_per_cell=cfg.tile.bits_per_cell, adc_bits=cfg.tile.adc_bits)
        self.targets.add(self._target_entries(targets.reshape(-1)))
        self.cells.add(cell_entries(self.layout, cfg.cols_phys, golden.requests,
                                    settings.pulse_width))
        expected = self.results.drained + targets.size
        self._port("prog_settings").value = pack_settings(cfg, settings, rect)
        feeds = [cocotb.start_soon(ring.feed()) for ring in (self.targets, self.cells)]
        watch = cocotb.start_soon(self.results.watch())
        self._port("prog_start").value = 1
        await RisingEdge(self.dut.clk)
        self._port("prog_start").value = 0
        await ReadOnly()
        if not self._port("prog_done").value:
            try:
                await with_timeout(RisingEdge(self._port("prog_done")),
                                   pass_budget(cfg, settings, targets.size) * CLOCK_PERIOD_NS,
                                   "ns")
            except SimTimeoutError:
                self.errors.append("programming did not finish within its cycle budget")
            await ReadOnly()
        if self._port("prog_error").value:
            self.errors.append("the tile refused the write-verify settings")
        if getattr(self.dut, self.cell_error).value:
            self.errors.append(self._cell_error())
        await RisingEdge(self.dut.clk)
        watch.cancel()
        for feed in feeds:
            feed.cancel()
        if self.errors:
            return None
        rows = await self.results.drain(expected)
        payload = np.zeros(len(rows), np.int64)
        width = RESULT_LAYOUT.size
        for k in range(-(-width // 8)):
            payload |= rows[:, k].astype(np.int64) << (8 * k)
        payload &= (1 << width) - 1
        pulses, converged = _field(payload, "pulses"), _field(payload, "converged").astype(bool)
        self.pulses.append(pulses)
        self.converged.append(converged)
        return converged

    def _target_entries(self, levels):
        offsets, width = self._target_bytes
        entries = np.zeros((len(levels), width // 8), np.uint8)
        entries[:, offsets["tdata"][0] // 8] = levels
        return entries

    def _cell_error(self):
        name = self.cell_error
        kind = int(getattr(self.dut, f"{name}_kind").value)
        index = int(getattr(self.dut, f"{name}_index").value)
        cycle = int(getattr(self.dut, f"{name}_cycle").value)
        what = ("a request beyond those expected" if kind == 2 else
                "a request unlike the golden program-and-verify's")
        return f"cell queue: {what} (request {index}, cycle {cycle})"


async def _program_tiles(dut, chip, a):
    """Program every tile holding a block, all at once; return the programmers."""
    programmers = [TileProgrammer(dut, chip.tile, t, levels, faults, int(seed))
                   for t, (levels, faults, seed) in enumerate(zip(a["levels"], a["faults"],
                                                                  a["seeds"]))]
    tasks = [cocotb.start_soon(p.run()) for p in programmers]
    for task in tasks:
        await task
    return programmers


def _compute_macro(chip, W, seed, programmer):
    """Tile's analog macro for computing: what `programmer` left (None: the levels)."""
    cfg, rng = chip.tile, np.random.default_rng(seed)
    if programmer is None or not cfg.analog.physical:
        return AnalogMacro.for_array(cfg, W, rng)
    return AnalogMacro.for_array(read_config(cfg), W, rng, programmer.device.conductances())


@cocotb.test()
async def chip_run(dut):
    """Run the program on every image; every run ends with HALT within its budget."""
    chip, a = _load()
    images, budget = a["images"], int(a["budget"])
    dut.rst.value = 1
    for name in ("program_write", "param_write", "act_write", "act_read", "start"):
        getattr(dut, name).value = 0
    _idle_tiles(dut, chip)
    await RisingEdge(dut.clk)
    await RisingEdge(dut.clk)
    dut.rst.value = 0
    programmers, program_cycles, start = [None] * len(a["weights"]), 0, time.perf_counter()
    if a["levels"].size:
        programmers = await _program_tiles(dut, chip, a)
        program_cycles = cycle_now()
    program_s = time.perf_counter() - start
    bindings = []
    for t, (W, seed, programmer) in enumerate(zip(a["weights"], a["seeds"], programmers)):
        macro = _compute_macro(chip, W, int(seed), programmer)
        bindings.append(AnalogBinding(dut, chip.tile, macro, prefix=f"tile{t}__analog"))
        cocotb.start_soon(bindings[-1].run())

    host = ChipHost(dut, chip)
    await host.load(a["words"], a["mult"], a["bias"])
    (in_at, in_length, out_at, out_length) = (int(v) for v in a["io"])
    outputs = np.zeros((len(images), out_length), np.int64)
    cycles = np.zeros(len(images), np.int64)
    problems = [f"tile {t}: {error}" for t, p in enumerate(programmers) if p is not None
                for error in p.errors]
    done = 0
    for n, image in enumerate(images if not problems else []):
        await host.write_activations(in_at, image)
        ran = await host.run(budget)
        if ran is None:
            problems.append(f"image {n}: done did not rise within {budget} cycles")
            break
        cycles[n], error = ran
        if error is not SequencerError.NONE:
            problems.append(f"image {n}: the run ended with error {error.name}")
            break
        outputs[n] = await host.read_activations(out_at, out_length)
        done += 1
    programmed = {}
    for t, p in enumerate(p for p in programmers if p is not None):
        programmed |= {f"pulses{t}": np.concatenate(p.pulses or [np.zeros(0, np.int64)]),
                       f"converged{t}": np.concatenate(p.converged or [np.zeros(0, bool)]),
                       f"remap{t}": np.asarray(p.remap, np.int64)}
    np.savez(os.environ[ENV_OUT], outputs=outputs[:done], cycles=cycles[:done],
             requests=np.array([len(b.stamps) for b in bindings], np.int64),
             program_cycles=program_cycles, program_s=program_s,
             inference_s=time.perf_counter() - start - program_s, cycles_total=cycle_now(),
             **programmed)
    problems += [v for b in bindings for v in b.violations]
    assert not problems, "; ".join(problems)
