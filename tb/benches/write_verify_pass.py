"""One write-verify run of a tile's engine over a rectangle, from the testbench's side: the
settings and ``prog_start``, the targets streamed in, the per-cell results collected."""

import dataclasses

import cocotb
import numpy as np
from cocotb.triggers import ReadOnly, RisingEdge, SimTimeoutError, with_timeout

from cimtile.hdl.write_verify import RESULT_LAYOUT, settings_layout

from .clocking import CLOCK_PERIOD_NS
from .streams import StreamDriver, StreamMonitor

__all__ = ["pack_settings", "pass_budget", "program_pass"]


def pack_settings(cfg, settings, rect):
    """The ``prog_settings`` port value for write-verify `settings` over `rect`."""
    layout = settings_layout(rows=cfg.tile.rows, cols_phys=cfg.cols_phys,
                             adc_bits=cfg.tile.adc_bits)
    values = dataclasses.asdict(settings) | dataclasses.asdict(rect)
    return sum(int(values[name]) << field.offset for name, field in layout)


def _field(payload, name):
    field = RESULT_LAYOUT[name]
    return (payload >> field.offset) & ((1 << field.width) - 1)


def pass_budget(cfg, settings, cells):
    """Cycles that programming `cells` cells cannot exceed unless the engine hangs."""
    t = cfg.timing
    per_pulse = t.t_settle + t.t_adc + 2 + settings.pulse_width
    return cells * (settings.max_pulses + 1) * per_pulse + 100


async def program_pass(dut, prefix, cfg, settings, rect, targets):
    """Program the rectangle `rect` of the tile whose ports are named ``<prefix>prog_start``
    and so on (``""`` for a bare tile, ``"tile3__"`` for a chip's tile 3) to the levels
    `targets` (row-major over `rect`), with its cell port answered elsewhere. Call it at a
    rising edge.

    Returns
    -------
    (pulses, converged, errors)
        Each cell's pulses (int64) and convergence (bool) in the order of `targets`, and
        what went wrong (the start refused, or no end within the cycle budget).
    """
    port = lambda name: getattr(dut, prefix + name)           # noqa: E731
    results = []
    port("prog_settings").value = pack_settings(cfg, settings, rect)
    driver = StreamDriver(dut, f"{prefix}t_stream", dut.clk)
    monitor = StreamMonitor(dut, f"{prefix}r_stream", dut.clk,
                            lambda payload, cycle: results.append(payload))
    port("prog_start").value = 1
    await RisingEdge(dut.clk)
    port("prog_start").value = 0
    feed = cocotb.start_soon(driver.run([int(level) for level in np.ravel(targets)]))
    watch = cocotb.start_soon(monitor.run())
    errors = []
    # A refused start is done at the edge that takes it, which the model has already
    # evaluated when RisingEdge returns (the clock runs inside it).
    await ReadOnly()
    if not port("prog_done").value:
        try:
            await with_timeout(RisingEdge(port("prog_done")),
                               pass_budget(cfg, settings, np.size(targets)) * CLOCK_PERIOD_NS,
                               "ns")
        except SimTimeoutError:
            errors.append("programming did not finish within its cycle budget")
        await ReadOnly()
    if not errors and port("prog_error").value:
        errors.append("the tile refused the write-verify settings")
    await RisingEdge(dut.clk)
    feed.cancel()
    watch.cancel()
    monitor.stop()
    pulses = np.array([_field(payload, "pulses") for payload in results], np.int64)
    converged = np.array([_field(payload, "converged") for payload in results], bool)
    return pulses, converged, errors
