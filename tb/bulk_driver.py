"""Testbench side of bulk co-simulation: fills and drains the rings of the bulk top.

A batch of input vectors becomes a stream of beats and a stream of analog answers (the
macro's codes for every bit plane of every vector, in the order the tile requests them,
computed a ring half at a time in one vectorised call). Python wakes only when a ring half
must be refilled or drained, or the batch ends; the bulk top does everything per cycle.
With the crossbar emulator in the bulk top there is no analog queue to feed.
"""

import functools

import numpy as np
from cocotb.triggers import First, ReadOnly, RisingEdge, Timer

from cimtile.axis_frames import pack_vectors, unpack_vectors
from cimtile.mapping import bit_planes

from .bulk_top import Layout, Rings
from .memfiles import bits_image, field_bytes, parse_hex_image

__all__ = ["BulkStream", "ERROR_KINDS"]

#: ``bulk__first_sample_cycle`` before any sample request.
NO_SAMPLE = 0xFFFFFFFF
#: ``bulk__wl_fault_at`` of no plane.
NO_FAULT = 0xFFFFFFFF
#: ``bulk__error_kind`` codes.
ERROR_KINDS = {1: "wordline or ADC range mismatch", 2: "sample strobe longer than one cycle",
               3: "sample request beyond the batch's bit planes"}


