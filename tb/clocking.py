"""The testbench clock and the cycle count derived from simulation time."""

from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, RisingEdge, Timer

__all__ = ["CLOCK_PERIOD_NS", "start_clock", "cycle_now", "wait_cycles"]

CLOCK_PERIOD_NS = 10


def start_clock(clk):
    """Drive `clk`; its rising edges fall at t = n * CLOCK_PERIOD_NS, n = 0, 1, ..."""
    return Clock(clk, CLOCK_PERIOD_NS, unit="ns").start(start_high=True)


def cycle_now():
    """Index of the latest rising clock edge, from simulation time (no per-edge wake-ups)."""
    return int(get_sim_time("ns") // CLOCK_PERIOD_NS)


async def wait_cycles(clk, cycles):
    """Return at the `cycles`-th rising edge of `clk` from now, waking Python at most twice.

    Call it at a rising edge. A timer to the middle of the last cycle and one edge wait
    replace ``ClockCycles``, which wakes on every edge.
    """
    if cycles <= 2:
        await ClockCycles(clk, cycles)
        return
    await Timer(cycles * CLOCK_PERIOD_NS - CLOCK_PERIOD_NS // 2, unit="ns")
    await RisingEdge(clk)
