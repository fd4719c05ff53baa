"""One write-verify run of a tile's engine over a rectangle, from the testbench's side: the
settings and ``prog_start``, the targets streamed in, the per-cell results collected."""

import dataclasses

import cocotb
import numpy as np
from cocotb.triggers import ReadOnly, RisingEdge, SimTimeoutError, with_timeout

from cimtile.hdl.write_verify import RESULT_LAYOUT, settings_layout

from .clocking import CLOCK_PERIOD_NS
from .streams import StreamDriver, StreamMonitor

__all__ = ["pack_settings", "pass_budget", "start_pass", "await_pass_end", "pass_results",
           "program_pass"]


def pack_settings(cfg, settings, rect):
    """The ``prog_settings`` port value for write-verify `settings` over `rect`."""
    layout = settings_layout(rows=cfg.tile.rows, cols_phys=cfg.cols_phys,
                             adc_bits=cfg.tile.adc_bits)
    values = dataclasses.asdict(settings) | dataclasses.asdict(rect)
    return sum(int(values[name]) << field.offset for name, field in layout)


def pass_results(payloads):
    """``(pulses, converged)`` of per-cell result payloads (``r_stream``'s, as integers):
    int64 and bool arrays."""
    payloads = np.asarray(payloads, np.int64)

    def field(name):
        return (payloads >> RESULT_LAYOUT[name].offset) & ((1 << RESULT_LAYOUT[name].width) - 1)
    return field("pulses"), field("converged").astype(bool)


def pass_budget(cfg, settings, cells):
    """Cycles that programming `cells` cells cannot exceed unless the engine hangs."""
    t = cfg.timing
    per_pulse = t.t_settle + t.t_adc + 2 + settings.pulse_width
    return cells * (settings.max_pulses + 1) * per_pulse + 100


async def start_pass(dut, prefix, cfg, settings, rect):
    """Start a write-verify run over `rect` with `settings` on the tile whose ports are
    named ``<prefix>prog_start`` and so on (``""`` for a bare tile, ``"tile3__"`` for a
    chip's tile 3). Call it at a rising edge; it returns at the edge that takes the start."""
    getattr(dut, prefix + "prog_settings").value = pack_settings(cfg, settings, rect)
    getattr(dut, prefix + "prog_start").value = 1
    await RisingEdge(dut.clk)
    getattr(dut, prefix + "prog_start").value = 0


async def await_pass_end(dut, prefix, cfg, settings, cells):
    """Wait for the end of the run :func:`start_pass` started over `cells` cells, then for
    the next rising edge; return what went wrong (the start refused, or no end within the
    cycle budget)."""
    done = getattr(dut, prefix + "prog_done")
    errors = []
    # A refused start is done at the edge that takes it, which the model has already
    # evaluated when RisingEdge returns (the clock runs inside it).
    await ReadOnly()
    if not done.value:
        try:
            await with_timeout(RisingEdge(done),
                               pass_budget(cfg, settings, cells) * CLOCK_PERIOD_NS, "ns")
        except SimTimeoutError:
            errors.append("programming did not finish within its cycle budget")
        await ReadOnly()
    if not errors and getattr(dut, prefix + "prog_error").value:
        errors.append("the tile refused the write-verify settings")
    await RisingEdge(dut.clk)
    return errors


async def program_pass(dut, prefix, cfg, settings, rect, targets):
    """Program the rectangle `rect` of the tile whose ports are named by `prefix` (see
    :func:`start_pass`) to the levels `targets` (row-major over `rect`), streaming them and
    taking the results event by event, with its cell port answered elsewhere. Call it at a
    rising edge.

    Returns
    -------
    (pulses, converged, errors)
        Each cell's pulses (int64) and convergence (bool) in the order of `targets`, and
        what went wrong (:func:`await_pass_end`).
    """
    results = []
    driver = StreamDriver(dut, f"{prefix}t_stream", dut.clk)
    monitor = StreamMonitor(dut, f"{prefix}r_stream", dut.clk,
                            lambda payload, cycle: results.append(payload))
    await start_pass(dut, prefix, cfg, settings, rect)
    feed = cocotb.start_soon(driver.run([int(level) for level in np.ravel(targets)]))
    watch = cocotb.start_soon(monitor.run())
    errors = await await_pass_end(dut, prefix, cfg, settings, np.size(targets))
    feed.cancel()
    watch.cancel()
    monitor.stop()
    return (*pass_results(results), errors)
