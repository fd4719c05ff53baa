"""A compiled chip program: the sequencer's words and everything loaded with them.

Program file (``.npz``): ``words`` (uint64, one instruction each, :mod:`.chip_isa`);
``layers`` (int64, the network layer each instruction serves, -1 for none: for reports
only); ``weights`` (int64, tiles x rows x cols: the block each tile holds, zero-padded);
``seeds`` (uint64, each tile's analog-model seed); ``mult`` and ``bias`` (int64, the
post-processing memory); ``io`` (int64: input address, input length, output address,
output length in the activation memory); ``scales`` (float64: the input scale the host
quantizes images with, and the scale of the output scores).
"""

from dataclasses import dataclass

import numpy as np

from .chip_isa import decode_program
from .files import read_npz
from .mapping import DataError

__all__ = ["ChipProgram", "save_program", "load_program"]

_KINDS = {"words": "u", "layers": "i", "weights": "i", "seeds": "u", "mult": "i", "bias": "i",
          "io": "i", "scales": "f"}


@dataclass(frozen=True)
class ChipProgram:
    """A program and what it runs on (the file's arrays, module docstring).

    Members
    -------
    words, layers, weights, seeds, mult, bias : numpy.ndarray
    input_address, input_length, output_address, output_length : int
    x_scale, out_scale : float
    """
    words: np.ndarray
    layers: np.ndarray
    weights: np.ndarray
    seeds: np.ndarray
    mult: np.ndarray
    bias: np.ndarray
    input_address: int
    input_length: int
    output_address: int
    output_length: int
    x_scale: float
    out_scale: float

    @property
    def instructions(self):
        """The decoded instructions."""
        return decode_program(self.words)


def save_program(file, program):
    """Write `program` in the program file format."""
    io = [program.input_address, program.input_length, program.output_address,
          program.output_length]
    np.savez(file, words=np.asarray(program.words, np.uint64),
             layers=np.asarray(program.layers, np.int64),
             weights=np.asarray(program.weights, np.int64),
             seeds=np.asarray(program.seeds, np.uint64), mult=np.asarray(program.mult, np.int64),
             bias=np.asarray(program.bias, np.int64), io=np.asarray(io, np.int64),
             scales=np.asarray([program.x_scale, program.out_scale], np.float64))


def load_program(path):
    """Read a program file and decode its words.

    Raises
    ------
    InputError
        If the file cannot be read.
    DataError
        If a key is missing or unknown, an array has the wrong kind or length, or a word
        is not an instruction; the message names the file and the key.
    """
    arrays = read_npz(path, "program")
    for key in arrays:
        if key not in _KINDS:
            raise DataError(f"{path}: unknown key {key} in program (expected keys "
                            f"{', '.join(_KINDS)})")
    for key, kind in _KINDS.items():
        if key not in arrays:
            raise DataError(f"{path}: program lacks {key}")
        if arrays[key].dtype.kind != kind:
            raise DataError(f"{path}: {key} must be of kind {kind!r}, not {arrays[key].dtype}")
    a = arrays
    if a["weights"].ndim != 3:
        raise DataError(f"{path}: weights must be shaped (tiles, rows, cols), not "
                        f"{a['weights'].shape}")
    shapes = {"words": (len(a["words"]),), "layers": (len(a["words"]),),
              "seeds": (len(a["weights"]),), "mult": (len(a["mult"]),),
              "bias": (len(a["mult"]),), "io": (4,), "scales": (2,)}
    for key, shape in shapes.items():
        if a[key].shape != shape:
            raise DataError(f"{path}: {key} must be shaped {shape}, not {a[key].shape}")
    program = ChipProgram(a["words"], a["layers"], a["weights"], a["seeds"], a["mult"],
                          a["bias"], *(int(v) for v in a["io"]),
                          *(float(v) for v in a["scales"]))
    try:
        program.instructions
    except DataError as error:
        raise DataError(f"{path}: words: {error}") from None
    return program

