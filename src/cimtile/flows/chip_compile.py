"""The chip compiler: a network's layers mapped onto the chip's tiles, and the program that
runs a forward pass on them without the host.

The network is quantized as the tile-by-tile flow quantizes it
(:func:`cimtile.flows.quantizer.quantize_graph`, per layer or per output, input scales
calibrated on held-out data), at the chip's activation width (``chip.out_bits``). Each layer is split into tile
blocks as that flow splits it (:func:`cimtile.flows.network.split`), and block i of layer l
goes to the next free tile with the flow's seed for it
(:func:`cimtile.flows.network_run.tile_seed`), so the row blocks of a column block sit on
consecutive tiles. Every weight stays resident: a network with more blocks than tiles is
refused.

The activations live in two buffers used in turn: the network's input and every
even-numbered layer's output from address 0, the odd-numbered layers' outputs after the
largest of those. Per layer the program issues every block's MVM, then one ACC per column
block, whose post-processing requantises in integers what the float flow requantises in
float:

- the flow's next inputs are ``clip(round_half_even(relu(acc * s + b) / x_next))`` with
  ``s = x_scale * w_scale`` in float;
- the chip's are ``saturate(relu((acc * mult + bias + 2**(shift-1)) >> shift))``, with
  ``mult = round(s / x_next * 2**shift)`` and ``bias = round(b / x_next * 2**shift)``, the
  largest shift (up to ``chip.shift_max``) at which both fit ``chip.mult_bits`` and
  ``chip.bias_bits``: the multiplier is rounded, ties round half up, and the accumulator
  saturates at ``chip.acc_bits``. The last layer's outputs are requantised too, to
  ``out_bits`` with the scale of its largest float output on the calibration set (before
  a final Softmax, which the host applies).
"""

import numpy as np

from cimtile.spec.chip_isa import Instruction, Opcode, encode_program
from cimtile.spec.chip_program import ChipProgram
from cimtile.spec.mapping import DataError

from .graph_ops import Dense, Relu, Softmax
from .network import split
from .network_run import tile_seed
from .quantizer import quantize_graph

__all__ = ["FitError", "dense_layers", "requantisation", "compile_network"]


class FitError(DataError):
    """A network does not fit the chip or cannot run on it; the message says what."""


def dense_layers(graph):
    """``[(Dense, relu)]`` of a graph made of dense layers, each followed by at most a ReLU;
    a Softmax over the last layer's outputs may end it (the host's: it keeps the largest
    output the largest, so the chip's outputs are the scores before it).

    Raises
    ------
    FitError
        If the graph has another operation, or a ReLU that does not follow a dense layer.
    """
    layers = []
    for index, node in enumerate(graph.nodes):
        follows = bool(layers) and node.inputs == (layers[-1][2],)
        if isinstance(node.op, Dense):
            layers.append([node.op, False, node.output])
        elif isinstance(node.op, Relu) and follows and not layers[-1][1]:
            layers[-1][1:] = [True, node.output]
        elif (isinstance(node.op, Softmax) and follows and node.op.axis in (1, -1)
              and index == len(graph.nodes) - 1):
            continue
        else:
            raise FitError(f"node {node.name} ({node.kind}) cannot run on the chip: the "
                           "compiler maps dense layers, each followed by at most a ReLU")
    return [(op, relu) for op, relu, _ in layers]


def requantisation(scale, bias, chip):
    """``(mult, bias, shift)`` of the integer requantisation ``acc * scale + bias`` (scale
    a float or one per output, bias one per output), at the largest shift that fits.

    Raises
    ------
    FitError
        If not even shift 0 fits the multiplier or the bias in the chip's widths, or a
        non-zero scale rounds to a zero multiplier at the shift that fits.
    """
    c = chip.chip
    scale = np.broadcast_to(np.asarray(scale, np.float64), np.shape(bias))
    for shift in range(c.shift_max, -1, -1):
        mult = np.round(scale * 2.0 ** shift)
        offset = np.round(np.asarray(bias, np.float64) * 2.0 ** shift)
        if (np.abs(mult).max() < 2 ** (c.mult_bits - 1)
                and np.abs(offset).max() < 2 ** (c.bias_bits - 1)):
            lost = (mult == 0) & (scale != 0)
            if lost.any():
                raise FitError(f"a scale of {abs(scale[lost][0]):.4g} rounds to a zero "
                               f"multiplier at shift {shift} (chip.shift_max "
                               f"{c.shift_max}, chip.mult_bits {c.mult_bits}, "
                               f"chip.bias_bits {c.bias_bits})")
            return mult.astype(np.int64), offset.astype(np.int64), shift
    raise FitError(f"a scale of {np.abs(scale).max():.4g} or a bias of "
                   f"{np.abs(bias).max():.4g} does not fit chip.mult_bits ({c.mult_bits}) "
                   f"and chip.bias_bits ({c.bias_bits})")


