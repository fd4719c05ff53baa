"""Entries of the bulk top's rings, made and taken apart with numpy: the input beats and
analog answers of a compute batch, and the beats a recorder took.

These are the transactions; :mod:`.bulk_driver` moves them through the rings while the
co-simulation runs, and :mod:`.ceiling` writes them all ahead for a plain C++ main. Entries
are laid out by :class:`~cimtile.tb.tops.bulk_layout.Layout`.
"""

import numpy as np

from cimtile.spec.axis_frames import pack_vectors, unpack_vectors
from cimtile.spec.mapping import bit_planes
from cimtile.spec.npy_rows import row_chunks

from cimtile.hdl.analog_port import AMPLITUDE_BITS, WIDTH_BITS

from ..tops.bulk_layout import CELL_PULSE, CELL_READ, CELL_RESET, Layout
from .memfiles import field_bytes

__all__ = ["ERROR_KINDS", "BulkEntries", "ResultFrames", "analog_error_message",
           "cell_entries"]

#: ``bulk__error_kind`` codes.
ERROR_KINDS = {1: "wordline or ADC range mismatch", 2: "sample strobe longer than one cycle",
               3: "sample request beyond the batch's bit planes"}


class BulkEntries:
    """Ring entries of the bulk top of `cfg`, made in chunks of about a ring half of the
    build's `rings` (:class:`~cimtile.tb.tops.bulk_layout.Rings`)."""

    def __init__(self, cfg, rings):
        self.cfg, self.rings = cfg, rings
        self.layout = Layout.of(cfg)

    def batch(self, X, frame_vectors, in_bits, adc_shift, macro=None, check=None):
        """The ring entries of the batch `X` (an array or :class:`NpyRows`) sent as frames of
        `frame_vectors` vectors, from one read of each chunk of it: for each chunk, its
        input beat entries and, with `macro`, its analog answer entries for every bit plane
        in request order (the macro sampled once per plane; else None). With `check` (a
        :class:`~cimtile.models.stream_check.StreamCheck`) each chunk's expectations are
        handed to it as the chunk is read.

        Returns
        -------
        iterator of (numpy.ndarray, numpy.ndarray or None)
        """
        return self._chunks(X, frame_vectors, in_bits, adc_shift, macro, check)

    def _chunks(self, X, frame_vectors, in_bits, adc_shift, macro, check):
        cfg, rings = self.cfg, self.rings
        step = max(1, min(rings.in_half // self._beats_per_vector(),
                          rings.analog_half // in_bits if macro is not None else len(X)))
        start = 0
        for x in row_chunks(X, step):
            beats = self._beats(x, start, len(X), frame_vectors)
            answers = None
            if macro is not None:
                planes = bit_planes(x, in_bits)
                codes = macro.sample(planes.reshape(-1, cfg.tile.rows).astype(np.float32),
                                     adc_shift=adc_shift)
                answers = self._answers(planes.reshape(-1, cfg.tile.rows), codes, adc_shift)
                if check is not None:
                    check.expect(x, planes, codes.reshape(len(x), in_bits, -1))
            start += len(x)
            yield beats, answers

    def _beats_per_vector(self):
        cfg, width = self.cfg, self.layout.data_width
        return len(pack_vectors(np.zeros((1, cfg.tile.rows), np.int64), cfg.tile.in_bits,
                                width)) // (width // 8)

    def _beats(self, x, start, total, frame_vectors):
        """Input beat entries of the vectors `x`, the `start`-th onwards of `total`."""
        cfg, width = self.cfg, self.layout.data_width
        per_vector = self._beats_per_vector()
        keep = field_bytes(np.array([(1 << self.layout.keep_width) - 1]),
                           self.layout.keep_width)
        data = np.frombuffer(pack_vectors(x, cfg.tile.in_bits, width), np.uint8)
        data = data.reshape(-1, width // 8)
        index = np.arange(start, start + len(x))
        ends_frame = ((index + 1) % frame_vectors == 0) | (index == total - 1)
        last = np.zeros((len(x), per_vector), np.uint8)
        last[:, -1] = ends_frame
        return np.concatenate([data, np.repeat(keep, len(data), axis=0), last.reshape(-1, 1)],
                              axis=1)

    def _answers(self, planes, codes, adc_shift):
        """Analog answer entries: each plane's codes, its wordlines and the ADC range."""
        shift = field_bytes(np.array([adc_shift]), self.layout.shift_width)
        return np.concatenate([field_bytes(codes, self.cfg.tile.adc_bits),
                               np.packbits(planes, axis=1, bitorder="little"),
                               np.repeat(shift, len(planes), axis=0)], axis=1)

    @property
    def out_bytes(self):
        """Bytes of a recorded output entry."""
        return Layout.offsets(self.layout.out_fields)[1] // 8

    def recorded(self, records):
        """``(data, keep, last, cycles)`` of recorded output entries: the kept bytes of every
        beat in order, kept bytes per beat, TLAST and the cycle of every beat."""
        offsets, _ = Layout.offsets(self.layout.out_fields)
        entries = (np.concatenate(records) if records
                   else np.zeros((0, self.out_bytes), np.uint8))

        def field(name):
            at, width = offsets[name]
            return entries[:, at // 8:at // 8 + -(-width // 8)]

        keep = np.unpackbits(field("tkeep"), axis=1, bitorder="little")
        keep = keep[:, :self.layout.data_width // 8]
        data = field("tdata")[keep.astype(bool)]
        last = field("tlast")[:, 0].astype(bool)
        cycles = field("cycle").copy().view("<u4")[:, 0].astype(np.int64)
        return data, keep.sum(axis=1), last, cycles


class ResultFrames:
    """Result vectors and frame ends from the output recorder's entries, taken a drained
    half at a time: a vector may span two halves, and frames are counted across them.

    Parameters
    ----------
    entries : BulkEntries
    vectors : int
        Vectors expected; any beyond are dropped.
    writer : NpyRowWriter, optional
        Takes the vectors as they are complete, instead of keeping them.
    check : StreamCheck, optional
        Checks the vectors as they are complete.
    """

    def __init__(self, entries, vectors, writer=None, check=None):
        cfg, layout = entries.cfg, entries.layout
        self.entries, self.vectors, self.writer, self.check = entries, vectors, writer, check
        beat = layout.data_width // 8
        lane = -(-cfg.result_width // 8)
        self.vector_bytes = -(-cfg.tile.cols * lane // beat) * beat
        self.carry = np.zeros(0, np.uint8)
        self.kept = 0               # bytes received so far
        self.done = 0               # vectors completed so far
        self.vectors_ended = 0      # vectors in the frames ended so far
        self.Y, self.cycles, self.frames = [], [], []

    def add(self, entries):
        """Take one drained half of recorded entries."""
        cfg, layout = self.entries.cfg, self.entries.layout
        data, kept_per_beat, last, cycles = self.entries.recorded([entries])
        ends = np.flatnonzero(last)
        vectors_to_end = (self.kept + np.cumsum(kept_per_beat)[ends]) // self.vector_bytes
        self.frames.append(np.diff(vectors_to_end, prepend=self.vectors_ended))
        self.vectors_ended = int(vectors_to_end[-1]) if len(ends) else self.vectors_ended
        self.cycles.append(cycles[ends])
        self.kept += int(kept_per_beat.sum())
        data = np.concatenate([self.carry, data])
        whole = len(data) // self.vector_bytes * self.vector_bytes
        self.carry = data[whole:]
        Y = unpack_vectors(data[:whole].tobytes(), cfg.result_width, cfg.tile.cols,
                           layout.data_width)[:self.vectors - self.done]
        self.done += len(Y)
        if self.check is not None:
            self.check.take(Y)
        if self.writer is not None:
            self.writer.write(Y)
        else:
            self.Y.append(Y)

    def finish(self):
        """``Y`` (without a writer), ``frame_cycles`` and ``frame_vectors``."""
        def joined(parts):
            return np.concatenate(parts) if parts else np.zeros(0, np.int64)
        result = {"frame_cycles": joined(self.cycles).astype(np.int64),
                  "frame_vectors": joined(self.frames).astype(np.int64)}
        if self.writer is None:
            result["Y"] = (np.concatenate(self.Y) if self.Y
                           else np.zeros((0, self.entries.cfg.tile.cols), np.int64))
        return result


def analog_error_message(rows, in_bits, error):
    """What the analog queue's check found, from its ``bulk__error_*`` ports (`error`: their
    values by name, ``plane`` counted from the batch's first), naming the vector, the plane
    and both wordline patterns."""
    vector, bit = divmod(error["plane"], in_bits)
    digits = -(-rows // 4)
    return (f"analog queue: {ERROR_KINDS.get(error['kind'], error['kind'])} at cycle "
            f"{error['cycle']}, vector {vector} plane {bit}: wordlines "
            f"{error['wl']:0{digits}x} (adc_shift {error['shift']}), the answer assumed "
            f"{error['expected_wl']:0{digits}x} (adc_shift {error['expected_shift']})")


def cell_entries(layout, cols_phys, requests, pulse_width):
    """Cell queue entries (:attr:`Layout.cell_fields`) of `requests` (a
    :class:`cimtile.models.program.Requests` of an array `cols_phys` wide, pulses
    `pulse_width` cycles long), in order."""
    r = requests
    flags = np.where(r.pulse, CELL_PULSE | np.where(r.polarity == 1, CELL_RESET, 0), CELL_READ)
    width = np.where(r.pulse, pulse_width, 0)
    fields = [(flags, 3), (r.cell // cols_phys, layout.row_width),
              (r.cell % cols_phys, layout.col_width), (r.amplitude, AMPLITUDE_BITS),
              (width, WIDTH_BITS), (r.code, layout.adc_bits)]
    return np.concatenate([field_bytes(values, bits) for values, bits in fields], axis=1)
