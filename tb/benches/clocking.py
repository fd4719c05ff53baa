"""Clock cycles as the testbench sees them.

The simulator's C++ main toggles ``clk`` (``cimtile/tb/build/cosim_main.cpp``), so the
testbench never drives it; cycles are counted from simulation time.

Because the model evaluates each edge as the clock changes, ``await RisingEdge(clk)``
returns with the edge already applied: registers and the outputs they drive show their new
values. Writes made then still take effect after the edge. To wait for an output that may
change at the edge just awaited, look at it in ``ReadOnly()`` before awaiting its change.
"""

import functools

from cocotb.simtime import convert, get_sim_time
from cocotb.triggers import ClockCycles, RisingEdge, Timer

from ..build.sim_top import CLOCK_PERIOD_NS

__all__ = ["CLOCK_PERIOD_NS", "cycle_now", "wait_cycles"]


@functools.cache
def _steps_per_cycle():
    return convert(CLOCK_PERIOD_NS, "ns", to="step")


def cycle_now():
    """Index of the latest rising clock edge, from simulation time (no per-edge wake-ups)."""
    # In simulator steps the division is exact integer arithmetic, and skips a conversion.
    return get_sim_time() // _steps_per_cycle()


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
