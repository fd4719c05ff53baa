"""Running a block in the Amaranth simulator, as the block-level tests do."""

from amaranth.sim import Simulator

__all__ = ["run"]


def run(dut, *testbenches, background=()):
    """Simulate `dut` with a 100 MHz clock until every testbench in `testbenches` returns;
    those in `background` run beside them and stop with them."""
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    for bench in background:
        sim.add_testbench(bench, background=True)
    for bench in testbenches:
        sim.add_testbench(bench)
    sim.run()
