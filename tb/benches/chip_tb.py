"""cocotb test of the whole chip: program every tile by write-verify, load a program, run it
on every image, a batch of images a run, read the outputs.

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
from cocotb.triggers import ClockCycles

from cimtile.behavioral import AnalogMacro
from cimtile.hdl.chip_sequencer import SequencerError
from cimtile.models.program import read_config
from cimtile.spec.chip_config import parse_chip_config
from cimtile.spec.config import parse_config

from .analog import AnalogBinding
from .chip_host import ChipHost
from .chip_programmer import program_tiles
from .clocking import cycle_now
from ..transport.exchange import ENV_IN, ENV_OUT

RESET_CYCLES = 2


def _load():
    with np.load(os.environ[ENV_IN]) as data:
        config = json.loads(str(data["config"]))
        chip = parse_chip_config({"chip": config["chip"]}, parse_config(config["tile"]))
        arrays = {name: data[name] for name in data.files if name != "config"}
    return chip, arrays


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


def _compute_macro(chip, W, seed, programmer):
    """Tile's analog macro for computing: what `programmer` left (None: the levels)."""
    cfg, rng = chip.tile, np.random.default_rng(seed)
    if programmer is None or not cfg.analog.physical:
        return AnalogMacro.for_array(cfg, W, rng)
    conductances = programmer.array.device.conductances()
    return AnalogMacro.for_array(read_config(cfg), W, rng, conductances)


@cocotb.test()
async def chip_run(dut):
    """Run the program on every image; every run ends with HALT within its budget."""
    chip, a = _load()
    images, budget = a["images"], int(a["budget"])
    dut.rst.value = 1
    for name in ("program_write", "param_write", "act_write", "act_read", "start"):
        getattr(dut, name).value = 0
    _idle_tiles(dut, chip)
    await ClockCycles(dut.clk, RESET_CYCLES)
    dut.rst.value = 0
    programmers, program_cycles, start = [None] * len(a["weights"]), 0, time.perf_counter()
    if a["levels"].size:
        programmers = await program_tiles(dut, chip, a["levels"], a["faults"], a["seeds"])
        program_cycles = cycle_now()
    program_s = time.perf_counter() - start
    bindings = []
    for t, (W, seed, programmer) in enumerate(zip(a["weights"], a["seeds"], programmers)):
        macro = _compute_macro(chip, W, int(seed), programmer)
        bindings.append(AnalogBinding(dut, chip.tile, macro, prefix=f"tile{t}__analog"))
        cocotb.start_soon(bindings[-1].run())

    host = ChipHost(dut, chip)
    await host.load_parameters(a["mult"], a["bias"])
    out_length = int(a["out_length"])
    outputs = np.zeros((len(images), out_length), np.int64)
    cycles = np.zeros(len(a["runs"]), np.int64)
    problems = [f"tile {t}: {error}" for t, p in enumerate(programmers) if p is not None
                for error in p.errors]
    done, finished, loaded = 0, 0, None
    for n, size in enumerate(a["runs"] if not problems else []):
        if size != loaded:
            await host.load_program(a[f"words{size}"])
            loaded = size
        for image, address in zip(images[done:done + size], a[f"inputs{size}"]):
            await host.write_activations(int(address), image)
        ran = await host.run(budget)
        if ran is None:
            problems.append(f"run {n}: done did not rise within {budget} cycles")
            break
        cycles[n], error = ran
        if error is not SequencerError.NONE:
            problems.append(f"run {n}: the run ended with error {error.name}")
            break
        for k, address in enumerate(a[f"outputs{size}"]):
            outputs[done + k] = await host.read_activations(int(address), out_length)
        done, finished = done + size, finished + 1
    programmed = {}
    for t, p in enumerate(p for p in programmers if p is not None):
        programmed |= {f"pulses{t}": np.concatenate(p.pulses or [np.zeros(0, np.int64)]),
                       f"converged{t}": np.concatenate(p.converged or [np.zeros(0, bool)]),
                       f"remap{t}": np.asarray(p.remap, np.int64)}
    np.savez(os.environ[ENV_OUT], outputs=outputs[:done], cycles=cycles[:finished],
             requests=np.array([len(b.stamps) for b in bindings], np.int64),
             program_cycles=program_cycles, program_s=program_s,
             inference_s=time.perf_counter() - start - program_s, cycles_total=cycle_now(),
             **programmed)
    problems += [v for b in bindings for v in b.violations]
    assert not problems, "; ".join(problems)
