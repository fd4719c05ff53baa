"""The golden chip model on compiled networks: bit for bit the tile-by-tile flow's golden
tile results passed through the integer post-processing, bit for bit an independent integer
reference, close to the float requantisation; its cycle schedule; bad programs refused."""

import dataclasses
import re

import numpy as np
import pytest

from cimtile.flows.chip_compile import compile_network
from cimtile.flows.chip_report import chip_images
from cimtile.flows.digits import digits_split, train_mlp
from cimtile.flows.graph import mlp_graph
from cimtile.flows.network import Layer, accuracy
from cimtile.flows.network_run import golden_layer_mvm, program_tiles
from cimtile.flows.quantizer import quantize_graph, quantize_inputs
from cimtile.models.chip_batch import ImageBatch, batch_capacity, image_batch, region_size
from cimtile.models.chip_golden import ProgramError, run_chip
from cimtile.models.chip_timing import duration, schedule, timing_report
from cimtile.spec.chip_config import CHIP_DEMO_CONFIG, load_chip_config
from cimtile.spec.chip_isa import Instruction, Opcode, encode_program

from test_chip_config import CHIP, write


@pytest.fixture(scope="module")
def digits():
    (x_train, y_train), (x_cal, _), (x_test, y_test) = digits_split(0)
    graph = mlp_graph(train_mlp(x_train, y_train, 0))
    chip = load_chip_config(CHIP_DEMO_CONFIG)
    program = compile_network(graph, chip, x_cal)
    return graph, chip, program, x_cal, x_test, y_test


def layer_settings(program, l):
    """Layer l's (mult, bias, shift, relu), from its first ACC and the parameter memory."""
    acc = next(ins for ins, tag in zip(program.instructions, program.layers)
               if tag == l and ins.op is Opcode.ACC)
    return acc["shift"], bool(acc["relu"]), acc["param"]


def requantised(acc, program, l, n_out, out_bits):
    """The chip's requantisation written out: saturate(relu((acc m + b + r) >> s))."""
    shift, relu, param = layer_settings(program, l)
    m, b = program.mult[param:param + n_out], program.bias[param:param + n_out]
    y = (acc * m + b + ((1 << shift) >> 1)) >> shift
    y = np.maximum(y, 0) if relu else y
    return np.clip(y, -(1 << (out_bits - 1)), (1 << (out_bits - 1)) - 1)


def test_digits_equal_the_tile_by_tile_golden_results(digits):
    graph, chip, program, x_cal, x_test, _ = digits
    cfg = chip.tile
    qnet = quantize_graph(graph, x_cal, cfg)
    tiles = program_tiles(cfg, qnet, 0, write_verify=False)
    layer_mvm = golden_layer_mvm(tiles, cfg)
    X = chip_images(program, chip, x_test)
    assert np.array_equal(X, quantize_inputs(x_test, qnet[0].x_scale, cfg.tile.in_bits))
    scores, memory = run_chip(chip, program, X)
    # The hidden layer sits in the second buffer, after the 64 inputs.
    hidden = memory[:, 64:118]
    assert np.array_equal(hidden, requantised(layer_mvm(0, X), program, 0, 54, 8))
    assert np.array_equal(scores, requantised(layer_mvm(1, hidden), program, 1, 10, 8))


def test_digits_requantisation_is_close_to_the_float_flow(digits):
    graph, chip, program, x_cal, x_test, y_test = digits
    qnet = quantize_graph(graph, x_cal, chip.tile)
    quantized, integers = qnet.forward(x_test, chip.tile, qnet.exact_mvm)
    q0 = qnet[0]
    float_hidden = quantize_inputs(np.maximum(integers[0] * (q0.x_scale * q0.w_scale)
                                              + graph.layers[0].b, 0), qnet[1].x_scale, 8)
    scores, memory = run_chip(chip, program, chip_images(program, chip, x_test),
                              lambda t, x: x @ program.weights[t])
    differ = memory[:, 64:118] - float_hidden
    # The rounded multiplier and the ties rounded half up move a few values by one step.
    assert np.abs(differ).max() <= 1 and np.count_nonzero(differ) <= differ.size // 1000
    assert accuracy(scores, y_test) == accuracy(quantized, y_test)


