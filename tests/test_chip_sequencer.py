"""The chip sequencer against the timing model: with every unit completing as the model
says, each instruction issues in the cycle the model gives (one cycle of fetch later) and
the HALT when the model's image ends; bad words, bad tiles and a missing HALT end the run
with an error, never a hang (random programs: ``test_chip_sequencer_random.py``)."""

import dataclasses

import numpy as np
import pytest

from cimtile.flows.chip_compile import compile_network
from cimtile.flows.graph import mlp_graph
from cimtile.flows.network import Layer
from cimtile.hdl.chip_sequencer import ChipSequencer, SequencerError
from cimtile.models.chip_batch import batch_capacity, image_batch
from cimtile.models.chip_timing import duration, schedule
from cimtile.spec.chip_config import CHIP_DEMO_CONFIG, load_chip_config
from cimtile.spec.chip_isa import FORMATS, Instruction, Opcode, encode, encode_program

from amaranth_sim import run
from test_chip_config import CHIP, write

#: Cycles from ``start`` to the first instruction's earliest issue: the sequencer reads the
#: first word in the cycle of ``start``.
FETCH = 1
#: A unit taking a command of d cycles raises ``done`` d - DONE_BEFORE_END cycles after
#: the transfer, in its last busy cycle: the model's completion (the first cycle a
#: dependent may issue) is the cycle after ``done``.
DONE_BEFORE_END = 1

MVM, ACC, MOVE, BARRIER, HALT = (Opcode.MVM, Opcode.ACC, Opcode.MOVE, Opcode.BARRIER,
                                 Opcode.HALT)


def mvm(tile, src, length):
    return Instruction.make(MVM, tile=tile, src=src, length=length)


def acc(tile, count, dst, length):
    return Instruction.make(ACC, tile=tile, count=count, dst=dst, length=length, param=0,
                            shift=0, relu=0)


def move(src, dst, length):
    return Instruction.make(MOVE, src=src, dst=dst, length=length)


def ins(op):
    return Instruction.make(op)


class Run:
    """What one run of the sequencer showed, in cycles counted from the first tick.

    Members
    -------
    start : int
        The cycle ``start`` was high.
    issued : dict
        Instruction index: the cycle it issued (the pc moved past it the cycle after); a
        HALT is not there: it ends the run (``done``).
    commands : list of (cycle, port, payload dict, pc)
        Every command transfer.
    ready : dict
        ``(port, cycle)``: the ready the testbench drove.
    done, error, pc : int, SequencerError, int
        The first cycle ``done`` was high, and ``error`` and ``pc`` then.
    """

    def __init__(self):
        self.issued, self.commands, self.ready = {}, [], {}
        self.start = self.done = self.error = self.pc = None


