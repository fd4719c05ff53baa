"""The chip's cycles for one run: when the sequencer issues each instruction of a program
and when it completes, and the figures that follow (per-layer cycles, images per second,
each tile's utilisation).

The sequencer issues in order, at most one instruction a cycle, and waits only on data and
units: an instruction starts once the activations it reads are written, the activations
it overwrites are read and written, and its unit is free. A tile takes one MVM at a time
and keeps ``chip.result_buffers`` results: a result fills a buffer from its MVM to the end
of the ACC that reads it, an ACC reads each of its tiles' oldest result once complete; the
one post-processing unit takes one ACC at a time, and the one mover one MOVE at a time.
The chip sequencer (:class:`cimtile.hdl.chip_sequencer.ChipSequencer`) issues exactly so.
Durations, in cycles (``beats(n, bits)``: interconnect cycles for n values):

- MVM: :data:`READ_LATENCY` and ``beats(length, out_bits)`` to deliver the inputs, then
  the tile's ``result_latency`` (:class:`~cimtile.spec.config_derived.Config`);
- ACC: ``count * beats(length, result_width)`` to bring the partial sums, one cycle of
  post-processing, ``beats(length, out_bits)`` to write the outputs;
- MOVE: ``beats(length, out_bits) + 1``; BARRIER and HALT wait for everything issued.

The interconnect and the activation memory's ports are not contended: every tile has its
own route (the interconnect RTL may add stalls this model does not count).
"""

from dataclasses import dataclass

import numpy as np

from cimtile.spec.chip_isa import Opcode

__all__ = ["READ_LATENCY", "ChipTiming", "duration", "schedule", "Timeline",
           "timing_report"]

#: Cycles from an MVM's first read address to its first input beat: the activation memory
#: reads synchronously (:class:`cimtile.hdl.chip_datapath.ChipDatapath`).
READ_LATENCY = 1


@dataclass(frozen=True)
class ChipTiming:
    """Cycle of issue and of completion of every instruction, and the image's cycles."""
    start: np.ndarray
    end: np.ndarray
    cycles: int


def duration(chip, ins):
    """Cycles instruction `ins` takes on `chip` once issued (module docstring)."""
    out_bits, tile = chip.chip.out_bits, chip.tile
    if ins.op is Opcode.MVM:
        return READ_LATENCY + chip.beats(ins["length"], out_bits) + tile.result_latency
    if ins.op is Opcode.ACC:
        return (ins["count"] * chip.beats(ins["length"], tile.result_width) + 1
                + chip.beats(ins["length"], out_bits))
    if ins.op is Opcode.MOVE:
        return chip.beats(ins["length"], out_bits) + 1
    return 0


def schedule(chip, instructions):
    """The :class:`ChipTiming` of `instructions` (checked by
    :func:`cimtile.models.chip_golden.check_program`) for one run."""
    timeline = Timeline(chip)
    start = np.zeros(len(instructions), np.int64)
    end = np.zeros(len(instructions), np.int64)
    for i, ins in enumerate(instructions):
        start[i], end[i] = timeline.issue(ins)
    return ChipTiming(start, end, int(end.max(initial=0)))


