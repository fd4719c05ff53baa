"""cocotb test of the all-RTL tile: levels into the crossbar emulator, then every vector.

The stimulus comes from the ``.npz`` file named by ``$CIMTILE_TB_IN`` (written by
:func:`cimtile.tb.emulator_runner.simulate_emulator`); the results go to
``$CIMTILE_TB_OUT``, written before any check can fail.
"""

import gc
import json
import os

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge, SimTimeoutError, with_timeout

from cimtile.config import parse_config
from cimtile.golden import golden_mvm
from cimtile.hdl.crossbar_emulator import load_layout
from cimtile.hdl.write_verify import RESULT_LAYOUT
from cimtile.mapping import weight_levels
from cimtile.program import Rectangle

from .clocking import CLOCK_PERIOD_NS, cycle_now, wait_cycles
from .packing import pack_fields
from .program_tb import pack_settings
from .exchange import ENV_IN, ENV_OUT
from .runner import Scenario
from .scoreboard import Scoreboard
from .streams import StreamDriver, StreamMonitor

RESET_CYCLES = 2


def load_payloads(cfg, levels):
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


async def load_levels(dut, payloads):
    """Write one payload a cycle through ``l_stream``."""
    dut.l_stream__valid.value = 1
    for payload in payloads:
        dut.l_stream__payload.value = payload
        await RisingEdge(dut.clk)
    dut.l_stream__valid.value = 0


def _field(payloads, name):
    f = RESULT_LAYOUT[name]
    return np.array([(p >> f.offset) & ((1 << f.width) - 1) for p in payloads], np.int64)


async def program_levels(dut, cfg, levels):
    """Program `levels` into the whole array with the tile's write-verify engine.

    Returns
    -------
    (pulses, converged, cycles) or None if programming did not end within its budget.
    """
    settings = cfg.write_verify
    results = []
    dut.prog_settings.value = pack_settings(cfg, settings,
                                            Rectangle.whole(*levels.shape))
    driver = StreamDriver(dut, "t_stream", dut.clk)
    monitor = StreamMonitor(dut, "r_stream", dut.clk, lambda payload, _: results.append(payload))
    start = cycle_now()
    dut.prog_start.value = 1
    await RisingEdge(dut.clk)
    dut.prog_start.value = 0
    feed = cocotb.start_soon(driver.run([int(level) for level in levels.reshape(-1)]))
    watch = cocotb.start_soon(monitor.run())
    t = cfg.timing
    per_pulse = t.t_settle + t.t_adc + 2 + settings.pulse_width
    budget = levels.size * (settings.max_pulses + 1) * per_pulse + 100
    try:
        await with_timeout(RisingEdge(dut.prog_done), budget * CLOCK_PERIOD_NS, "ns")
    except SimTimeoutError:
        return None
    await RisingEdge(dut.clk)
    feed.cancel()
    watch.cancel()
    monitor.stop()
    return _field(results, "pulses"), _field(results, "converged") == 1, cycle_now() - start


@cocotb.test()
async def emulated_tile_mvm(dut):
    """Levels into the emulator, then every input vector; results equal the golden model."""
    with np.load(os.environ[ENV_IN]) as data:
        cfg = parse_config(json.loads(str(data["config"])))
        scenario = Scenario(**json.loads(str(data["scenario"])))
        W, X, program = data["W"], data["X"], bool(data["program"])
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    problems = []

    dut.rst.value = 1
    dut.in_bits.value = cfg.tile.in_bits
    dut.adc_shift.value = cfg.tile.adc_shift
    dut.prog_start.value = 0
    dut.l_stream__valid.value = 0
    dut.t_stream__valid.value = 0
    dut.r_stream__ready.value = 0
    dut.i_stream__valid.value = 0
    dut.o_stream__ready.value = 0
    await ClockCycles(dut.clk, RESET_CYCLES)
    dut.rst.value = 0

    levels = weight_levels(W, cfg)
    pulses, converged, program_cycles = np.zeros(0, np.int64), np.zeros(0, bool), 0
    if program:
        programmed = await program_levels(dut, cfg, levels)
        if programmed is None:
            problems.append("programming did not finish within its cycle budget")
        else:
            pulses, converged, program_cycles = programmed
    else:
        await load_levels(dut, load_payloads(cfg, levels))

    rng = np.random.default_rng([scenario.seed, 1])
    board = Scoreboard(cfg, golden_mvm(cfg, W, X, scenario.seed), "batch")
    driver = StreamDriver(dut, "i_stream", dut.clk, rng=rng, gap_prob=scenario.in_gap_prob,
                          gap_max=scenario.in_gap_max)
    monitor = StreamMonitor(dut, "o_stream", dut.clk, board.on_transfer, rng=rng,
                            stall_prob=scenario.out_stall_prob,
                            stall_max=scenario.out_stall_max)
    start = cycle_now()
    tasks = [cocotb.start_soon(driver.run(pack_fields(X, cfg.tile.in_bits) if len(X) else [])),
             cocotb.start_soon(monitor.run())]
    per_mvm = cfg.analog_cycles_per_mvm + scenario.in_gap_max + scenario.out_stall_max + 4
    try:
        await with_timeout(board.done.wait(), (2 * (len(X) + 2) * per_mvm + 100)
                           * CLOCK_PERIOD_NS, "ns")
    except SimTimeoutError:
        problems.append(f"only {len(board.received)} of {len(X)} results arrived in time")
    await ReadOnly()
    end = max(board.stamps[:len(X)], default=start) - start
    # Nothing more may come out: the monitor keeps accepting, the scoreboard counts extras.
    await RisingEdge(dut.clk)
    await wait_cycles(dut.clk, cfg.analog_cycles_per_mvm + 20)
    for task in tasks:
        task.cancel()

    np.savez(os.environ[ENV_OUT], Y=board.results()[:len(X)],
             in_cycles=np.array(driver.stamps, np.int64) - start,
             out_cycles=np.array(board.stamps[:len(X)], np.int64) - start,
             cycles_total=end, golden_mismatches=board.mismatches, pulses=pulses,
             converged=converged, program_cycles=program_cycles)
    problems += board.summary()
    if not scenario.strict:
        problems = [p for p in problems if "golden" not in p]
    assert not problems, "; ".join(problems)
