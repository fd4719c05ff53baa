"""cocotb test of the whole tile: stream every input vector, check every result.

The stimulus comes from the ``.npz`` file named by ``$CIMTILE_TB_IN`` (written by
:func:`cimtile.tb.runs.runner.simulate`); the results go to ``$CIMTILE_TB_OUT``, written before
any check can fail so the caller always gets them.
"""

import dataclasses
import gc
import json
import os

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles, ReadOnly, SimTimeoutError, with_timeout

from cimtile.behavioral import AnalogMacro
from cimtile.models.golden import golden_mvm
from cimtile.models.verdict import combine
from cimtile.spec.config import parse_config

from .analog import AnalogBinding
from .clocking import CLOCK_PERIOD_NS, cycle_now, wait_cycles
from ..transport.exchange import ENV_IN, ENV_OUT
from ..transport.packing import pack_fields
from ..transport.stimulus import Scenario
from .scoreboard import Scoreboard
from .streams import StreamDriver, StreamMonitor

RESET_CYCLES = 2


def _load_stimulus():
    with np.load(os.environ[ENV_IN]) as data:
        cfg = parse_config(json.loads(str(data["config"])))
        scenario = Scenario(**json.loads(str(data["scenario"])))
        G = data["G"] if data["G"].size else None
        return cfg, scenario, data["W"], G, data["X"], data["X_after_reset"]


class TileBench:
    """The tile with its analog macro bound and stream VIP attached, for one scenario."""

    def __init__(self, dut, cfg, scenario, W, G):
        self.dut = dut
        self.cfg = cfg
        self.scenario = scenario
        self.W = W
        self.G = G
        # Stimulus timing draws from its own stream, never from the analog model's.
        self.rng = np.random.default_rng([scenario.seed, 1])
        self.analog = AnalogBinding(dut, cfg, self.fresh_macro())
        self.driver = None
        self.start = 0

    def fresh_macro(self):
        """A macro in the state the golden model starts from, for the scenario's seed."""
        rng = np.random.default_rng(self.scenario.seed)
        return AnalogMacro.for_array(self.cfg, self.W, rng, self.G)

    async def reset(self):
        """Hold reset with both streams idle; return at the first cycle out of reset."""
        self.dut.rst.value = 1
        self.dut.i_stream__valid.value = 0
        self.dut.o_stream__ready.value = 0
        await ClockCycles(self.dut.clk, RESET_CYCLES)
        self.dut.rst.value = 0
        self.start = cycle_now()

    def stream(self, X, board):
        """Start streaming `X` with results going to `board`; return both tasks."""
        s = self.scenario
        self.driver = StreamDriver(self.dut, "i_stream", self.dut.clk, rng=self.rng,
                                   gap_prob=s.in_gap_prob, gap_max=s.in_gap_max)
        monitor = StreamMonitor(self.dut, "o_stream", self.dut.clk, board.on_transfer,
                                rng=self.rng, stall_prob=s.out_stall_prob,
                                stall_max=s.out_stall_max)
        payloads = pack_fields(X, self.cfg.tile.in_bits) if len(X) else []
        return cocotb.start_soon(self.driver.run(payloads)), cocotb.start_soon(monitor.run())

    async def within_budget(self, trigger, vectors):
        """Await `trigger` for a generous bound on `vectors` MVMs; False on timeout."""
        s = self.scenario
        per_mvm = self.cfg.analog_cycles_per_mvm + s.in_gap_max + s.out_stall_max + 4
        budget = 2 * (vectors + 2) * per_mvm + 100
        try:
            await with_timeout(trigger, budget * CLOCK_PERIOD_NS, "ns")
        except SimTimeoutError:
            return False
        return True

    async def quiet_window(self):
        """Accept outputs, sending no input, for two MVMs' time.

        Returns
        -------
        (int, int)
            Output transfers and analog requests seen meanwhile.
        """
        arrived = []
        requests = len(self.analog.stamps)
        monitor = StreamMonitor(self.dut, "o_stream", self.dut.clk,
                                lambda *transfer: arrived.append(transfer))
        watch = cocotb.start_soon(monitor.run())
        await wait_cycles(self.dut.clk, 2 * self.cfg.analog_cycles_per_mvm + 20)
        watch.cancel()
        monitor.stop()
        return len(arrived), len(self.analog.stamps) - requests


