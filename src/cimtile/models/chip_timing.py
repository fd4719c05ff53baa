"""The chip's cycles for one image: when the sequencer issues each instruction of a program
and when it completes, and the figures that follow (per-layer cycles, images per second,
each tile's utilisation).

The sequencer issues in order, at most one instruction a cycle, and waits only on data and
units: an instruction starts once the activations it reads are written, the activations
it overwrites are read and written, and its unit is free. A tile is busy from its MVM to
the end of the ACC that reads its result; the one post-processing unit takes one ACC at a
time, and the one mover one MOVE at a time. The chip sequencer
(:class:`cimtile.hdl.chip_sequencer.ChipSequencer`) issues exactly so. Durations, in
cycles (``beats(n, bits)``: interconnect cycles for n values):

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

__all__ = ["READ_LATENCY", "ChipTiming", "duration", "schedule", "timing_report"]

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
    :func:`cimtile.models.chip_golden.check_program`) for one image."""
    written = np.zeros(chip.act_elements, np.int64)    # when each activation is written
    read = np.zeros(chip.act_elements, np.int64)       # when its last reader is done
    tile_free = np.zeros(chip.chip.tiles, np.int64)
    result = np.zeros(chip.chip.tiles, np.int64)
    post_free = move_free = 0
    start = np.zeros(len(instructions), np.int64)
    end = np.zeros(len(instructions), np.int64)
    issue = 0
    for i, ins in enumerate(instructions):
        t = issue
        if ins.op in (Opcode.BARRIER, Opcode.HALT):
            t = max(t, int(end[:i].max(initial=0)))
        if ins.op in (Opcode.MVM, Opcode.MOVE):
            t = max(t, int(written[ins["src"]:ins["src"] + ins["length"]].max()))
        if ins.op in (Opcode.ACC, Opcode.MOVE):
            dst = slice(ins["dst"], ins["dst"] + ins["length"])
            t = max(t, int(read[dst].max()), int(written[dst].max()))
        if ins.op is Opcode.MVM:
            t = max(t, int(tile_free[ins["tile"]]))
        if ins.op is Opcode.ACC:
            tiles = slice(ins["tile"], ins["tile"] + ins["count"])
            t = max(t, int(result[tiles].max()), post_free)
        if ins.op is Opcode.MOVE:
            t = max(t, move_free)
        start[i], end[i] = t, t + duration(chip, ins)
        _occupy(ins, end[i], written, read, tile_free, result)
        if ins.op is Opcode.ACC:
            post_free = end[i]
        if ins.op is Opcode.MOVE:
            move_free = end[i]
        issue = t + 1
    return ChipTiming(start, end, int(end.max(initial=0)))


def _occupy(ins, done, written, read, tile_free, result):
    """Record what `ins`, done at cycle `done`, wrote, read and kept busy."""
    if ins.op in (Opcode.MVM, Opcode.MOVE):
        src = slice(ins["src"], ins["src"] + ins["length"])
        read[src] = np.maximum(read[src], done)
    if ins.op in (Opcode.ACC, Opcode.MOVE):
        written[ins["dst"]:ins["dst"] + ins["length"]] = done
    if ins.op is Opcode.MVM:
        result[ins["tile"]] = done
        tile_free[ins["tile"]] = np.iinfo(np.int64).max    # until an ACC reads the result
    if ins.op is Opcode.ACC:
        tile_free[ins["tile"]:ins["tile"] + ins["count"]] = done


def timing_report(chip, instructions, layers, timing):
    """The figures of one image's run: per layer its cycles (first issue to last
    completion; layers may overlap) and MVMs, the image's cycles, images per second at the
    chip's clock, each tile's utilisation (MVM cycles over the image's cycles), and the
    same figures with every instruction run one after another (one tile at a time).

    ``overlapped_cycles_per_image`` bounds the steady state of a sequencer that would start
    the next image while this one is still in flight (each image's activations in buffers
    of their own): the longest a tile is held per image (from its MVM to the end of the
    ACC that reads it) or the post-processing unit's busy cycles per image, whichever is
    larger. The program as compiled runs one image at a time.

    Parameters
    ----------
    layers : int array
        The layer each instruction serves (-1: none), as the program file records it.
    """
    clock = chip.clock_mhz * 1e6
    busy = np.zeros(chip.chip.tiles, np.int64)
    per_layer = []
    for l in sorted(set(int(v) for v in layers) - {-1}):
        mine = np.flatnonzero(np.asarray(layers) == l)
        mvms = [i for i in mine if instructions[i].op is Opcode.MVM]
        per_layer.append({"layer": l, "cycles": int(timing.end[mine].max()
                                                    - timing.start[mine].min()),
                          "start": int(timing.start[mine].min()), "mvms": len(mvms),
                          "tiles": sorted({instructions[i]["tile"] for i in mvms})})
    held, since = np.zeros(chip.chip.tiles, np.int64), {}
    for i, ins in enumerate(instructions):
        if ins.op is Opcode.MVM:
            busy[ins["tile"]] += timing.end[i] - timing.start[i]
            since[ins["tile"]] = timing.start[i]
        if ins.op is Opcode.ACC:
            for tile in range(ins["tile"], ins["tile"] + ins["count"]):
                held[tile] += timing.end[i] - since.pop(tile)
    post = sum(int(timing.end[i] - timing.start[i]) for i, ins in enumerate(instructions)
               if ins.op is Opcode.ACC)
    overlapped = max(int(held.max(initial=0)), post, 1)
    serial = int(sum(duration(chip, ins) for ins in instructions))
    cycles = max(timing.cycles, 1)
    return {"cycles_per_image": timing.cycles, "images_per_s": round(clock / cycles, 1),
            "clock_mhz": chip.clock_mhz, "layers": per_layer,
            "tile_utilisation": [round(float(b) / cycles, 4) for b in busy],
            "serial_cycles_per_image": serial,
            "serial_images_per_s": round(clock / max(serial, 1), 1),
            "speedup_over_serial": round(serial / cycles, 3),
            "overlapped_cycles_per_image": overlapped,
            "overlapped_images_per_s": round(clock / overlapped, 1)}
