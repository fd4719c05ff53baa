"""The chip datapath run by the sequencer, each tile answered by its golden model: the
activation memory after compiled and hand-written programs equals the golden chip model's
bit for bit, every instruction issues in the cycle the timing model gives (with an MVM one
cycle longer, the activation memory's read latency), and the vectors offered to the tiles
keep the stream rules under back-pressure."""

import dataclasses

import numpy as np
import pytest
from amaranth.hdl import Elaboratable, Module

from cimtile.flows.chip_compile import compile_network
from cimtile.flows.chip_report import chip_images
from cimtile.flows.graph import mlp_graph
from cimtile.flows.network import Layer
from cimtile.hdl.chip import connect_units
from cimtile.hdl.chip_datapath import ChipDatapath
from cimtile.hdl.chip_sequencer import ChipSequencer, SequencerError
from cimtile.models import chip_timing
from cimtile.models.chip_batch import image_batch, region_size
from cimtile.models.chip_golden import golden_tiles, run_chip
from cimtile.spec.chip_config import CHIP_DEMO_CONFIG, load_chip_config
from cimtile.spec.chip_isa import Instruction, Opcode, encode_program
from cimtile.spec.chip_program import ChipProgram

from amaranth_sim import run
from test_chip_config import CHIP, write
from test_chip_golden import as_one_program

#: The sequencer's first instruction issues the cycle after ``start``.
FETCH = 1
MVM, ACC, MOVE, BARRIER, HALT = (Opcode.MVM, Opcode.ACC, Opcode.MOVE, Opcode.BARRIER,
                                 Opcode.HALT)


class Chip(Elaboratable):
    """The sequencer commanding the datapath."""

    def __init__(self, chip, depth, param_depth):
        self.sequencer = ChipSequencer(tiles=chip.chip.tiles, depth=depth,
                                       buffers=chip.chip.result_buffers)
        self.datapath = ChipDatapath(chip, param_depth=param_depth)

    def elaborate(self, platform):
        m = Module()
        m.submodules.sequencer = self.sequencer
        m.submodules.datapath = self.datapath
        connect_units(m, self.sequencer, self.datapath)
        return m


@dataclasses.dataclass
class Run:
    """What one run showed: ``issued`` (cycle, pc) of every command, ``done`` the cycle
    ``done`` rose, ``start`` the cycle of ``start``, ``memory`` the activations read back,
    ``offered`` the vectors each tile took."""
    start: int = 0
    done: int = None
    error: SequencerError = None
    issued: list = dataclasses.field(default_factory=list)
    memory: list = dataclasses.field(default_factory=list)
    offered: int = 0


def run_rtl(chip, program, image, *, tile_ready=lambda t, cycle: True, limit=5000,
            before=None):
    """Load `program` and `image`, run, and read the activation memory back (with
    `before`, words of the same length, run them first). Each tile takes its vector when
    `tile_ready` says and answers ``result_latency`` cycles later with its golden result;
    the stream rules are checked on every vector port."""
    tiles = chip.chip.tiles
    dut = Chip(chip, len(program.words), len(program.mult))
    seq, path = dut.sequencer, dut.datapath
    mvm = golden_tiles(chip, program)
    latency = chip.tile.result_latency
    ports = [*seq.mvm, seq.acc, seq.move]
    result = Run()

    async def load(ctx, words):
        for address, word in enumerate(words):
            ctx.set(seq.w_en, 1)
            ctx.set(seq.w_addr, address)
            ctx.set(seq.w_data, int(word))
            await ctx.tick()
        ctx.set(seq.w_en, 0)

    async def bench(ctx):
        if before is not None:
            await load(ctx, before)
            await execute(ctx, Run())
        await load(ctx, program.words)
        for address, (mult, bias) in enumerate(zip(program.mult, program.bias)):
            ctx.set(path.param_write, {"en": 1, "addr": address,
                                       "data": {"mult": int(mult), "bias": int(bias)}})
            await ctx.tick()
        ctx.set(path.param_write, {"en": 0})
        for i, value in enumerate(image):
            ctx.set(path.host_write, {"en": 1, "addr": program.input_address + i,
                                      "data": int(value)})
            await ctx.tick()
        ctx.set(path.host_write, {"en": 0})
        await execute(ctx, result)
        for address in range(chip.act_elements):
            ctx.set(path.host_read, {"en": 1, "addr": address})
            await ctx.tick()
            result.memory.append(ctx.get(path.host_data))
        ctx.set(path.host_read, {"en": 0})

    async def execute(ctx, result):
        """Start the program loaded, answer the tiles until ``done``."""
        pending, held = {}, {}
        ctx.set(seq.start, 1)
        for cycle in range(limit):
            for t in range(tiles):
                ctx.set(path.vector[t].ready, tile_ready(t, cycle))
                due, answer = pending.get(t, (None, None))
                ctx.set(path.result[t].valid, due is not None and cycle >= due)
                if answer is not None:
                    ctx.set(path.result[t].payload, answer)
            signals = [seq.done, seq.error, seq.pc]
            signals += [v for p in ports for v in (p.valid, p.ready)]
            signals += [v for p in path.vector for v in (p.valid, p.ready, p.payload)]
            signals += [v for p in path.result for v in (p.valid, p.ready)]
            sampled = (await ctx.tick().sample(*signals))[2:]
            ctx.set(seq.start, 0)
            done, error, pc = sampled[:3]
            if done and cycle > 0:
                result.done, result.error = cycle, error
                break
            for k in range(len(ports)):
                if sampled[3 + 2 * k] and sampled[4 + 2 * k]:
                    result.issued.append((cycle, int(pc)))
            base = 3 + 2 * len(ports)
            for t in range(tiles):
                valid, ready, payload = sampled[base + 3 * t:base + 3 * t + 3]
                vector = [int(v) for v in payload]
                if t in held:    # offered and not taken last cycle: held, unchanged
                    assert valid and vector == held[t], (t, cycle)
                held.pop(t, None)
                if valid and ready:
                    answer = mvm(t, np.array([vector]))[0]
                    pending[t] = (cycle + latency, [int(v) for v in answer])
                    result.offered += 1
                elif valid:
                    held[t] = vector
                r_valid, r_ready = sampled[base + 3 * tiles + 2 * t:base + 3 * tiles + 2 * t + 2]
                if r_valid and r_ready:
                    del pending[t]
        else:
            raise AssertionError(f"no done in {limit} cycles")

    run(dut, bench)
    return result