def _check_fit(chip, blocks, sizes):
    """Refuse a network whose blocks outnumber the tiles or whose activations overflow."""
    need = sum(len(b) for b in blocks)
    if need > chip.chip.tiles:
        per_layer = ", ".join(f"layer {l}: {len(b)}" for l, b in enumerate(blocks))
        raise FitError(f"the network needs {need} tiles ({per_layer} blocks of "
                       f"{chip.tile.tile.rows} x {chip.tile.tile.cols}) but chip.tiles is "
                       f"{chip.chip.tiles}")
    elements = max(sizes[0::2]) + max(sizes[1::2], default=0)
    if elements > chip.act_elements:
        raise FitError(f"the activations need {elements * chip.element_bytes} bytes "
                       f"({max(sizes[0::2])} + {max(sizes[1::2], default=0)} values of "
                       f"{chip.element_bytes} byte{'s' * (chip.element_bytes > 1)}, two "
                       f"buffers in turn) but chip.act_memory_bytes is "
                       f"{chip.chip.act_memory_bytes}")
    return max(sizes[0::2])


def _layer_program(blocks, tiles, src, dst, param, shift, relu):
    """One layer's instructions: every block's MVM, then one ACC per column block."""
    program = [Instruction.make(Opcode.MVM, tile=t, src=src + b.row0, length=b.row1 - b.row0)
               for t, b in zip(tiles, blocks)]
    starts = [i for i, b in enumerate(blocks) if b.row0 == 0]
    for i, j in zip(starts, starts[1:] + [len(blocks)]):
        b = blocks[i]
        program.append(Instruction.make(Opcode.ACC, tile=tiles[i], count=j - i,
                                        dst=dst + b.col0, length=b.col1 - b.col0,
                                        param=param + b.col0, shift=shift, relu=relu))
    return program


def compile_network(graph, chip, x_cal, seed=0, per_channel=False):
    """The :class:`~cimtile.spec.chip_program.ChipProgram` of `graph` on `chip`, quantized
    and calibrated on `x_cal` (module docstring); `seed` derives each tile's seed as the
    tile-by-tile flow does; `per_channel` gives every output of a layer its own weight
    scale, and so its own multiplier.

    Raises
    ------
    FitError
        If the graph has an operation the chip does not run, the blocks outnumber the
        tiles, the activations overflow the activation memory or a scale does not fit the
        post-processing widths.
    """
    layers = dense_layers(graph)
    qnet = quantize_graph(graph, x_cal, chip.tile.at(in_bits=chip.chip.out_bits),
                          per_channel)
    blocks = [split(q.Wq, chip.tile) for q in qnet]
    sizes = [graph.inputs] + [op.W.shape[1] for op, _ in layers]
    odd_base = _check_fit(chip, blocks, sizes)
    last, relu = layers[-1]
    scores = last.with_bias(graph.float_forward(x_cal)[1][-1] @ last.W)
    scores = np.maximum(scores, 0) if relu else scores
    out_scale = max(float(np.abs(scores).max()), np.finfo(float).tiny) \
        / (2 ** (chip.chip.out_bits - 1) - 1)
    next_scales = [q.x_scale for q in qnet][1:] + [out_scale]
    instructions, tags, mult, bias = [], [], [], []
    tile = 0
    for l, ((op, relu), q, layer_blocks) in enumerate(zip(layers, qnet, blocks)):
        try:
            m, b, shift = requantisation(q.x_scale * q.w_scale / next_scales[l],
                                         op.b / next_scales[l], chip)
        except FitError as error:
            raise FitError(f"layer {l}: {error}") from None
        tiles = list(range(tile, tile + len(layer_blocks)))
        src, dst = (0, odd_base) if l % 2 == 0 else (odd_base, 0)
        code = _layer_program(layer_blocks, tiles, src, dst, len(mult), shift, relu)
        instructions += code
        tags += [l] * len(code)
        mult += list(m)
        bias += list(b)
        tile += len(layer_blocks)
    instructions.append(Instruction.make(Opcode.HALT))
    tags.append(-1)
    weights = np.stack([b.W for layer_blocks in blocks for b in layer_blocks])
    seeds = [tile_seed(seed, l, i) for l, layer_blocks in enumerate(blocks)
             for i in range(len(layer_blocks))]
    output = odd_base if len(layers) % 2 else 0
    return ChipProgram(np.asarray(encode_program(instructions), np.uint64),
                       np.asarray(tags, np.int64), weights, np.asarray(seeds, np.uint64),
                       np.asarray(mult, np.int64), np.asarray(bias, np.int64), 0,
                       graph.inputs, output, sizes[-1], qnet[0].x_scale,
                       out_scale)

