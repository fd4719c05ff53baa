"""Several images in one run of the chip: a one-image program unrolled over a batch of
images, ordered so that the images overlap.

The sequencer issues in order and waits only on data and units, so images overlap when
their instructions interleave: the first layer's tiles take the next image while the later
layers still work on this one. Each image of a batch gets its own copy of every activation
the program touches (its region: the program's addresses, offset by the image's index times
the region's size), so no image waits on another's data; the post-processing parameters are
shared. The order is chosen greedily with the timing model
(:class:`~cimtile.models.chip_timing.Timeline`): next comes, of each image's next
instruction, the one that would issue first (the earlier image on a tie). An image never
passes an earlier one in the program: each tile takes its images' MVMs, and the ACCs read
their results, in image order, so every tile's analog model sees the vectors in the order
of the images, as the golden chip model draws them
(:func:`~cimtile.models.chip_golden.run_chip` on all the images at once).
"""

from dataclasses import dataclass

import numpy as np

from cimtile.spec.chip_isa import FORMATS, Instruction, Opcode

from .chip_timing import ChipTiming, Timeline

__all__ = ["ImageBatch", "region_size", "batch_capacity", "image_batch"]


@dataclass(frozen=True)
class ImageBatch:
    """One run of a program over several images.

    Members
    -------
    instructions : list of Instruction
        What the sequencer runs, ending with HALT.
    inputs, outputs : int array
        Activation address of each image's input and output.
    timing : ChipTiming
        The run's cycles (:func:`~cimtile.models.chip_timing.schedule`).
    """
    instructions: list
    inputs: np.ndarray
    outputs: np.ndarray
    timing: ChipTiming

    @property
    def images(self):
        return len(self.inputs)


def region_size(program):
    """Activations one image takes: up to the last the program reads or writes."""
    ends = [program.input_address + program.input_length,
            program.output_address + program.output_length]
    for ins in program.instructions:
        ends += [ins[name] + ins["length"] for name in ("src", "dst")
                 if any(f.name == name for f in FORMATS[ins.op])]
    return max(ends)


def batch_capacity(chip, program):
    """The most images one run of `program` (checked by
    :func:`~cimtile.models.chip_golden.check_program`) holds: each image's region fits the
    activation memory and its instructions the instruction memory."""
    body = len(program.instructions) - 1
    by_memory = chip.act_elements // region_size(program)
    by_program = (chip.chip.program_words - 1) // body if body else by_memory
    return max(1, min(by_memory, by_program))


def _relocated(ins, offset):
    """`ins` with its activation addresses moved by `offset`."""
    operands = {f.name: ins[f.name] for f in FORMATS[ins.op]}
    for name in ("src", "dst"):
        if name in operands:
            operands[name] += offset
    return Instruction.make(ins.op, **operands)


def image_batch(chip, program, images=None):
    """The :class:`ImageBatch` of `program` (checked by
    :func:`~cimtile.models.chip_golden.check_program`) over `images` images, at most
    (and by default) :func:`batch_capacity`.

    A program that gives a tile more than one MVM runs its images one after another: its
    results would otherwise reach the ACCs out of order.

    Raises
    ------
    ValueError
        If `images` is not in 1..batch_capacity.
    """
    capacity = batch_capacity(chip, program)
    images = capacity if images is None else images
    if not 1 <= images <= capacity:
        raise ValueError(f"images must be in 1..{capacity}, not {images}")
    body = program.instructions[:-1]
    size = region_size(program)
    copies = [[_relocated(ins, image * size) for ins in body] for image in range(images)]
    mvm_tiles = [ins["tile"] for ins in body if ins.op is Opcode.MVM]
    overlap = len(set(mvm_tiles)) == len(mvm_tiles)
    timeline, order, issued = Timeline(chip), [], []
    position = [0] * images
    while len(order) < images * len(body):
        best = None
        for image in range(images):
            at = position[image]
            if at == len(body) or (image and position[image - 1] <= at):
                continue       # done, or would pass the image before it
            cycle = timeline.earliest(copies[image][at])
            if cycle is not None and (best is None or cycle < best[0]):
                best = (cycle, image)
            if not overlap:
                break
        image = best[1]
        order.append(copies[image][position[image]])
        issued.append(timeline.issue(order[-1]))
        position[image] += 1
    order.append(Instruction.make(Opcode.HALT))
    issued.append(timeline.issue(order[-1]))
    start, end = (np.asarray(column, np.int64) for column in zip(*issued))
    offsets = np.arange(images) * size
    return ImageBatch(order, program.input_address + offsets,
                      program.output_address + offsets,
                      ChipTiming(start, end, int(end.max())))