def _cycles(stamps, start):
    return np.array(stamps, np.int64).reshape(-1) - start


async def _reset_midway(dut, bench, tasks, vectors, problems):
    """Reset once the scenario's request count is reached, while `vectors` stream; check
    the tile comes back idle.

    Returns the number of stale results that appeared after the reset.
    """
    s = bench.scenario
    if not await bench.within_budget(bench.analog.after(s.reset_after_requests).wait(),
                                     vectors):
        problems.append(f"reset was due after {s.reset_after_requests} analog requests, "
                        f"only {len(bench.analog.stamps)} came")
    await ClockCycles(dut.clk, 1)
    for task in tasks:
        task.cancel()
    await bench.reset()
    await ReadOnly()
    if dut.o_stream__valid.value:
        problems.append("o_stream__valid is high right after reset")
    await ClockCycles(dut.clk, 1)
    bench.analog.macro = bench.fresh_macro()
    stale, requests = await bench.quiet_window()
    if stale:
        problems.append(f"{stale} stale results appeared after reset")
    if requests:
        problems.append(f"{requests} analog requests came after reset without any input")
    return stale


@cocotb.test()
async def tile_mvm(dut):
    """Every input vector through the tile; results equal the golden model."""
    cfg, scenario, W, G, X, X_after = _load_stimulus()
    # The run allocates many short-lived objects and few cycles; keep the collector off the
    # long-lived setup and let it run rarely.
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    resets = scenario.reset_after_requests >= 0
    dut.analog__codes.value = 0
    dut.in_bits.value = cfg.tile.in_bits
    dut.adc_shift.value = cfg.tile.adc_shift
    bench = TileBench(dut, cfg, scenario, W, G)
    await bench.reset()
    start = bench.start
    cocotb.start_soon(bench.analog.run())
    problems = []

    board = Scoreboard(cfg, golden_mvm(cfg, W, X, scenario.seed, G), "batch")
    tasks = bench.stream(X, board)
    if resets:
        stale = await _reset_midway(dut, bench, tasks, len(X), problems)
        in_cycles = bench.driver.stamps
        expected = (golden_mvm(cfg, W, X_after, scenario.seed, G) if len(X_after)
                    else np.zeros((0, cfg.tile.cols), np.int64))
        after = Scoreboard(cfg, expected, "post-reset")
        tasks = bench.stream(X_after, after)
        await bench.within_budget(after.done.wait(), len(X_after))
        end = max(after.stamps[:len(X_after)], default=bench.start) - bench.start
    else:
        stale = 0
        after = Scoreboard(cfg, np.zeros((0, cfg.tile.cols), np.int64), "post-reset")
        await bench.within_budget(board.done.wait(), len(X))
        in_cycles = bench.driver.stamps
        end = max(board.stamps[:len(X)], default=start) - start
    # Nothing more may come out once every input is answered: the monitor keeps accepting,
    # and the scoreboards count any late arrival as unexpected.
    await wait_cycles(dut.clk, cfg.analog_cycles_per_mvm + 20)
    for task in tasks:
        task.cancel()

    verdict = combine([board.verdict(), after.verdict()], noun="results")
    np.savez(os.environ[ENV_OUT], Y=board.results()[:len(X)],
             in_cycles=_cycles(in_cycles, start),
             out_cycles=_cycles(board.stamps[:len(X)], start),
             request_cycles=_cycles(bench.analog.stamps, start),
             Y_after_reset=after.results()[:len(X_after)],
             out_cycles_after_reset=_cycles(after.stamps[:len(X_after)], bench.start),
             stale_outputs=stale, cycles_total=end,
             verdict=json.dumps(dataclasses.asdict(verdict)))

    problems += bench.analog.violations[:5]
    # Before a mid-run reset only part of the batch is due.
    problems += [p for p in board.summary() if not (resets and "arrived" in p)]
    problems += after.summary()
    if scenario.strict and not verdict.ok:
        problems.append(verdict.describe())
    assert not problems, "; ".join(problems)
