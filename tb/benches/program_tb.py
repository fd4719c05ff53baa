"""cocotb test of programming: the tile's write-verify engine against a memdiode array.

The stimulus comes from the ``.npz`` file named by ``$CIMTILE_TB_IN`` (written by
:func:`cimtile.tb.runs.runner.program`); per-cell results and the programmed array go to
``$CIMTILE_TB_OUT``. The caller compares them with the golden program-and-verify.
"""

import dataclasses
import json
import os

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge, SimTimeoutError, with_timeout

from cimtile.behavioral.device import MemdiodeArray
from cimtile.hdl.write_verify import RESULT_LAYOUT, settings_layout
from cimtile.models.program import Rectangle
from cimtile.spec.config import WriteVerifyConfig, parse_config

from .cell_access import CellAccessBinding
from .clocking import CLOCK_PERIOD_NS, cycle_now
from ..transport.exchange import ENV_IN, ENV_OUT
from .streams import StreamDriver, StreamMonitor


def pack_settings(cfg, settings, rect):
    """The ``prog_settings`` port value for write-verify `settings` over `rect`."""
    layout = settings_layout(rows=cfg.tile.rows, cols_phys=cfg.cols_phys,
                             adc_bits=cfg.tile.adc_bits)
    values = dataclasses.asdict(settings) | dataclasses.asdict(rect)
    return sum(int(values[name]) << field.offset for name, field in layout)


def _field(payload, name):
    field = RESULT_LAYOUT[name]
    return (payload >> field.offset) & ((1 << field.width) - 1)


def _budget(cfg, settings, cells):
    """Cycles that programming `cells` cells cannot exceed unless the engine hangs."""
    t = cfg.timing
    per_pulse = t.t_settle + t.t_adc + 2 + settings.pulse_width
    return cells * (settings.max_pulses + 1) * per_pulse + 100


@cocotb.test()
async def tile_program(dut):
    """Program the rectangle ``runs`` times; every cell reports pulses and convergence."""
    with np.load(os.environ[ENV_IN]) as data:
        cfg = parse_config(json.loads(str(data["config"])))
        settings = WriteVerifyConfig(**json.loads(str(data["settings"])))
        rect = Rectangle(*(int(v) for v in data["rect"]))
        levels, faults = data["levels"], data["faults"]
        seed, runs = int(data["seed"]), int(data["runs"])
    device = MemdiodeArray(cfg.device, (cfg.tile.rows, cfg.cols_phys),
                           np.random.default_rng(seed), faults)

    dut.rst.value = 1
    dut.in_bits.value = cfg.tile.in_bits
    dut.adc_shift.value = cfg.tile.adc_shift
    dut.prog_start.value = 0
    dut.prog_read_only.value = 0
    dut.t_stream__valid.value = 0
    dut.r_stream__ready.value = 0
    await ClockCycles(dut.clk, 2)
    dut.rst.value = 0
    start = cycle_now()
    binding = CellAccessBinding(dut, cfg, device)
    cocotb.start_soon(binding.run())

    results = []
    errors = []
    targets = levels[rect.row_first:rect.row_last + 1, rect.col_first:rect.col_last + 1]
    dut.prog_settings.value = pack_settings(cfg, settings, rect)
    for _ in range(runs):
        driver = StreamDriver(dut, "t_stream", dut.clk)
        monitor = StreamMonitor(dut, "r_stream", dut.clk,
                                lambda payload, cycle: results.append(payload))
        dut.prog_start.value = 1
        await RisingEdge(dut.clk)
        dut.prog_start.value = 0
        feed = cocotb.start_soon(driver.run([int(level) for level in targets.reshape(-1)]))
        watch = cocotb.start_soon(monitor.run())
        # A refused start is done at the edge that takes it, which the model has already
        # evaluated when RisingEdge returns (the clock runs inside it).
        await ReadOnly()
        if not dut.prog_done.value:
            try:
                await with_timeout(RisingEdge(dut.prog_done),
                                   _budget(cfg, settings, targets.size) * CLOCK_PERIOD_NS, "ns")
            except SimTimeoutError:
                errors.append("programming did not finish within its cycle budget")
                break
            await ReadOnly()
        if dut.prog_error.value:
            errors.append("the tile refused the write-verify settings")
        await RisingEdge(dut.clk)
        feed.cancel()
        watch.cancel()
        monitor.stop()
    cycles = cycle_now() - start

    pulses = np.array([_field(payload, "pulses") for payload in results], np.int64)
    converged = np.array([_field(payload, "converged") for payload in results], bool)
    np.savez(os.environ[ENV_OUT], pulses=pulses, converged=converged, cycles_total=cycles,
             state=device.state.reshape(device.shape), conductance=device.conductances(),
             reads=binding.reads, pulses_applied=binding.pulses)
    assert not errors, "; ".join(errors)