def assert_as_the_models(chip, program, image, got):
    """The memory as the golden model leaves it; every command issued when the timing
    model says, and the HALT's ``done`` a cycle after the image's last cycle."""
    outputs, memory = run_chip(chip, program, np.array([image]))
    assert got.error == SequencerError.NONE
    assert got.memory == memory[0].tolist()
    instructions = program.instructions
    timing = chip_timing.schedule(chip, instructions)
    expected = [(FETCH + int(timing.start[i]), i) for i, x in enumerate(instructions)
                if x.op in (MVM, ACC, MOVE)]
    assert got.issued == expected
    assert got.done == FETCH + timing.cycles + 1
    return outputs


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """Eight tiles of 12 x 3, 4-bit activations (16 a beat of 64 bits), 64 of them."""
    return load_chip_config(write(tmp_path_factory.mktemp("chip"), CHIP))


def compiled(chip):
    rng = np.random.default_rng(3)
    layers = [Layer(rng.normal(size=(20, 7)), rng.normal(size=7)),
              Layer(rng.normal(size=(7, 5)), rng.normal(size=5))]
    program = compile_network(mlp_graph(layers), chip, rng.normal(size=(40, 20)))
    images = chip_images(program, chip, rng.normal(size=(2, 20)))
    return program, images


@pytest.mark.parametrize("image", [0, 1])
def test_compiled_program_equals_the_golden_chip(small, image):
    program, images = compiled(small)
    got = run_rtl(small, program, images[image])
    outputs = assert_as_the_models(small, program, images[image], got)
    assert np.abs(outputs).max() > 0 and got.offered == 8


def hand_program(rng, chip):
    """Three tiles: unaligned MOVEs of one and two beats, MVMs of short (zero-padded) and
    full inputs, ACCs of two tiles and of one, a BARRIER, and a second layer reading the
    first's outputs."""
    ins = Instruction.make
    program = [
        ins(MOVE, src=1, dst=41, length=19),
        ins(MVM, tile=0, src=3, length=12),
        ins(MVM, tile=1, src=41, length=7),
        ins(MVM, tile=2, src=45, length=12),
        ins(ACC, tile=0, count=2, dst=50, length=3, param=0, shift=7, relu=1),
        ins(ACC, tile=2, count=1, dst=61, length=3, param=3, shift=6, relu=0),
        ins(BARRIER),
        ins(MOVE, src=61, dst=30, length=3),
        ins(MVM, tile=0, src=49, length=5),
        ins(ACC, tile=0, count=1, dst=0, length=2, param=6, shift=3, relu=0),
        ins(HALT),
    ]
    rows, cols = chip.tile.tile.rows, chip.tile.tile.cols
    words = np.asarray(encode_program(program), np.uint64)
    return ChipProgram(words, np.full(len(words), -1), rng.integers(-15, 16, (3, rows, cols)),
                       np.arange(3, dtype=np.uint64), rng.integers(-3, 4, 8),
                       rng.integers(-300, 301, 8), 0, 20, 0, 2, 1.0, 1.0)


