"""Programming a chip's tiles by write-verify with column repair, all at once, through the
rings of the chip's simulated top (:mod:`cimtile.tb.tops.chip_top`)."""

import cocotb
import numpy as np

from cimtile.models.repair import GoldenArray, repair_steps

from .chip_rings import RingDrainer, RingFeeder
from ..tops.bulk_layout import Layout
from ..tops.chip_top import CHIP_RINGS, result_fields_of, target_fields_of
from ..transport.bulk_entries import cell_entries
from ..transport.memfiles import field_bytes, field_values
from .write_verify_pass import await_pass_end, pass_results, start_pass

__all__ = ["TileProgrammer", "program_tiles"]


class TileProgrammer:
    """Programs tile `t` of the chip by write-verify with column repair, through its rings
    (:mod:`cimtile.tb.tops.chip_top`): each pass's targets and the verify reads and pulses
    that the golden program-and-verify makes on a memdiode array with the stuck cells
    `faults`, seeded with `seed` (:attr:`array`, whose device the tile then computes
    with)."""

    def __init__(self, dut, cfg, t, levels, faults, seed):
        self.dut, self.cfg, self.levels = dut, cfg, levels
        self.prefix, self.cell_error = f"tile{t}__", f"bulk__cell{t}_error"
        self.array = GoldenArray(cfg, faults, seed)
        self.layout = Layout.of(cfg)
        rings = CHIP_RINGS
        self.targets = RingFeeder(dut, f"target{t}", rings.target_half, "sent")
        self.cells = RingFeeder(dut, f"cell{t}", rings.cell_half, "used")
        self._result_at, result_width = Layout.offsets(result_fields_of(cfg))
        self.results = RingDrainer(dut, f"result{t}", rings.result_half, result_width // 8)
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
        self.array.program(levels, rect)
        self.targets.add(self._target_entries(targets.reshape(-1)))
        self.cells.add(cell_entries(self.layout, cfg.cols_phys,
                                    self.array.outcomes[-1].requests, settings.pulse_width))
        expected = self.results.drained + targets.size
        feeds = [cocotb.start_soon(ring.feed()) for ring in (self.targets, self.cells)]
        watch = cocotb.start_soon(self.results.watch())
        await start_pass(self.dut, self.prefix, cfg, settings, rect)
        self.errors += await await_pass_end(self.dut, self.prefix, cfg, settings, targets.size)
        if getattr(self.dut, self.cell_error).value:
            self.errors.append(self._cell_error())
        watch.cancel()
        for feed in feeds:
            feed.cancel()
        if self.errors:
            return None
        rows = await self.results.drain(expected)
        at, width = self._result_at["tdata"]
        pulses, converged = pass_results(field_values(rows, at, width))
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
