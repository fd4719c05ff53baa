"""Testbench side of bulk co-simulation: fills and drains the rings of the bulk top.

A batch of input vectors becomes a stream of beats and a stream of analog answers (the
macro's codes for every bit plane of every vector, in the order the tile requests them,
computed a ring half at a time in one vectorised call). Python wakes only when the bulk
top's one attention output rises (a ring half to refill or drain, the batch's end, an
error); while it waits, the simulator's main runs the model freely, with no callback into
Python. The bulk top does everything per cycle. With the crossbar emulator in the bulk top
there is no analog queue to feed.
"""

import functools
import os

import numpy as np
from cocotb.triggers import ReadOnly, RisingEdge, Timer

from cimtile.spec.axis_frames import pack_targets

from ..transport.bulk_entries import (ERROR_KINDS, BulkEntries, ResultFrames,
                                      analog_error_message, cell_entries)
from ..transport.half_files import HalfFiles, HalfReader
from ..tops.bulk_layout import CELL_PULSE, CELL_READ, CELL_RESET, Layout, Rings
from ..tops.bulk_top import FEEDS
from ..transport.memfiles import bits_image, field_bytes

__all__ = ["BulkStream", "ERROR_KINDS"]

#: ``bulk__first_sample_cycle`` before any sample request.
NO_SAMPLE = 0xFFFFFFFF
#: ``bulk__wl_fault_at`` of no plane.
NO_FAULT = 0xFFFFFFFF
#: Rings whose progress is counted in ``bulk__{name}_used`` (the others': ``_sent``).
QUEUES = ("analog", "cell")


