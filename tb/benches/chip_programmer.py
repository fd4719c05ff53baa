"""Programming a chip's tiles by write-verify with column repair, all at once, through the
rings of the chip's simulated top (:mod:`cimtile.tb.tops.chip_top`)."""

import cocotb
import numpy as np
from cocotb.triggers import ReadOnly, RisingEdge, SimTimeoutError, with_timeout

from cimtile.behavioral.device import MemdiodeArray
from cimtile.hdl.write_verify import RESULT_LAYOUT
from cimtile.models.program import program_golden
from cimtile.models.repair import repair_steps

from .chip_rings import RingDrainer, RingFeeder
from .clocking import CLOCK_PERIOD_NS
from ..tops.bulk_layout import Layout
from ..tops.chip_top import CHIP_RINGS, result_fields_of, target_fields_of
from ..transport.bulk_entries import cell_entries
from ..transport.memfiles import field_bytes
from .write_verify_pass import pack_settings, pass_budget

__all__ = ["TileProgrammer", "program_tiles"]


def _field(payload, name):
    field = RESULT_LAYOUT[name]
    return (payload >> field.offset) & ((1 << field.width) - 1)


class TileProgrammer:
    """Programs tile `t` of the chip by write-verify with column repair, through its rings
    (:mod:`cimtile.tb.tops.chip_top`): each pass's targets and the verify reads and pulses
    that the golden program-and-verify makes on a memdiode array with the stuck cells
    `faults`, seeded with `seed` (the array the tile then computes with)."""

    def __init__(self, dut, cfg, t, levels, faults, seed):
        self.dut, self.cfg, self.levels = dut, cfg, levels
        self.prefix, self.cell_error = f"tile{t}__", f"bulk__cell{t}_error"
        self.device = MemdiodeArray(cfg.device, (cfg.tile.rows, cfg.cols_phys),
                                    np.random.default_rng(seed), faults)
        self.layout = Layout.of(cfg)
        rings = CHIP_RINGS
        self.targets = RingFeeder(dut, f"target{t}", rings.target_half, "sent")
        self.cells = RingFeeder(dut, f"cell{t}", rings.cell_half, "used")
        result_bytes = Layout.offsets(result_fields_of(cfg))[1] // 8
        self.results = RingDrainer(dut, f"result{t}", rings.result_half, result_bytes)
        self.pulses, self.converged, self.errors = [], [], []
        self.remap = np.zeros(cfg.cols_data, np.int64)

    def _port(self, name):
        return getattr(self.dut, self.prefix + name, None)

    async def run(self):
        """Program and repair, leaving the remap table the tile holds in :attr:`remap`
        and what went wrong in :attr:`errors`."""
        steps, answer = repair_steps(self.cfg, self.levels), None
        bits = self.cfg.tile.spare_cols.bit_length()
        while True:
            try:
                operation, *operands = steps.send(answer)
            except StopIteration as stop:
                self.remap = stop.value.remap
                return
            if operation == "program":
                answer = await self._program(*operands)
                if self.errors:
                    return
            elif operation == "set_remap":
                (remap,) = operands
                if self._port("remap") is not None:
                    self._port("remap").value = sum(int(v) << (c * bits)
                                                    for c, v in enumerate(remap))
                answer = None
            else:
                # Read back from the port the tile takes its table from.
                port = self._port("remap")
                value = int(port.value) if port is not None else 0
                answer = [(value >> (c * bits)) & ((1 << bits) - 1)
                          for c in range(self.cfg.cols_data)]

    async def _program(self, levels, rect):
        """One write-verify pass over `rect`; return each cell's convergence."""
        cfg, settings = self.cfg, self.cfg.write_verify
        targets = levels[rect.row_first:rect.row_last + 1, rect.col_first:rect.col_last + 1]
        golden = program_golden(self.device, targets, rect, settings,
                                bits_per_cell=cfg.tile.bits_per_cell, adc_bits=cfg.tile.adc_bits)
        self.targets.add(self._target_entries(targets.reshape(-1)))
        self.cells.add(cell_entries(self.layout, cfg.cols_phys, golden.requests,
                                    settings.pulse_width))
        expected = self.results.drained + targets.size
        self._port("prog_settings").value = pack_settings(cfg, settings, rect)
        feeds = [cocotb.start_soon(ring.feed()) for ring in (self.targets, self.cells)]
        watch = cocotb.start_soon(self.results.watch())
        self._port("prog_start").value = 1
        await RisingEdge(self.dut.clk)
        self._port("prog_start").value = 0
        await ReadOnly()
        if not self._port("prog_done").value:
            try:
                await with_timeout(RisingEdge(self._port("prog_done")),
                                   pass_budget(cfg, settings, targets.size) * CLOCK_PERIOD_NS,
                                   "ns")
            except SimTimeoutError:
                self.errors.append("programming did not finish within its cycle budget")
            await ReadOnly()
        if self._port("prog_error").value:
            self.errors.append("the tile refused the write-verify settings")
        if getattr(self.dut, self.cell_error).value:
            self.errors.append(self._cell_error())
        await RisingEdge(self.dut.clk)
        watch.cancel()
        for feed in feeds:
            feed.cancel()
        if self.errors:
            return None
        rows = await self.results.drain(expected)
        payload = np.zeros(len(rows), np.int64)
        width = RESULT_LAYOUT.size
        for k in range(-(-width // 8)):
            payload |= rows[:, k].astype(np.int64) << (8 * k)
        payload &= (1 << width) - 1
        pulses, converged = _field(payload, "pulses"), _field(payload, "converged").astype(bool)
        self.pulses.append(pulses)
        self.converged.append(converged)
        return converged

    def _target_entries(self, levels):
        """Target player entries: each level, TKEEP and TLAST zero (unused)."""
        offsets, width = Layout.offsets(target_fields_of(self.cfg))
        entries = np.zeros((len(levels), width // 8), np.uint8)
        data = field_bytes(levels, offsets["tdata"][1])
        entries[:, :data.shape[1]] = data
        return entries

    def _cell_error(self):
        name = self.cell_error
        kind = int(getattr(self.dut, f"{name}_kind").value)
        index = int(getattr(self.dut, f"{name}_index").value)
        cycle = int(getattr(self.dut, f"{name}_cycle").value)
        what = ("a request beyond those expected" if kind == 2 else
                "a request unlike the golden program-and-verify's")
        return f"cell queue: {what} (request {index}, cycle {cycle})"


async def program_tiles(dut, chip, levels, faults, seeds):
    """Program tile ``t`` to ``levels[t]`` with the stuck cells ``faults[t]`` and the seed
    ``seeds[t]``, every tile at once; return the :class:`TileProgrammer` of each."""
    programmers = [TileProgrammer(dut, chip.tile, t, *tile, int(seed))
                   for t, (*tile, seed) in enumerate(zip(levels, faults, seeds))]
    tasks = [cocotb.start_soon(p.run()) for p in programmers]
    for task in tasks:
        await task
    return programmers
