"""The golden chip model: a program run on the chip's tiles, post-processing unit and
activation memory, in integers, bit for bit as the chip must compute it.

Each MVM is a tile's golden result (:func:`cimtile.models.golden.golden_mvm`, with the
tile's own weights and seed), each ACC the post-processing golden function
(:func:`cimtile.models.post_process.post_process`): partial sums added with saturation,
scaled, biased, rectified and requantised. A batch of images runs the program once, every
instruction on all images at a time. Each MVM starts its tile's golden model from the
tile's seed, so a program with one MVM per tile, as the compiler emits, draws exactly as
the tile-by-tile flow (:func:`cimtile.flows.network_run.golden_layer_mvm`) does.
"""

import numpy as np

from cimtile.spec.chip_isa import FORMATS, Opcode
from cimtile.spec.mapping import DataError

from .golden import golden_mvm
from .post_process import PostProcessing, post_process

__all__ = ["ProgramError", "check_program", "golden_tiles", "run_chip"]


class ProgramError(DataError):
    """A program does not suit the chip; the message names the instruction and operand."""


def _check_range(where, name, first, length, limit, what):
    if first + length > limit:
        span = f"{first}" if length == 1 else f"{first}..{first + length - 1}"
        raise ProgramError(f"{where}: {name} {span} is beyond {what} ({limit})")


def _check_tiles(index, where, ins, chip, program, unread):
    """The tiles `ins` names exist and hold a block; an MVM's tile has a result buffer
    without an unread result, an ACC's tiles each an unread result. Updates `unread` (tile:
    the MVMs that left its unread results, oldest first)."""
    first, count = ins["tile"], ins["count"] if ins.op is Opcode.ACC else 1
    held = min(chip.chip.tiles, len(program.weights))
    _check_range(where, "tile", first, count, held, "the tiles holding a block")
    if ins.op is Opcode.MVM:
        mine = unread.setdefault(first, [])
        if len(mine) == chip.chip.result_buffers:
            which = ", ".join(str(i) for i in mine)
            raise ProgramError(f"{where}: tile {first}'s {len(mine)} result buffer"
                               f"{'s' * (len(mine) > 1)} (chip.result_buffers) still hold "
                               f"the results of instruction{'s' * (len(mine) > 1)} {which}, "
                               "which no ACC has read")
        mine.append(index)
        return
    for tile in range(first, first + count):
        if not unread.get(tile):
            raise ProgramError(f"{where}: tile {tile} holds no result (no MVM since its "
                               "last ACC)")
        unread[tile].pop(0)


def _check_move(where, ins):
    """A MOVE's source and destination are apart: the mover reads a beat while writing the
    one before (:class:`cimtile.hdl.chip_datapath.ChipDatapath`), so an overlapping copy
    would read what it has just written."""
    src, dst, n = ins["src"], ins["dst"], ins["length"]
    if src < dst + n and dst < src + n:
        raise ProgramError(f"{where}: src {src}..{src + n - 1} and dst {dst}..{dst + n - 1} "
                           "overlap")


def check_program(chip, program):
    """Check that `program` (a :class:`~cimtile.spec.chip_program.ChipProgram`) suits
    `chip` (a :class:`~cimtile.spec.chip_config.ChipConfig`), and return its instructions.

    Raises
    ------
    ProgramError
        If the program is longer than the instruction memory, has more parameters than
        the parameter memory, an operand exceeds the chip
        (tiles, activation memory, rows, cols, shift, the post-processing memory), a tile
        takes an MVM while its result buffers all hold unread results or an ACC reads a
        tile without one, a
        MOVE's source and destination overlap, the weights do not fit the tiles, or the
        program does not end with HALT.
    """
    rows, cols = chip.tile.tile.rows, chip.tile.tile.cols
    if program.weights.shape[1:] != (rows, cols) or len(program.weights) > chip.chip.tiles:
        raise ProgramError(f"the weights are shaped {program.weights.shape}; the chip holds "
                           f"at most {chip.chip.tiles} blocks of {rows} x {cols}")
    for name, bits in (("mult", chip.chip.mult_bits), ("bias", chip.chip.bias_bits)):
        values = getattr(program, name)
        bad = np.flatnonzero((values < -(1 << (bits - 1))) | (values >= 1 << (bits - 1)))
        if len(bad):
            raise ProgramError(f"{name}[{bad[0]}] must be in {-(1 << (bits - 1))}.."
                               f"{(1 << (bits - 1)) - 1} (chip.{name}_bits), not "
                               f"{values[bad[0]]}")
    if len(program.mult) > chip.chip.param_words:
        raise ProgramError(f"the program has {len(program.mult)} post-processing parameters; "
                           f"the chip's parameter memory holds {chip.chip.param_words} "
                           f"(chip.param_words)")
    memory = chip.act_elements
    for name, first, length in (("input", program.input_address, program.input_length),
                                ("output", program.output_address, program.output_length)):
        _check_range(f"the program's {name}", "address", first, length, memory,
                     "the activation memory")
    instructions = program.instructions
    if len(instructions) > chip.chip.program_words:
        raise ProgramError(f"the program has {len(instructions)} instructions; the chip's "
                           f"instruction memory holds {chip.chip.program_words} "
                           f"(chip.program_words)")
    unread = {}
    for index, ins in enumerate(instructions):
        where = f"instruction {index} ({ins.op.name})"
        if ins.op in (Opcode.MVM, Opcode.ACC):
            _check_tiles(index, where, ins, chip, program, unread)
        limit = {Opcode.MVM: (rows, "rows"), Opcode.ACC: (cols, "cols")}.get(ins.op)
        if limit and ins["length"] > limit[0]:
            raise ProgramError(f"{where}: length must be in 1..{limit[0]} (the tile's "
                               f"{limit[1]}), not {ins['length']}")
        if ins.op is Opcode.ACC:
            _check_range(where, "param", ins["param"], ins["length"], len(program.mult),
                         "the post-processing memory")
            if ins["shift"] > chip.chip.shift_max:
                raise ProgramError(f"{where}: shift must be in 0..{chip.chip.shift_max} "
                                   f"(chip.shift_max), not {ins['shift']}")
        for name in ("src", "dst"):
            if name in (f.name for f in FORMATS[ins.op]):
                _check_range(where, name, ins[name], ins["length"], memory,
                             "the activation memory")
        if ins.op is Opcode.MOVE:
            _check_move(where, ins)
    if not instructions or instructions[-1].op is not Opcode.HALT:
        raise ProgramError("the program must end with HALT")
    return instructions