def run_sequencer(tiles, words, durations, *, depth=None, buffers=1,
                  ready=lambda port, cycle: True, limit=20_000, again=None, meddle=None):
    """Load `words`, start, and answer every command the instruction at pc takes as a unit
    taking ``durations[pc]`` cycles would, until ``done`` or for at most `limit` cycles.
    With `again` (address: word), write those words once done and run again: a list of two
    :class:`Run`, else one. The words of `meddle` are written while the first run runs,
    one a cycle from the cycle after start."""
    depth = depth or len(words)
    dut = ChipSequencer(tiles=tiles, depth=depth, buffers=buffers)
    ports = [(f"mvm{t}", port) for t, port in enumerate(dut.mvm)]
    ports += [("acc", dut.acc), ("move", dut.move)]
    dones = {f"mvm{t}": dut.mvm_done[t] for t in range(tiles)}
    dones.update(acc=dut.acc_done, move=dut.move_done)
    runs = []

    async def load(ctx, writes):
        for address, word in writes.items():
            ctx.set(dut.w_en, 1)
            ctx.set(dut.w_addr, address)
            ctx.set(dut.w_data, int(word))
            await ctx.tick()
        ctx.set(dut.w_en, 0)
        return len(writes)

    async def answer(ctx, cycle):
        """One run from `cycle`, the cycle of its start."""
        result, pulses, last_pc = Run(), {}, None
        writes = list((meddle or {}).items()) if not runs else []
        runs.append(result)
        ctx.set(dut.start, 1)
        result.start = cycle
        while cycle < result.start + limit:
            for name, signal in dones.items():
                ctx.set(signal, (name, cycle) in pulses)
            for name, port in ports:
                result.ready[name, cycle] = bool(ready(name, cycle))
                ctx.set(port.ready, result.ready[name, cycle])
            sampled = await ctx.tick().sample(
                dut.pc, dut.done, dut.error, *(v for _, p in ports for v in (p.valid,
                                                                               p.payload)))
            ctx.set(dut.start, 0)
            ctx.set(dut.w_en, bool(writes))
            if writes:
                address, word = writes.pop(0)
                ctx.set(dut.w_addr, address)
                ctx.set(dut.w_data, word)
            pc, done, error = sampled[2:5]
            if done and cycle > result.start:    # the last run's done holds until start
                result.done, result.error, result.pc = cycle, error, pc
                return cycle + 1
            if last_pc is not None and pc == last_pc + 1:
                result.issued[last_pc] = cycle - 1
            last_pc = pc if cycle > result.start else None
            for k, (name, port) in enumerate(ports):
                valid, payload = sampled[5 + 2 * k:7 + 2 * k]
                if valid and result.ready[name, cycle]:
                    fields = {f: int(getattr(payload, f)) for f in payload.shape().members}
                    result.commands.append((cycle, name, fields, pc))
                    end = cycle + durations[pc] - DONE_BEFORE_END
                    assert end > cycle, "a unit completes at least a cycle after its command"
                    pulses[name, end] = True
            cycle += 1
        return cycle

    async def bench(ctx):
        cycle = await load(ctx, dict(enumerate(words)))
        cycle = await answer(ctx, cycle)
        if again is not None:
            cycle += await load(ctx, again)
            await answer(ctx, cycle)

    run(dut, bench)
    return runs if again is not None else runs[0]


def payload_of(instruction):
    """The command an instruction's unit takes: its port and its operands by value."""
    values = {f.name: instruction[f.name] for f in FORMATS[instruction.op]}
    if instruction.op is MVM:
        return f"mvm{values.pop('tile')}", values
    return instruction.op.name.lower(), values


def run_program(chip, instructions, **options):
    """Run `instructions` with every unit completing as the timing model says; returns the
    :class:`Run` and the model's :class:`~cimtile.models.chip_timing.ChipTiming`."""
    durations = [duration(chip, i) for i in instructions]
    result = run_sequencer(chip.chip.tiles, encode_program(instructions), durations,
                           buffers=chip.chip.result_buffers, **options)
    return result, schedule(chip, instructions)


def assert_as_the_model(result, timing, instructions):
    """Every instruction issued FETCH cycles after its model cycle, each command to its unit
    with its operands, and the run ended a cycle after the HALT's model cycle."""
    assert result.error == SequencerError.NONE, result.error
    got = [result.issued.get(i) for i in range(len(instructions) - 1)]
    assert got == (result.start + FETCH + timing.start[:-1]).tolist()
    assert result.done == result.start + FETCH + timing.cycles + 1
    expected = [(result.start + FETCH + int(timing.start[i]), *payload_of(x), i)
                for i, x in enumerate(instructions) if x.op in (MVM, ACC, MOVE)]
    assert result.commands == expected


def small_chip(tmp_path_factory, buffers):
    """A chip of eight small tiles (12 x 3, 4-bit activations), 256 activations, `buffers`
    result buffers a tile."""
    chip = CHIP.replace("act_memory_bytes = 64", "act_memory_bytes = 256")
    return load_chip_config(write(tmp_path_factory.mktemp("chip"),
                                  chip + f"result_buffers = {buffers}\n"))


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """The small chip, one result buffer a tile: a tile is held until its result is
    read."""
    return small_chip(tmp_path_factory, 1)


def small_chip_like(chip, buffers):
    """`chip` with `buffers` result buffers a tile."""
    return dataclasses.replace(chip, chip=dataclasses.replace(chip.chip,
                                                              result_buffers=buffers))


@pytest.fixture(scope="module")
def buffered(tmp_path_factory):
    """The small chip, two result buffers a tile."""
    return small_chip(tmp_path_factory, 2)