def test_hand_written_program_equals_the_golden_chip(small):
    rng = np.random.default_rng(11)
    program = hand_program(rng, small)
    image = rng.integers(-8, 8, 20)
    got = run_rtl(small, program, image)
    assert_as_the_models(small, program, image, got)
    assert got.offered == 4


def test_vectors_wait_for_busy_tiles(small):
    """Tiles refusing their vector at random: the results are unchanged, and every vector
    offered was held until taken (checked by :func:`run_rtl`)."""
    rng = np.random.default_rng(12)
    program = hand_program(rng, small)
    image = rng.integers(-8, 8, 20)
    stalls = np.random.default_rng(13).random((512, 3)) < 0.6
    got = run_rtl(small, program, image, tile_ready=lambda t, c: not stalls[c % 512, t % 3])
    _, memory = run_chip(small, program, np.array([image]))
    assert got.error == SequencerError.NONE and got.memory == memory[0].tolist()


def test_parameters_are_checked(tmp_path):
    chip = load_chip_config(write(tmp_path))
    chip = dataclasses.replace(chip, chip=dataclasses.replace(chip.chip, out_bits=3))
    with pytest.raises(ValueError, match=r"^chip.out_bits \(3\) must divide "
                                         r"chip.interconnect_width \(64\)$"):
        ChipDatapath(chip, param_depth=4)
    with pytest.raises(ValueError, match=r"^param_depth must be a positive integer, not 0$"):
        ChipDatapath(chip, param_depth=0)


@pytest.mark.parametrize("name", ["chip_demo.toml", "chip_digits4.toml"])
def test_shipped_chips_equal_the_golden_chip(name):
    """Eight activations a beat, partial sums of 23 bits packed across beats, outputs at
    addresses no beat is aligned to."""
    chip = load_chip_config(CHIP_DEMO_CONFIG.with_name(name))
    rng = np.random.default_rng(7)
    layers = [Layer(rng.normal(size=(64, 54)), rng.normal(size=54)),
              Layer(rng.normal(size=(54, 10)), rng.normal(size=10))]
    program = compile_network(mlp_graph(layers), chip, rng.normal(size=(50, 64)))
    image = chip_images(program, chip, rng.normal(size=(1, 64)))[0]
    got = run_rtl(chip, program, image)
    outputs = assert_as_the_models(chip, program, image, got)
    assert np.abs(outputs).max() > 0


def test_images_overlap_in_a_batch_as_the_models(small):
    """A run of two images: each image's outputs as the golden chip model computes them,
    every command issued when the timing model says the batch's instructions issue."""
    program, images = compiled(small)
    batch = image_batch(small, program)
    assert batch.images == 2
    whole, memory = as_one_program(program, batch, images)
    got = run_rtl(small, whole, memory)
    assert got.error == SequencerError.NONE
    outputs, _ = run_chip(small, program, images)
    for expected, address in zip(outputs, batch.outputs):
        assert got.memory[address:address + program.output_length] == expected.tolist()
    expected = [(FETCH + int(batch.timing.start[i]), i)
                for i, x in enumerate(batch.instructions) if x.op in (MVM, ACC, MOVE)]
    assert got.issued == expected
    assert got.done == FETCH + batch.timing.cycles + 1
    # The second image's first MVM issues before the first image's last ACC.
    size = region_size(program)
    first_acc = max(i for i, x in enumerate(batch.instructions) if x.op is ACC
                    and x["dst"] < size)
    second_mvm = min(i for i, x in enumerate(batch.instructions) if x.op is MVM
                     and x["src"] >= size)
    assert batch.timing.start[second_mvm] < batch.timing.start[first_acc]


def test_a_run_reads_only_its_own_results(small):
    """A run that leaves a result unread in tile 0's first buffer: the next run's ACC reads
    its own MVM's result, as the golden chip model, which starts every run afresh."""
    program, images = compiled(small)
    leftover = [Instruction.make(MVM, tile=0, src=0, length=12),
                Instruction.make(HALT)]
    words = encode_program(leftover + [Instruction.make(HALT)]
                           * (len(program.words) - len(leftover)))
    got = run_rtl(small, program, images[0], before=words)
    assert_as_the_models(small, program, images[0], got)