class _Ring:
    """One ring of the bulk top fed from (or drained into) files, a half at a time."""

    def __init__(self, dut, name, half, files):
        self.ports = [getattr(dut, f"bulk__{name}{i}") for i in (0, 1)]
        self.half = half
        self.files = files
        self.base = 0     # entry count at the start of the batch: ring entry 0
        self.done = 0     # entries loaded (or drained) so far

    def toggle(self, index):
        port = self.ports[index]
        port.value = 1 - int(port.value)

    def load(self, path, entries):
        """Load the half written to `path` (holding `entries` entries) as the next half."""
        index = ((self.done - self.base) // self.half) % 2
        os.replace(path, self.files[index])
        self.toggle(index)
        self.done += entries


class _Feed:
    """A ring of the bulk top and the halves that feed it, written ahead by `files` (a
    :class:`~cimtile.tb.transport.half_files.HalfFiles`; see :meth:`BulkStream._pump`)."""

    def __init__(self, dut, name, half, files, after_start):
        self.ring = _Ring(dut, f"{name}_load", half, [f"bulk_{name}_0.bin",
                                                     f"bulk_{name}_1.bin"])
        self.name, self.files = name, files
        self.after_start = after_start
        self.used = getattr(dut, f"bulk__{name}_{'used' if name in QUEUES else 'sent'}")
        self.count = getattr(dut, f"bulk__{name}_count")
        self.base = getattr(dut, f"bulk__{name}_base")
        self.want = 1 << FEEDS.index(name)
        self.more = True

    def rebase(self):
        """Start the ring at entry 0 where the bulk top's counter stands."""
        self.ring.base = self.ring.done = int(self.used.value)
        self.base.value = self.ring.base

    def refill(self):
        """Load halves until two are ahead of what the bulk top has used."""
        ring = self.ring
        while self.more and ring.done - int(self.used.value) <= ring.half:
            half = self.files.take(self.name)
            if half is None:
                self.more = False
                break
            ring.load(*half)
            self.count.value = ring.done


class BulkStream:
    """Streams compute batches through the bulk top of `cfg`, whose analog port is answered
    by `analog` (as for :func:`cimtile.tb.tops.bulk_top.bulk_verilog`).

    Members
    -------
    wakeups : int
        Times Python was woken so far (refills, drains, the end of a batch).
    """

    def __init__(self, dut, cfg, *, analog="queue"):
        self.dut, self.cfg = dut, cfg
        self.layout = Layout.of(cfg)
        self.queue = analog == "queue"
        self.wakeups = 0
        feeds = ["in", *(["analog", "target", "cell"] if self.queue else [])]
        drains = ["out", *(["result"] if self.queue else [])]
        inputs = [f"{p}_{port}" for p in feeds for port in ("load0", "load1", "count")]
        inputs += [f"{p}_{port}" for p in drains for port in ("dump0", "dump1", "drained")]
        for name in inputs + ["pauses_load", "frames_expected", "budget", "pauses_on", "want",
                              "free_run"]:
            getattr(dut, f"bulk__{name}").value = 0
        if self.queue:
            dut.bulk__wl_fault_at.value = NO_FAULT

    def inject_wl_fault(self, plane):
        """Self-test of the analog queue's check: flip wordline 0 as the queue sees it at
        `plane` (counted from reset)."""
        self.dut.bulk__wl_fault_at.value = plane

    def set_pauses(self, pattern_in, pattern_out):
        """Pause TVALID and TREADY by the per-cycle patterns (bool arrays of the pattern
        length), or not at all where a pattern has no pause."""
        for name, bits in (("in", pattern_in), ("out", pattern_out)):
            with open(f"bulk_pauses_{name}.bits", "wb") as file:
                file.write(bits_image(bits))
        self.dut.bulk__pauses_load.value = 1 - int(self.dut.bulk__pauses_load.value)
        self.dut.bulk__pauses_on.value = int(pattern_in.any()) | int(pattern_out.any()) << 1

    @functools.cached_property
    def rings(self):
        """The ring sizes of this build (readable once the model has run)."""
        dut = self.dut
        names = ["in_half", "out_half"]
        names += ["analog_half", "target_half", "cell_half", "result_half"] if self.queue else []
        return Rings(**{name: int(getattr(dut, f"bulk__{name}").value) for name in names})

    @functools.cached_property
    def entries(self):
        """The ring entries' codec for this build's rings."""
        return BulkEntries(self.cfg, self.rings)

    # The pump: rings fed and drained until the expected frames have ended.

    def _feeds(self, chunks, names, *, after_start=()):
        """The rings `names` of the bulk top fed from `chunks` (an iterator of tuples of
        entry arrays, one per ring), their halves written ahead; those in `after_start` are
        loaded only once the start was written (see :meth:`_pump`)."""
        files = HalfFiles(chunks, names, {name: getattr(self.rings, f"{name}_half")
                                          for name in names})
        return [_Feed(self.dut, name, getattr(self.rings, f"{name}_half"), files,
                      name in after_start) for name in names]

    async def _pump(self, feeds, drained, sink, frames, budget, error, start=None):
        """Run until `frames` more frames have ended on the recorder `drained` (or the
        budget of cycles without a frame end ran out, or the `error` port rose), keeping the
        rings of `feeds` (:class:`_Feed`) two halves ahead and handing every drained half
        of recorded entries to `sink`; the feeds' writers are closed at the end.

        With `start` (a coroutine function returning a dict), the feeds not marked
        ``after_start`` are filled first, then `start` is awaited (if it answers
        ``refused``, the pump stops at once), then the others are filled: a stream the
        event-driven drive would send only after the start begins in the same cycle.

        Returns
        -------
        (bool, dict or None)
            Whether `error` rose, and what `start` answered.
        """
        dut = self.dut
        half = getattr(self.rings, f"{drained}_half")
        out = _Ring(dut, f"{drained}_dump", half,
                    [f"bulk_{drained}_0.hex", f"bulk_{drained}_1.hex"])
        taken_port = getattr(dut, f"bulk__{drained}_taken")
        drained_port = getattr(dut, f"bulk__{drained}_drained")
        # Each run starts its rings at entry 0, wherever the previous one ended.
        for feed in feeds:
            feed.rebase()
        out.base = out.done = int(taken_port.value)
        getattr(dut, f"bulk__{drained}_base").value = out.base
        dut.bulk__frames_expected.value = int(dut.bulk__frames.value) + frames
        dut.bulk__budget.value = int(budget)
        reader = HalfReader(sink, self.entries.out_bytes)
        try:
            return await self._run_pump(feeds, out, taken_port, drained_port, reader, error,
                                        start)
        finally:
            for files in {feed.files for feed in feeds}:
                files.close()
            reader.finish()

    async def _run_pump(self, feeds, out, taken_port, drained_port, reader, error, start):
        """The loop of :meth:`_pump`, handing drained halves to `reader`."""
        dut = self.dut
        first = True
        started = None
        while True:
            self.wakeups += 1
            if start is not None and started is None:
                for feed in feeds:
                    if not feed.after_start:
                        feed.refill()
                started = await start()
                if started.get("refused"):
                    return False, started
            for feed in feeds:
                feed.refill()
            dut.bulk__want.value = sum(feed.want for feed in feeds if feed.more)
            # Outputs computed from ports written just now are stale until the model runs.
            finished = not first and (bool(dut.bulk__done.value)
                                      or bool(dut.bulk__timeout.value))
            first = False
            failed = error is not None and bool(error.value)
            taken = int(taken_port.value)
            dumps = []
            while taken - out.done >= out.half or ((finished or failed) and taken > out.done):
                index = ((out.done - out.base) // out.half) % 2
                out.toggle(index)
                dumps.append((out.files[index], min(out.half, taken - out.done)))
                out.done += dumps[-1][1]
            if dumps:
                drained_port.value = out.done
                await ReadOnly()
                for name, count in dumps:
                    reader.read(name, count)
            if finished or failed:
                break
            await self._attention()
        if dumps:
            # Leave the read-only phase (within the cycle) so the caller may write again.
            await Timer(1, "step")
        return failed, started

    async def _attention(self):
        """Return at a rising edge where the bulk top asks for attention. The edge after
        the testbench's writes comes first: the rings see them only then."""
        dut = self.dut
        await RisingEdge(dut.clk)
        if not dut.bulk__attention.value:
            dut.bulk__free_run.value = 1
            await RisingEdge(dut.bulk__attention)
            dut.bulk__free_run.value = 0

    async def run(self, X, frame_vectors, in_bits, adc_shift, macro, budget, writer=None,
                  check=None):
        """Stream `X` (an array or :class:`~cimtile.spec.npy_rows.NpyRows`) as frames of
        `frame_vectors` vectors; collect the result frames.

        Parameters
        ----------
        writer : NpyRowWriter, optional
            Takes the result vectors as they arrive, instead of the returned ``Y``.
        check : StreamCheck, optional
            Given each chunk's expectations as the chunk is read, and the results as they
            arrive (with an analog queue: the emulator's answers are not Python's).

        Returns
        -------
        dict
            ``Y`` (unless `writer`), ``frame_cycles`` (cycle each result frame ended, from
            reset release), ``frame_vectors``, ``timeout``, ``first_sample_cycle``, and
            ``error`` (a message, or None). Without an analog queue, `macro` is unused and
            ``error`` None.
        """
        check = check if self.queue else None
        chunks = self.entries.batch(X, frame_vectors, in_bits, adc_shift,
                                    macro if self.queue else None, check)
        feeds = self._feeds(chunks, ["in", "analog"] if self.queue else ["in"])
        results = ResultFrames(self.entries, len(X), writer, check)
        failed, _ = await self._pump(feeds, "out", results.add, -(-len(X) // frame_vectors),
                                     budget, self.dut.bulk__error if self.queue else None)
        result = results.finish()
        result["timeout"] = not bool(self.dut.bulk__done.value)
        result["error"] = self._error_message(in_bits, feeds[1].ring.base) if failed else None
        first = int(self.dut.bulk__first_sample_cycle.value)
        result["first_sample_cycle"] = -1 if first == NO_SAMPLE else first
        return result

    async def program(self, targets, requests, pulse_width, budget, start):
        """Program (or read back) a rectangle: `targets` (levels in rectangle order, or None
        to read back) on ``s_axis_target``, the verify reads and pulses `requests` (a
        :class:`cimtile.models.program.Requests`, pulses `pulse_width` cycles long) in the cell
        queue, both loaded before `start` (a coroutine function writing the start, see
        :meth:`_pump`) is awaited.

        Returns
        -------
        dict
            ``started`` (what `start` answered), ``data`` (the bytes of the cell-result
            frame), ``timeout``, ``error`` (a message, or None).
        """
        entries = [cell_entries(self.layout, self.cfg.cols_phys, requests,
                                pulse_width)]
        if targets is not None:
            entries.append(self._beat_entries(pack_targets(targets, self.layout.data_width)))
        feeds = self._feeds(iter([entries]), ["cell", "target"][:len(entries)],
                            after_start=["target"])
        records = []
        failed, started = await self._pump(feeds, "result", records.append, 1, budget,
                                           self.dut.bulk__cell_error, start)
        data, _, _, _ = self.entries.recorded(records)
        return {"started": started, "data": data.tobytes(), "timeout": not bool(self.dut.bulk__done.value),
                "error": self._cell_error_message(requests, feeds[0].ring.base) if failed
                else None}

    def _beat_entries(self, frame):
        """Input beat entries of one frame of bytes (whole beats), TLAST on the last."""
        beat_bytes = self.layout.data_width // 8
        data = np.frombuffer(frame, np.uint8).reshape(-1, beat_bytes)
        keep = field_bytes(np.full(len(data), (1 << self.layout.keep_width) - 1),
                           self.layout.keep_width)
        last = np.zeros((len(data), 1), np.uint8)
        last[-1] = 1
        return np.concatenate([data, keep, last], axis=1)

    def _cell_error_message(self, requests, base):
        """What the cell queue's check found, naming the cell, its request number and both
        requests."""
        dut, cols = self.dut, self.cfg.cols_phys
        index = int(dut.bulk__cell_error_index.value) - base
        if int(dut.bulk__cell_error_kind.value) == 2:
            return (f"cell queue: a request beyond the {len(requests.cell)} expected at cycle "
                    f"{int(dut.bulk__cell_error_cycle.value)}: "
                    f"{self._request_text(int(dut.bulk__cell_error_seen.value))}")
        cell = int(requests.cell[index])
        first = int(np.argmax(requests.cell == cell))
        return (f"cell queue: request mismatch at cycle {int(dut.bulk__cell_error_cycle.value)}, "
                f"request {index - first} of cell ({cell // cols}, {cell % cols}): the tile "
                f"issued {self._request_text(int(dut.bulk__cell_error_seen.value))}, the queue "
                f"expected {self._request_text(int(dut.bulk__cell_error_expected.value))}")

    def _request_text(self, word):
        """A cell request word (the cell queue's entry without its code) in words."""
        offsets, _ = Layout.offsets(self.layout.cell_fields)

        def field(name):
            at, width = offsets[name]
            return (word >> at) & ((1 << width) - 1)

        where = f"({field('row')}, {field('col')})"
        flags = field("flags")
        if flags == CELL_READ:
            return f"read {where}"
        if flags & CELL_PULSE and not flags & CELL_READ:
            polarity = "RESET" if flags & CELL_RESET else "SET"
            return (f"{polarity} pulse {where} amplitude {field('amplitude')} "
                    f"width {field('width')}")
        return f"read and pulse at once {where}"

    def _error_message(self, in_bits, base_planes):
        dut = self.dut
        return analog_error_message(self.cfg.tile.rows, in_bits, {
            name: int(getattr(dut, f"bulk__error_{name}").value)
            for name in ("kind", "cycle", "wl", "expected_wl", "shift", "expected_shift")
        } | {"plane": int(dut.bulk__error_plane.value) - base_planes})