def hazard_program():
    """Every wait the model knows, each instruction marked with the one it waits for."""
    return [
        mvm(0, 0, 12),                  # 0
        mvm(1, 12, 12),                 # 1: another tile, the next cycle
        acc(0, 2, 30, 3),               # 2: the results of 0 and 1
        mvm(0, 31, 2),                  # 3: read after write (2), tile 0 held by 2
        move(40, 50, 4),                # 4: the next cycle
        move(44, 54, 4),                # 5: the mover (4)
        move(54, 60, 2),                # 6: read after write and the mover (5)
        mvm(2, 60, 2),                  # 7: read after write (6)
        move(70, 61, 1),                # 8: write after read (7)
        mvm(5, 100, 4),                 # 9
        acc(2, 1, 101, 2),              # 10: write after read (9), after tile 2's result
        move(101, 20, 1),               # 11: read after write (10)
        move(120, 130, 8),              # 12: the mover (11)
        acc(5, 1, 133, 1),              # 13: write after write (12)
        acc(0, 1, 5, 3),                # 14: the post-processing unit (13)
        mvm(0, 140, 2),                 # 15: tile 0 held by 14
        ins(BARRIER),                   # 16: everything in flight (15)
        mvm(3, 0, 4),                   # 17
        ins(HALT),
    ]


def test_hand_written_hazards_issue_as_the_model(small):
    program = hazard_program()
    result, timing = run_program(small, program)
    start = timing.start
    # Each marked wait is one: the instruction did not issue the cycle after its
    # predecessor, but the cycle the one it waits for ended.
    for i, after in ((2, 1), (3, 2), (5, 4), (6, 5), (7, 6), (8, 7), (10, 9), (11, 10),
                     (12, 11), (13, 12), (14, 13), (15, 14), (16, 15)):
        assert start[i] > start[i - 1] + 1 and start[i] == timing.end[after], i
    assert start[1] == start[0] + 1 and start[4] == start[3] + 1
    assert_as_the_model(result, timing, program)


def test_a_second_result_buffer_frees_the_tile_for_its_next_mvm(buffered):
    program = [
        mvm(0, 0, 12),                  # 0
        acc(0, 1, 30, 3),               # 1: the result of 0
        mvm(0, 12, 12),                 # 2: the next cycle, into the second buffer
        mvm(0, 12, 12),                 # 3: after 2, and once 1 has read the first buffer
        acc(0, 1, 40, 3),               # 4: the result of 2, the next cycle
        mvm(0, 0, 12),                  # 5: 3's result and 4's fill both buffers
        acc(0, 1, 50, 3),               # 6
        acc(0, 1, 60, 3),               # 7
        ins(HALT),
    ]
    result, timing = run_program(buffered, program)
    start, end = timing.start, timing.end
    assert start[2] == start[1] + 1
    assert start[3] == max(end[1], end[2]) > start[2] + 1
    assert start[4] == start[3] + 1
    assert start[5] == max(end[3], end[4])
    assert_as_the_model(result, timing, program)
    # With one buffer, the tile waits for each ACC reading it.
    one = schedule(small_chip_like(buffered, 1), program[:3] + [ins(HALT)])
    assert one.start[2] == one.end[1]


def test_the_mover_takes_one_move_at_a_time(small):
    program = [move(0, 10, 4), move(20, 30, 4), ins(HALT)]
    timing = schedule(small, program)
    assert timing.start.tolist() == [0, duration(small, program[0]),
                                     2 * duration(small, program[0])]
    result, _ = run_program(small, program)
    assert_as_the_model(result, timing, program)


@pytest.mark.parametrize("name", ["chip_demo.toml", "chip_digits4.toml"])
def test_compiled_programs_issue_as_the_model(name):
    chip = load_chip_config(CHIP_DEMO_CONFIG.with_name(name))
    rng = np.random.default_rng(7)
    layers = [Layer(rng.normal(size=(64, 54)), rng.normal(size=54)),
              Layer(rng.normal(size=(54, 10)), rng.normal(size=10))]
    program = compile_network(mlp_graph(layers), chip, rng.normal(size=(50, 64)))
    instructions = program.instructions
    result, timing = run_program(chip, instructions)
    assert_as_the_model(result, timing, instructions)
    # Images overlapped: the tiles take their next image's MVM while the ACCs read.
    batch = image_batch(chip, program, min(3, batch_capacity(chip, program)))
    result, timing = run_program(chip, batch.instructions)
    assert batch.images >= 2
    one_by_one = batch.images * schedule(chip, instructions).cycles
    assert timing.cycles == batch.timing.cycles < one_by_one
    assert_as_the_model(result, timing, batch.instructions)