@pytest.mark.parametrize("per_channel", [False, True])
def test_small_network_equals_an_independent_integer_reference(tmp_path, per_channel):
    rng = np.random.default_rng(5)
    layers = [Layer(rng.normal(size=(20, 7)), rng.normal(size=7)),
              Layer(rng.normal(size=(7, 5)), rng.normal(size=5))]
    graph = mlp_graph(layers)
    chip = load_chip_config(write(tmp_path))
    x_cal, x = rng.normal(size=(50, 20)), rng.normal(size=(40, 20))
    program = compile_network(graph, chip, x_cal, per_channel=per_channel)
    # One multiplier per layer, or one per output.
    assert len(set(program.mult[:7])) == (7 if per_channel else 1)
    # Lossless ideal tiles: the golden model is X @ W, rows 12 split 20 inputs in two.
    assert chip.tile.lossless and len(program.weights) == 2 * 3 + 1 * 2
    qnet = quantize_graph(graph, x_cal, chip.tile, per_channel)
    X = quantize_inputs(x, qnet[0].x_scale, 4)
    hidden = requantised(X @ qnet[0].Wq, program, 0, 7, 4)
    scores = requantised(hidden @ qnet[1].Wq, program, 1, 5, 4)
    got, _ = run_chip(chip, program, chip_images(program, chip, x))
    assert np.array_equal(got, scores) and np.abs(hidden).max() > 0


def test_schedule_runs_independent_tiles_in_parallel(tmp_path):
    chip = load_chip_config(write(tmp_path))
    mvm = [Instruction.make(Opcode.MVM, tile=t, src=12 * t, length=12) for t in (0, 1)]
    acc = Instruction.make(Opcode.ACC, tile=0, count=2, dst=30, length=3, param=0, shift=0,
                           relu=0)
    again = Instruction.make(Opcode.MVM, tile=0, src=30, length=3)
    program = mvm + [acc, again, Instruction.make(Opcode.HALT)]
    timing = schedule(chip, program)
    t_mvm = 1 + chip.beats(12, 4) + chip.tile.result_latency   # the memory's read, the beats
    t_acc = 2 * chip.beats(3, chip.tile.result_width) + 1 + chip.beats(3, 4)
    assert duration(chip, mvm[0]) == t_mvm and duration(chip, acc) == t_acc
    # The second MVM starts a cycle after the first, on its own tile; the ACC waits for
    # both results; the next MVM waits for its inputs, the ACC's outputs.
    assert timing.start.tolist() == [0, 1, t_mvm + 1, t_mvm + 1 + t_acc,
                                     2 * t_mvm + 1 + t_acc]
    assert timing.cycles == 2 * t_mvm + 1 + t_acc
    one = ImageBatch(program, np.array([0]), np.array([30]), timing)
    report = timing_report(chip, program, np.array([0, 0, 0, 1, -1]), timing, one)
    assert report["layers"][0] == {"layer": 0, "cycles": t_mvm + 1 + t_acc, "start": 0,
                                   "mvms": 2, "tiles": [0, 1]}
    assert report["serial_cycles_per_image"] == 3 * t_mvm + t_acc
    assert report["speedup_over_serial"] == round((3 * t_mvm + t_acc) / timing.cycles, 3)
    assert report["tile_utilisation"][:2] == [round(2 * t_mvm / timing.cycles, 4),
                                              round(t_mvm / timing.cycles, 4)]
    # An MVM of tile 0 on other inputs issues as the ACC starts reading tile 0's result
    # into the post-processing unit, with two result buffers; with one, once it has read.
    other = mvm + [acc, Instruction.make(Opcode.MVM, tile=0, src=40, length=3),
                   Instruction.make(Opcode.HALT)]
    one_buffer = dataclasses.replace(chip, chip=dataclasses.replace(chip.chip,
                                                                    result_buffers=1))
    assert schedule(chip, other).start[3] == t_mvm + 2
    assert schedule(one_buffer, other).start[3] == t_mvm + 1 + t_acc


def figures(chip, program):
    instructions = program.instructions
    batch = image_batch(chip, program)
    return timing_report(chip, instructions, program.layers, schedule(chip, instructions),
                         batch)