class Timeline:
    """The sequencer's state, an instruction at a time: when the next instruction in
    program order can issue (:meth:`earliest`) and when it issues and completes
    (:meth:`issue`), by the rules of the module docstring.

    A tile takes one MVM at a time, and keeps ``chip.result_buffers`` results for the
    ACCs: an MVM also waits for a free buffer (its tile's unread results, and the one an
    ACC in flight reads, fill them all until that ACC completes); an ACC waits for each
    of its tiles' oldest unread result.
    """

    def __init__(self, chip):
        self.chip = chip
        tiles = chip.chip.tiles
        self._written = np.zeros(chip.act_elements, np.int64)  # when each value is written
        self._read = np.zeros(chip.act_elements, np.int64)     # when its last reader is done
        self._tile_free = [0] * tiles           # when its MVM in flight completes
        self._unread = [[] for _ in range(tiles)]    # completions of its unread results
        # When the last ACC reading the tile completes: one ACC runs at a time, so it holds
        # at most one buffer beside the unread results.
        self._read_by = [0] * tiles
        self._post_free = self._move_free = self._next = self._all_done = 0

    def earliest(self, ins):
        """The cycle `ins` would issue at if it came next, or None if it never could (an
        MVM on a tile whose buffers hold unread results only, an ACC of a tile without
        one)."""
        t = self._next
        if ins.op in (Opcode.BARRIER, Opcode.HALT):
            t = max(t, self._all_done)
        if ins.op in (Opcode.MVM, Opcode.MOVE):
            t = max(t, int(self._written[ins["src"]:ins["src"] + ins["length"]].max()))
        if ins.op in (Opcode.ACC, Opcode.MOVE):
            dst = slice(ins["dst"], ins["dst"] + ins["length"])
            t = max(t, int(self._read[dst].max()), int(self._written[dst].max()))
        if ins.op is Opcode.MVM:
            tile, buffers = ins["tile"], self.chip.chip.result_buffers
            unread = len(self._unread[tile])
            if unread == buffers:
                return None
            t = max(t, self._tile_free[tile])
            if unread == buffers - 1:      # the last free buffer, once its ACC has read it
                t = max(t, self._read_by[tile])
        if ins.op is Opcode.ACC:
            for tile in range(ins["tile"], ins["tile"] + ins["count"]):
                if not self._unread[tile]:
                    return None
                t = max(t, self._unread[tile][0])
            t = max(t, self._post_free)
        if ins.op is Opcode.MOVE:
            t = max(t, self._move_free)
        return t

    def issue(self, ins):
        """Issue `ins` next: ``(issue cycle, completion cycle)``."""
        t = self.earliest(ins)
        if t is None:
            raise ValueError(f"{ins} would wait forever")
        done = t + duration(self.chip, ins)
        if ins.op in (Opcode.MVM, Opcode.MOVE):
            src = slice(ins["src"], ins["src"] + ins["length"])
            self._read[src] = np.maximum(self._read[src], done)
        if ins.op in (Opcode.ACC, Opcode.MOVE):
            self._written[ins["dst"]:ins["dst"] + ins["length"]] = done
        if ins.op is Opcode.MVM:
            self._tile_free[ins["tile"]] = done
            self._unread[ins["tile"]].append(done)
        if ins.op is Opcode.ACC:
            for tile in range(ins["tile"], ins["tile"] + ins["count"]):
                self._unread[tile].pop(0)
                self._read_by[tile] = done
            self._post_free = done
        if ins.op is Opcode.MOVE:
            self._move_free = done
        self._next = t + 1
        self._all_done = max(self._all_done, done)
        return t, done


def timing_report(chip, instructions, layers, timing, batch):
    """The figures of a program's runs: per layer of one image its cycles (first issue to
    last completion; layers may overlap) and MVMs, one image's cycles alone, the cycles of
    a run of a batch of images (`batch`, an :class:`~cimtile.models.chip_batch.ImageBatch`)
    and the images per second they give at the chip's clock, each tile's utilisation in
    that run (MVM cycles over the run's cycles), and the images per second with every
    instruction run one after another (one tile at a time, one image at a time).

    Parameters
    ----------
    instructions, timing
        One image's program and its :func:`schedule`.
    layers : int array
        The layer each instruction serves (-1: none), as the program file records it.
    """
    clock = chip.clock_mhz * 1e6
    per_layer = []
    for l in sorted(set(int(v) for v in layers) - {-1}):
        mine = np.flatnonzero(np.asarray(layers) == l)
        mvms = [i for i in mine if instructions[i].op is Opcode.MVM]
        per_layer.append({"layer": l, "cycles": int(timing.end[mine].max()
                                                    - timing.start[mine].min()),
                          "start": int(timing.start[mine].min()), "mvms": len(mvms),
                          "tiles": sorted({instructions[i]["tile"] for i in mvms})})
    busy = np.zeros(chip.chip.tiles, np.int64)
    run = batch.timing
    for i, ins in enumerate(batch.instructions):
        if ins.op is Opcode.MVM:
            busy[ins["tile"]] += run.end[i] - run.start[i]
    serial = int(sum(duration(chip, ins) for ins in instructions))
    per_image = max(run.cycles, 1) / batch.images
    return {"cycles_per_image": timing.cycles, "images_per_run": batch.images,
            "cycles_per_run": run.cycles, "images_per_s": round(clock / per_image, 1),
            "clock_mhz": chip.clock_mhz, "layers": per_layer,
            "tile_utilisation": [round(float(b) / max(run.cycles, 1), 4) for b in busy],
            "serial_cycles_per_image": serial,
            "serial_images_per_s": round(clock / max(serial, 1), 1),
            "speedup_over_serial": round(serial / per_image, 3)}
