"""cocotb test of the all-RTL host top: levels into the crossbar emulator, then a batch
streamed through the bulk top's player and recorder, with no Python in the loop.

The run after the level load is the bulk co-simulation's (:mod:`.host_tb`), operation for
operation: reset, the SETTINGS write, the pause patterns, the stream. The levels go in
first, followed by a second reset, which the emulator's non-volatile cells survive; so the
cycles counted from that reset are the co-simulation's.

The stimulus comes from the ``.npz`` file named by ``$CIMTILE_TB_IN`` (written by
:func:`cimtile.tb.runs.emulator_runner.simulate_emulator`); the results go to
``$CIMTILE_TB_OUT``, written before any check can fail.
"""

import gc
import json
import os
import time

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles, RisingEdge, SimTimeoutError, with_timeout
from cocotbext.axi import AxiLiteBus, AxiLiteMaster

from cimtile.hdl.crossbar_emulator import load_layout
from cimtile.spec.config import parse_config
from cimtile.spec.mapping import weight_levels

from .bulk_driver import BulkStream
from ..tops.bulk_top import LEVELS_FILE, level_entries
from .clocking import CLOCK_PERIOD_NS
from ..transport.exchange import ENV_IN, ENV_OUT
from .host_ports import BUS_BUDGET
from .host_tb import RESET_CYCLES, watch_protocol
from ..transport.packing import pack_fields

#: Cycles from the level player's last payload to its write into the emulator's memory.
LOAD_LATENCY = 2


def level_payloads(cfg, levels):
    """``l_stream`` payloads writing `levels` (rows, cols_phys): row by row, conversion by
    conversion."""
    cpa, n_adcs, layout = cfg.tile.cols_per_adc, cfg.n_adcs, load_layout(cfg)
    padded = np.zeros((cfg.tile.rows, n_adcs * cpa), np.int64)
    padded[:, :cfg.cols_phys] = levels
    # Column a * cpa + k is entry a of conversion k's word.
    by_conversion = padded.reshape(cfg.tile.rows, n_adcs, cpa).transpose(0, 2, 1)
    words = pack_fields(np.ascontiguousarray(by_conversion), cfg.tile.bits_per_cell).reshape(-1)
    rows, conversions = np.divmod(np.arange(len(words)), cpa)
    return [int(row) << layout["row"].offset
            | int(k) << layout["conversion"].offset
            | int(word) << layout["levels"].offset
            for row, k, word in zip(rows, conversions, words)]


async def reset(dut):
    """Reset as the co-simulation's player does; returns at the first edge after it."""
    dut.rst.value = 1
    await ClockCycles(dut.clk, RESET_CYCLES)
    dut.rst.value = 0
    await RisingEdge(dut.clk)


async def load_levels(dut, cfg, levels):
    """Play the payloads of `levels` into the emulator from the level player's file."""
    count, bits = level_entries(cfg)
    payloads = level_payloads(cfg, levels)
    assert len(payloads) == count
    entry = -(-bits // 8)
    with open(LEVELS_FILE, "wb") as file:
        file.write(b"".join(payload.to_bytes(entry, "big") for payload in payloads))
    dut.bulk__levels_load.value = 1 - int(dut.bulk__levels_load.value)
    await RisingEdge(dut.bulk__levels_done)
    await ClockCycles(dut.clk, LOAD_LATENCY)


@cocotb.test()
async def emulated_host_mvm(dut):
    """Levels into the emulator, the run-time settings, then the batch in bulk."""
    with np.load(os.environ[ENV_IN]) as data:
        cfg = parse_config(json.loads(str(data["config"])))
        arrays = {name: data[name] for name in data.files if name != "config"}
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    master = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil_"), dut.clk, dut.rst)
    for vip in (master.write_if, master.read_if):
        vip.log.setLevel("WARNING")
    bulk = BulkStream(dut, cfg, analog="emulator")
    dut.bulk__levels_load.value = 0

    await reset(dut)
    await load_levels(dut, cfg, weight_levels(arrays["W"], cfg))
    await reset(dut)
    problems = []
    cocotb.start_soon(watch_protocol(dut, problems))
    offset = int(arrays["settings_offset"])
    try:
        written = await with_timeout(master.write(offset,
                                                  int(arrays["settings"]).to_bytes(4, "little")),
                                     BUS_BUDGET * CLOCK_PERIOD_NS, "ns")
    except SimTimeoutError:
        raise AssertionError(f"register write to {offset:#x} got no response within "
                             f"{BUS_BUDGET} cycles") from None
    if "pause_in" in arrays:
        bulk.set_pauses(arrays["pause_in"], arrays["pause_out"])
    start = time.perf_counter()
    wakeups = bulk.wakeups
    result = await bulk.run(arrays["X"], int(arrays["frame_vectors"]), cfg.tile.in_bits,
                            cfg.tile.adc_shift, None, int(arrays["budget"]))
    stream_s = time.perf_counter() - start

    np.savez(os.environ[ENV_OUT], Y=result["Y"], frame_cycles=result["frame_cycles"],
             frame_vectors=np.array(result["frame_vectors"], np.int64),
             first_request=result["first_sample_cycle"], timeout=result["timeout"],
             settings_resp=int(written.resp), stream_s=stream_s,
             wakeups=bulk.wakeups - wakeups, violations=np.array(json.dumps(problems)))
    assert not problems, "; ".join(problems[:5])
