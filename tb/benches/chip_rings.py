"""The testbench side of the chip top's programming rings (:mod:`cimtile.tb.tops.chip_top`):
feeding a player's or queue's ring a half at a time, draining a recorder's.

Entries are numbered from reset and never rebased, so entry ``a`` sits at ring position
``a mod 2 * half``. Entries arrive in batches (one write-verify pass each) of any length: a
half is written again, longer, as a batch ends inside it, which is safe because the part
has not yet read past what was written before.
"""

import numpy as np
from cocotb.triggers import ReadOnly, RisingEdge, Timer

from ..transport.memfiles import fread_image, parse_hex_image

__all__ = ["RingFeeder", "RingDrainer"]


class RingFeeder:
    """Feeds the ring ``bulk_<name>`` of `dut` (ports ``bulk__<name>_count``, ``_load0``,
    ``_load1``, ``_hungry`` and ``used``, files ``bulk_<name>_<k>.bin``)."""

    def __init__(self, dut, name, half, used):
        self.dut, self.name, self.half = dut, name, half
        self._count = getattr(dut, f"bulk__{name}_count")
        self._loads = [getattr(dut, f"bulk__{name}_load{k}") for k in (0, 1)]
        self._hungry = getattr(dut, f"bulk__{name}_hungry")
        self._used = getattr(dut, f"bulk__{name}_{used}")
        self.loaded = 0
        self._current = []         # entries of the half `loaded` is in, before it
        self._pending = []

    def add(self, entries):
        """Queue `entries` (rows of little-endian bytes) after those queued before."""
        if len(entries):
            self._pending.append(np.asarray(entries))

    def _refill(self):
        """Load what fits: a half may be written once the part has read its last lap."""
        used = int(self._used.value)
        while self._pending:
            start = self.loaded - self.loaded % self.half
            if used < start - self.half:
                return
            room = start + self.half - self.loaded
            batch = self._pending[0]
            self._current.append(batch[:room])
            if len(batch) > room:
                self._pending[0] = batch[room:]
            else:
                self._pending.pop(0)
            self.loaded += min(room, len(batch))
            index = (start // self.half) % 2
            with open(f"bulk_{self.name}_{index}.bin", "wb") as file:
                file.write(fread_image(np.concatenate(self._current)))
            self._loads[index].value = 1 - int(self._loads[index].value)
            self._count.value = self.loaded
            if self.loaded % self.half == 0:
                self._current = []

    async def feed(self):
        """Load every queued entry, waiting while the part has not read far enough; call it
        at a rising edge."""
        while True:
            self._refill()
            if not self._pending:
                return
            # The part sees the new count an edge later; then it is hungry again, or it
            # will become so.
            await RisingEdge(self.dut.clk)
            await RisingEdge(self.dut.clk)
            if not self._hungry.value:
                await RisingEdge(self._hungry)


class RingDrainer:
    """Drains the recorder ``bulk_<name>`` of `dut` (ports ``bulk__<name>_taken``,
    ``_drained``, ``_dump0``, ``_dump1``, ``_full``, files ``bulk_<name>_<k>.hex``) of
    entries `entry_bytes` long."""

    def __init__(self, dut, name, half, entry_bytes):
        self.dut, self.name, self.half, self.entry_bytes = dut, name, half, entry_bytes
        self._taken = getattr(dut, f"bulk__{name}_taken")
        self._drained = getattr(dut, f"bulk__{name}_drained")
        self._dumps = [getattr(dut, f"bulk__{name}_dump{k}") for k in (0, 1)]
        self._full = getattr(dut, f"bulk__{name}_full")
        self.drained = 0
        self.entries = []

    async def _dump(self, until):
        """Read the entries up to `until` (at most to the end of the half `drained` is
        in)."""
        start = self.drained - self.drained % self.half
        until = min(until, start + self.half)
        index = (start // self.half) % 2
        self._dumps[index].value = 1 - int(self._dumps[index].value)
        await ReadOnly()
        with open(f"bulk_{self.name}_{index}.hex", "rb") as file:
            rows = parse_hex_image(file.read(), self.entry_bytes)
        self.entries.append(rows[self.drained - start:until - start])
        self.drained = until
        await Timer(1, "step")          # out of the read-only phase: writes allowed again
        self._drained.value = self.drained

    async def watch(self):
        """Drain each half as the recorder fills it (a task; cancel it when done)."""
        while True:
            if not self._full.value:
                await RisingEdge(self._full)
            await self._dump(int(self._taken.value))
            await RisingEdge(self.dut.clk)

    async def drain(self, count):
        """Drain until `count` entries in all were taken; return them (rows of bytes) and
        forget them."""
        while self.drained < count:
            await self._dump(count)
        rows = np.concatenate(self.entries) if self.entries else np.zeros(
            (0, self.entry_bytes), np.uint8)
        self.entries = []
        return rows