def test_digits_figures(digits):
    graph, chip, program, x_cal, *_ = digits
    report = figures(chip, program)
    # Layer 0's eight MVMs run at once, then its four ACCs take turns on the one
    # post-processing unit, then layer 1's two MVMs and their ACC.
    assert [layer["mvms"] for layer in report["layers"]] == [8, 2]
    assert report["speedup_over_serial"] > 2.5
    # On four tiles of 32 x 64 each layer is two row blocks at once, then one ACC bringing
    # both blocks' 23-bit partial sums over the interconnect: the cycles by hand.
    four = load_chip_config(CHIP_DEMO_CONFIG.with_name("chip_digits4.toml"))
    report = figures(four, compile_network(graph, four, x_cal))
    assert [layer["mvms"] for layer in report["layers"]] == [2, 2]
    width, latency = four.chip.interconnect_width, four.tile.result_latency
    beats = lambda n, bits: -(-n * bits // width)                     # noqa: E731
    acc = lambda n: 2 * beats(n, four.tile.result_width) + 1 + beats(n, 8)   # noqa: E731
    # An MVM's inputs leave the memory a cycle after its first read.
    layer_0 = 1 + 1 + beats(32, 8) + latency    # the second MVM issues a cycle after the first
    layer_1 = 1 + max(beats(32, 8), 1 + beats(22, 8)) + latency
    assert report["cycles_per_image"] == layer_0 + acc(54) + layer_1 + acc(10)
    # Images overlap in runs of as many as the memories hold: the first layer's tiles
    # take the next image while the ACCs read this one's results.
    assert report["images_per_run"] == 17
    assert report["speedup_over_serial"] >= 2.5
    assert report["images_per_s"] >= 2.5 * report["serial_images_per_s"]


@pytest.mark.parametrize("edit, message", [
    (lambda p: [p[0], p[0], p[0]] + p[1:], "instruction 2 (MVM): tile 0's 2 result buffers "
     "(chip.result_buffers) still hold the results of instructions 0, 1, which no ACC has "
     "read"),
    (lambda p: p[1:], "instruction 5 (ACC): tile 0 holds no result (no MVM since its last "
     "ACC)"),
    (lambda p: [Instruction.make(Opcode.MVM, tile=9, src=0, length=12)] + p[2:], "instruction "
     "0 (MVM): tile 9 is beyond the tiles holding a block (6)"),
    (lambda p: [Instruction.make(Opcode.MOVE, src=60, dst=0, length=5)] + p, "instruction 0 "
     "(MOVE): src 60..64 is beyond the activation memory (64)"),
    (lambda p: [Instruction.make(Opcode.MOVE, src=10, dst=14, length=5)] + p, "instruction 0 "
     "(MOVE): src 10..14 and dst 14..18 overlap"),
    (lambda p: p[:-1], "the program must end with HALT"),
    (lambda p: [Instruction.make(Opcode.MVM, tile=0, src=0, length=13)] + p[1:],
     "instruction 0 (MVM): length must be in 1..12 (the tile's rows), not 13"),
    (lambda p: [Instruction.make(Opcode.BARRIER)] * 256 + p, "the program has 266 "
     "instructions; the chip's instruction memory holds 256 (chip.program_words)"),
])
def test_bad_programs_are_refused(tmp_path, edit, message):
    chip = load_chip_config(write(tmp_path))
    rng = np.random.default_rng(0)
    graph = mlp_graph([Layer(rng.normal(size=(20, 7)), rng.normal(size=7))])
    program = compile_network(graph, chip, rng.normal(size=(10, 20)))
    words = np.asarray(encode_program(edit(program.instructions)), np.uint64)
    bad = dataclasses.replace(program, words=words, layers=np.zeros(len(words), np.int64))
    with pytest.raises(ProgramError, match=f"^{re.escape(message)}$"):
        run_chip(chip, bad, np.zeros((1, 20), np.int64))


def test_parameters_beyond_the_parameter_memory_are_refused(tmp_path):
    chip = load_chip_config(write(tmp_path, CHIP + "param_words = 6\n"))
    rng = np.random.default_rng(0)
    graph = mlp_graph([Layer(rng.normal(size=(20, 7)), rng.normal(size=7))])
    program = compile_network(graph, chip, rng.normal(size=(10, 20)))
    with pytest.raises(ProgramError, match="^the program has 7 post-processing parameters; "
                       r"the chip's parameter memory holds 6 \(chip.param_words\)$"):
        run_chip(chip, program, np.zeros((1, 20), np.int64))


def test_move_and_barrier(tmp_path):
    chip = load_chip_config(write(tmp_path))
    rng = np.random.default_rng(1)
    graph = mlp_graph([Layer(rng.normal(size=(20, 7)), rng.normal(size=7))])
    program = compile_network(graph, chip, rng.normal(size=(10, 20)))
    x = rng.normal(size=(6, 20))
    scores, _ = run_chip(chip, program, chip_images(program, chip, x))
    extra = [Instruction.make(Opcode.BARRIER),
             Instruction.make(Opcode.MOVE, src=program.output_address, dst=40, length=7)]
    instructions = program.instructions[:-1] + extra + program.instructions[-1:]
    moved = dataclasses.replace(program, words=np.asarray(encode_program(instructions),
                                                          np.uint64),
                                layers=np.zeros(len(instructions), np.int64),
                                output_address=40)
    got, memory = run_chip(chip, moved, chip_images(program, chip, x))
    assert np.array_equal(got, scores)
    assert np.array_equal(memory[:, program.output_address:program.output_address + 7], scores)
    timing = schedule(chip, instructions)
    barrier = len(instructions) - 3
    assert timing.start[barrier] == timing.end[:barrier].max() == timing.end[barrier]
    assert timing.end[barrier + 1] == timing.start[barrier + 1] + chip.beats(7, 4) + 1


def as_one_program(program, batch, images):
    """`batch` of `program` as a program of its own, whose input and output are all the
    batch's regions, and that input: each of `images` in its region."""
    memory = np.zeros(batch.images * region_size(program), np.int64)
    for image, address in zip(images, batch.inputs):
        memory[address:address + program.input_length] = image
    words = np.asarray(encode_program(batch.instructions), np.uint64)
    whole = dataclasses.replace(program, words=words, layers=np.zeros(len(words), np.int64),
                                input_address=0, input_length=len(memory),
                                output_address=0, output_length=len(memory))
    return whole, memory


def test_a_batch_computes_each_image_as_the_one_image_program(tmp_path):
    """A batch is a program the chip takes, and on lossless tiles it leaves each image's
    outputs in its region as the one-image program computes them; it takes fewer cycles
    than its images one after another."""
    chip = load_chip_config(write(tmp_path, CHIP.replace("act_memory_bytes = 64",
                                                         "act_memory_bytes = 128")))
    rng = np.random.default_rng(2)
    graph = mlp_graph([Layer(rng.normal(size=(20, 7)), rng.normal(size=7)),
                       Layer(rng.normal(size=(7, 5)), rng.normal(size=5))])
    program = compile_network(graph, chip, rng.normal(size=(40, 20)))
    images = chip_images(program, chip, rng.normal(size=(4, 20)))
    batch = image_batch(chip, program)
    assert batch.images == 4
    whole, memory = as_one_program(program, batch, images)
    got, _ = run_chip(chip, whole, memory[None, :])
    expected, _ = run_chip(chip, program, images)
    for one, address in zip(expected, batch.outputs):
        assert got[0, address:address + program.output_length].tolist() == one.tolist()
    assert batch.timing.cycles < batch.images * schedule(chip, program.instructions).cycles


def test_batch_sizes_are_checked(tmp_path):
    chip = load_chip_config(write(tmp_path))
    rng = np.random.default_rng(0)
    program = compile_network(mlp_graph([Layer(rng.normal(size=(20, 7)),
                                               rng.normal(size=7))]),
                              chip, rng.normal(size=(10, 20)))
    capacity = batch_capacity(chip, program)
    assert capacity == chip.act_elements // region_size(program)
    for images in (0, capacity + 1):
        with pytest.raises(ValueError, match=f"^images must be in 1..{capacity}, not "
                                             f"{images}$"):
            image_batch(chip, program, images)