def golden_tiles(chip, program):
    """``mvm(tile, X) -> Y`` on the golden model of each tile, with its block and its seed
    (the weights' ideal levels in its cells)."""
    def mvm(tile, X):
        return golden_mvm(chip.tile, program.weights[tile], X, int(program.seeds[tile]))
    return mvm


def run_chip(chip, program, X, mvm=None):
    """The outputs of `program` on `chip` for the integer images `X`.

    Parameters
    ----------
    chip : ChipConfig
    program : ChipProgram
    X : int array (N, program.input_length)
        The quantized images, in the activations' signed range (out_bits).
    mvm : callable ``(tile, X) -> Y``, optional
        A tile's integer results (N, cols) for its inputs X (N, rows); by default
        :func:`golden_tiles`.

    Returns
    -------
    (outputs, memory)
        The int64 outputs (N, output_length) and the activation memory after the program
        (N, act_elements).

    Raises
    ------
    ProgramError
        If the program does not suit the chip (:func:`check_program`) or `X` the program.
    """
    instructions = check_program(chip, program)
    X = np.asarray(X)
    bits = chip.chip.out_bits
    if X.dtype.kind not in "iu" or X.shape != (len(X), program.input_length):
        raise ProgramError(f"the images must be integers shaped (N, {program.input_length}), "
                           f"not {X.dtype} {X.shape}")
    if X.size and (X.min() < -(1 << (bits - 1)) or X.max() >= 1 << (bits - 1)):
        raise ProgramError(f"the images must be {bits}-bit signed integers (chip.out_bits); "
                           f"found {X.min()}..{X.max()}")
    mvm = mvm or golden_tiles(chip, program)
    memory = np.zeros((len(X), chip.act_elements), np.int64)
    memory[:, program.input_address:program.input_address + program.input_length] = X
    results = {}        # tile: its unread results, oldest first
    rows = chip.tile.tile.rows
    for ins in instructions:
        if ins.op is Opcode.MVM:
            inputs = np.zeros((len(X), rows), np.int64)
            inputs[:, :ins["length"]] = memory[:, ins["src"]:ins["src"] + ins["length"]]
            results.setdefault(ins["tile"], []).append(
                np.asarray(mvm(ins["tile"], inputs), np.int64))
        elif ins.op is Opcode.ACC:
            _accumulate(chip, program, ins, results, memory)
        elif ins.op is Opcode.MOVE:
            memory[:, ins["dst"]:ins["dst"] + ins["length"]] = \
                memory[:, ins["src"]:ins["src"] + ins["length"]].copy()
    out = program.output_address
    return memory[:, out:out + program.output_length].copy(), memory


def _accumulate(chip, program, ins, results, memory):
    n, first, param = ins["length"], ins["tile"], ins["param"]
    partials = np.stack([results[t].pop(0)[:, :n] for t in range(first, first + ins["count"])])
    settings = PostProcessing(tuple(program.mult[param:param + n]),
                              tuple(program.bias[param:param + n]), ins["shift"],
                              bool(ins["relu"]))
    memory[:, ins["dst"]:ins["dst"] + n] = post_process(
        partials, settings, acc_bits=chip.chip.acc_bits, out_bits=chip.chip.out_bits)