def _halves(chunks, half):
    """Cut a stream of entry arrays (n, bytes) into arrays of exactly `half` entries (the
    last may be shorter)."""
    pending, size = [], 0
    for chunk in chunks:
        pending.append(chunk)
        size += len(chunk)
        while size >= half:
            block = np.concatenate(pending)
            yield block[:half]
            pending, size = [block[half:]], size - half
    if size:
        yield np.concatenate(pending)


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

    def load(self, entries):
        """Write `entries` (little-endian rows of bytes) into the next half."""
        index = ((self.done - self.base) // self.half) % 2
        with open(self.files[index], "wb") as file:
            file.write(np.ascontiguousarray(entries[:, ::-1]).tobytes())
        self.toggle(index)
        self.done += len(entries)


class BulkStream:
    """Streams compute batches through the bulk top of `cfg`, whose analog port is answered
    by `analog` (as for :func:`cimtile.tb.bulk_top.bulk_verilog`).

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
        queue_inputs = ("analog_load0", "analog_load1", "analog_count") if self.queue else ()
        for name in ("in_load0", "in_load1", "out_dump0", "out_dump1", "pauses_load",
                     "in_count", "out_drained", "frames_expected", "budget", "pauses_on",
                     *queue_inputs):
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
        return Rings(in_half=int(dut.bulk__in_half.value),
                     analog_half=int(dut.bulk__analog_half.value) if self.queue else 0,
                     out_half=int(dut.bulk__out_half.value))

    # Entries of the rings.

    def _beats(self, X, frame_vectors):
        """Input beat entries of `X` sent as frames of `frame_vectors` vectors."""
        cfg, width = self.cfg, self.layout.data_width
        beat_bytes = width // 8
        per_vector = len(pack_vectors(X[:1], cfg.tile.in_bits, width)) // beat_bytes
        step = max(1, self.rings.in_half // per_vector)
        keep = field_bytes(np.array([(1 << self.layout.keep_width) - 1]),
                           self.layout.keep_width)
        for start in range(0, len(X), step):
            x = X[start:start + step]
            data = np.frombuffer(pack_vectors(x, cfg.tile.in_bits, width), np.uint8)
            data = data.reshape(-1, beat_bytes)
            index = np.arange(start, start + len(x))
            ends_frame = ((index + 1) % frame_vectors == 0) | (index == len(X) - 1)
            last = np.zeros((len(x), per_vector), np.uint8)
            last[:, -1] = ends_frame
            yield np.concatenate([data, np.repeat(keep, len(data), axis=0),
                                  last.reshape(-1, 1)], axis=1)

    def _answers(self, X, in_bits, adc_shift, macro):
        """Analog answer entries for every bit plane of `X`, in request order."""
        layout, rows = self.layout, self.cfg.tile.rows
        step = max(1, self.rings.analog_half // in_bits)
        shift = field_bytes(np.array([adc_shift]), layout.shift_width)
        for start in range(0, len(X), step):
            planes = bit_planes(X[start:start + step], in_bits).reshape(-1, rows)
            codes = macro.sample(planes.astype(np.float32), adc_shift=adc_shift)
            yield np.concatenate([field_bytes(codes, self.cfg.tile.adc_bits),
                                  np.packbits(planes, axis=1, bitorder="little"),
                                  np.repeat(shift, len(planes), axis=0)], axis=1)

    # The batch.

    async def run(self, X, frame_vectors, in_bits, adc_shift, macro, budget):
        """Stream `X` as frames of `frame_vectors` vectors; collect the result frames.

        Returns
        -------
        dict
            ``Y``, ``frame_cycles`` (cycle each result frame ended, from reset release),
            ``frame_vectors``, ``timeout``, ``first_sample_cycle``, and ``error`` (a message,
            or None). Without an analog queue, `macro` is unused and ``error`` None.
        """
        dut, rings = self.dut, self.rings
        inputs = _halves(self._beats(X, frame_vectors), rings.in_half)
        beats_in = _Ring(dut, "in_load", rings.in_half, ["bulk_in_0.bin", "bulk_in_1.bin"])
        out = _Ring(dut, "out_dump", rings.out_half, ["bulk_out_0.hex", "bulk_out_1.hex"])
        rebased = [(beats_in, dut.bulk__in_sent, dut.bulk__in_base),
                   (out, dut.bulk__out_taken, dut.bulk__out_base)]
        feeds = [(beats_in, inputs, dut.bulk__in_sent, dut.bulk__in_count, dut.bulk__in_hungry)]
        if self.queue:
            answers = _halves(self._answers(X, in_bits, adc_shift, macro), rings.analog_half)
            planes = _Ring(dut, "analog_load", rings.analog_half,
                           ["bulk_analog_0.bin", "bulk_analog_1.bin"])
            rebased.append((planes, dut.bulk__analog_used, dut.bulk__analog_base))
            feeds.append((planes, answers, dut.bulk__analog_used, dut.bulk__analog_count,
                          dut.bulk__analog_hungry))
        # Each batch starts its rings at entry 0, wherever the previous one ended.
        for ring, counter, base in rebased:
            ring.base = ring.done = int(counter.value)
            base.value = ring.base
        more = {id(ring): True for ring, *_ in feeds}
        records = []
        frames = -(-len(X) // frame_vectors)
        dut.bulk__frames_expected.value = int(dut.bulk__frames.value) + frames
        dut.bulk__budget.value = int(budget)
        first = True
        while True:
            self.wakeups += 1
            for ring, feed, used, count, _ in feeds:
                # Two halves ahead of what the bulk top has used.
                while more[id(ring)] and ring.done - int(used.value) <= ring.half:
                    entries = next(feed, None)
                    if entries is None:
                        more[id(ring)] = False
                        break
                    ring.load(entries)
                    count.value = ring.done
            # Outputs computed from ports written just now are stale until the model runs.
            finished = not first and (bool(dut.bulk__done.value)
                                      or bool(dut.bulk__timeout.value))
            first = False
            error = self.queue and bool(dut.bulk__error.value)
            taken = int(dut.bulk__out_taken.value)
            dumps = []
            while taken - out.done >= out.half or ((finished or error) and taken > out.done):
                index = ((out.done - out.base) // out.half) % 2
                out.toggle(index)
                dumps.append((out.files[index], min(out.half, taken - out.done)))
                out.done += dumps[-1][1]
            if dumps:
                dut.bulk__out_drained.value = out.done
                await ReadOnly()
                for name, count in dumps:
                    with open(name, "rb") as file:
                        records.append(parse_hex_image(file.read(), self._out_bytes)[:count])
            if finished or error:
                break
            triggers = [RisingEdge(dut.bulk__done), RisingEdge(dut.bulk__timeout),
                        RisingEdge(dut.bulk__out_full)]
            triggers += [RisingEdge(dut.bulk__error)] if self.queue else []
            triggers += [RisingEdge(hungry) for ring, *_, hungry in feeds if more[id(ring)]]
            await First(*triggers)
        result = self._results(records, len(X))
        result["timeout"] = not bool(dut.bulk__done.value)
        result["error"] = self._error_message(in_bits, planes.base) if error else None
        first = int(dut.bulk__first_sample_cycle.value)
        result["first_sample_cycle"] = -1 if first == NO_SAMPLE else first
        if dumps:
            # Leave the read-only phase (within the cycle) so the caller may write again.
            await Timer(1, "step")
        return result

    @property
    def _out_bytes(self):
        return Layout.offsets(self.layout.out_fields)[1] // 8

    def _results(self, records, vectors):
        """Result vectors and frame ends from recorded output entries."""
        cfg, layout = self.cfg, self.layout
        offsets, _ = Layout.offsets(layout.out_fields)
        entries = (np.concatenate(records) if records
                   else np.zeros((0, self._out_bytes), np.uint8))
        beat_bytes = layout.data_width // 8

        def field(name):
            at, width = offsets[name]
            return entries[:, at // 8:at // 8 + -(-width // 8)]

        keep = np.unpackbits(field("tkeep"), axis=1, bitorder="little")[:, :beat_bytes]
        data = field("tdata")[keep.astype(bool)]
        last = field("tlast")[:, 0].astype(bool)
        cycles = field("cycle").copy().view("<u4")[:, 0].astype(np.int64)
        Y = unpack_vectors(data.tobytes(), cfg.result_width, cfg.tile.cols, layout.data_width)
        kept_per_beat = keep.sum(axis=1)
        per_vector = len(data) // max(len(Y), 1) if len(Y) else 1
        ends = np.flatnonzero(last)
        bytes_to_end = np.cumsum(kept_per_beat)[ends] if len(ends) else np.zeros(0, np.int64)
        vectors_to_end = bytes_to_end // per_vector
        frame_vectors = np.diff(vectors_to_end, prepend=0)
        return {"Y": Y[:vectors], "frame_cycles": cycles[ends],
                "frame_vectors": [int(v) for v in frame_vectors]}

    def _error_message(self, in_bits, base_planes):
        dut, rows = self.dut, self.cfg.tile.rows
        kind = int(dut.bulk__error_kind.value)
        plane = int(dut.bulk__error_plane.value) - base_planes
        vector, bit = divmod(plane, in_bits)
        wl = int(dut.bulk__error_wl.value)
        expected = int(dut.bulk__error_expected_wl.value)
        digits = -(-rows // 4)
        return (f"analog queue: {ERROR_KINDS.get(kind, kind)} at cycle "
                f"{int(dut.bulk__error_cycle.value)}, vector {vector} plane {bit}: "
                f"wordlines {wl:0{digits}x} (adc_shift {int(dut.bulk__error_shift.value)}), "
                f"the answer assumed {expected:0{digits}x} (adc_shift "
                f"{int(dut.bulk__error_expected_shift.value)})")
