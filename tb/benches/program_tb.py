"""cocotb test of programming: the tile's write-verify engine against a memdiode array.

The stimulus comes from the ``.npz`` file named by ``$CIMTILE_TB_IN`` (written by
:func:`cimtile.tb.runs.runner.program`); per-cell results and the programmed array go to
``$CIMTILE_TB_OUT``. The caller compares them with the golden program-and-verify.
"""

import json
import os

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles

from cimtile.behavioral.device import MemdiodeArray
from cimtile.models.program import Rectangle
from cimtile.spec.config import WriteVerifyConfig, parse_config

from .cell_access import CellAccessBinding
from .clocking import cycle_now
from ..transport.exchange import ENV_IN, ENV_OUT
from .write_verify_pass import program_pass


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

    pulses, converged, errors = [], [], []
    targets = levels[rect.row_first:rect.row_last + 1, rect.col_first:rect.col_last + 1]
    for _ in range(runs):
        run_pulses, run_converged, run_errors = await program_pass(dut, "", cfg, settings,
                                                                   rect, targets)
        pulses.append(run_pulses)
        converged.append(run_converged)
        errors += run_errors
        if run_errors:
            break
    cycles = cycle_now() - start
    pulses, converged = np.concatenate(pulses), np.concatenate(converged)
    np.savez(os.environ[ENV_OUT], pulses=pulses, converged=converged, cycles_total=cycles,
             state=device.state.reshape(device.shape), conductance=device.conductances(),
             reads=binding.reads, pulses_applied=binding.pulses)
    assert not errors, "; ".join(errors)