HALT_WORD = encode(ins(HALT))


@pytest.mark.parametrize("program, error", [
    ([mvm(0, 0, 4), 9], SequencerError.OPCODE),
    ([mvm(0, 0, 4), 0xF | 1 << 40], SequencerError.OPCODE),
    ([mvm(0, 0, 4), HALT_WORD | 1 << 63], SequencerError.RESERVED),
    ([mvm(0, 0, 4), encode(mvm(1, 0, 4)) | 1 << 36], SequencerError.RESERVED),
    ([mvm(0, 0, 4), encode(ins(BARRIER)) | 1 << 4], SequencerError.RESERVED),
    ([mvm(0, 0, 4), mvm(4, 0, 4)], SequencerError.TILE),
    ([mvm(0, 0, 4), acc(3, 2, 0, 1)], SequencerError.TILE),
    ([mvm(0, 0, 4), mvm(0, 8, 4)], SequencerError.UNREAD),
    ([mvm(0, 0, 4), acc(0, 2, 8, 1)], SequencerError.NO_RESULT),
])
def test_a_bad_word_stops_the_run_with_an_error(program, error):
    words = [x if isinstance(x, int) else encode(x) for x in program] + [HALT_WORD]
    # The bad word is replaced by a HALT: the next run ends without an error.
    first, second = run_sequencer(4, words, [30, 30, 0], again={1: HALT_WORD})
    # Nothing issues after the first MVM, and the run ends once it has completed.
    assert (first.error, first.pc) == (error, 1)
    assert [(c - first.start, p) for c, _, _, p in first.commands] == [(FETCH, 0)]
    assert first.done == first.start + FETCH + 30 + 1
    assert (second.error, second.pc) == (SequencerError.NONE, 1)
    assert second.done == second.start + FETCH + 30 + 1


def test_an_mvm_on_a_tile_with_every_buffer_unread_stops_the_run():
    words = encode_program([mvm(1, 0, 4), mvm(1, 4, 4), mvm(1, 8, 4), ins(HALT)])
    result = run_sequencer(4, words, [30, 30, 30, 0], buffers=2)
    assert (result.error, result.pc) == (SequencerError.UNREAD, 2)
    assert [p for _, _, _, p in result.commands] == [0, 1]


def test_a_program_without_halt_stops_at_the_end_of_the_memory():
    program = [mvm(0, 0, 4), ins(BARRIER), move(0, 8, 4)]
    result = run_sequencer(4, encode_program(program), [30, 0, 5])
    assert (result.error, result.pc) == (SequencerError.END, 2)
    # The last word issued, and the run ended once it completed.
    assert [p for _, _, _, p in result.commands] == [0, 2]
    assert result.done == result.commands[-1][0] + 5 + 1


def test_writes_while_running_are_ignored():
    program = [mvm(0, 0, 4), ins(BARRIER), ins(HALT)]
    # Written, the illegal word would stop the run when the BARRIER issues.
    result = run_sequencer(4, encode_program(program), [30, 0, 0], meddle={2: 9})
    assert result.error == SequencerError.NONE
    assert result.done == result.start + FETCH + 30 + 2


@pytest.mark.parametrize("options, message", [
    (dict(tiles=0, depth=4, buffers=1), r"^tiles must be a positive integer, not 0$"),
    (dict(tiles=65, depth=4, buffers=1), r"^tiles must be at most 64, not 65$"),
    (dict(tiles=2, depth=0, buffers=1), r"^depth must be a positive integer, not 0$"),
    (dict(tiles=2, depth=4, buffers=0), r"^buffers must be a positive integer, not 0$"),
    (dict(tiles=2, depth=4, buffers=5), r"^buffers must be at most 4, not 5$"),
])
def test_parameters_are_checked(options, message):
    with pytest.raises(ValueError, match=message):
        ChipSequencer(**options)


def test_a_one_word_memory():
    halt = run_sequencer(2, [HALT_WORD], [0])
    assert (halt.error, halt.done - halt.start) == (SequencerError.NONE, FETCH + 1)
    alone = run_sequencer(2, [encode(mvm(1, 0, 3))], [5])
    assert (alone.error, alone.pc) == (SequencerError.END, 0)
    assert alone.done == alone.start + FETCH + 5 + 1
