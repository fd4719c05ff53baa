"""The chip sequencer on random programs with random unit delays and stalls: an independent
checker of the hazard rules finds no instruction issued while a hazard is open and none
waiting once all are clear."""

import numpy as np
import pytest

from cimtile.hdl import chip_sequencer
from cimtile.hdl.chip_sequencer import SequencerError
from cimtile.spec.chip_isa import encode_program

from test_chip_sequencer import (ACC, BARRIER, FETCH, HALT, MOVE, MVM, acc, ins, move, mvm,
                                 payload_of, run_sequencer)


def random_program(rng, tiles, length, buffers, space=24):
    """`length` random instructions over `space` activations, then a HALT: MVMs on tiles
    with a result buffer free of unread results, ACCs of runs of tiles with one, MOVEs and
    a few BARRIERs."""
    unread, program = [0] * tiles, []

    def span():
        n = int(rng.integers(1, 7))
        return int(rng.integers(0, space - n + 1)), n

    while len(program) < length:
        kind = rng.choice(4, p=[0.4, 0.3, 0.22, 0.08])
        free = [t for t in range(tiles) if unread[t] < buffers]
        held = {t for t in range(tiles) if unread[t]}
        if kind == 0 and free:
            tile = int(rng.choice(free))
            unread[tile] += 1
            program.append(mvm(tile, *span()))
        elif kind == 1 and held:
            first = count = int(rng.choice(sorted(held)))
            while count + 1 in held and rng.random() < 0.6:
                count += 1
            for t in range(first, count + 1):
                unread[t] -= 1
            dst, n = span()
            program.append(acc(first, count - first + 1, dst, n))
        elif kind == 2:
            (src, n), (dst, _) = span(), span()
            program.append(move(src, dst, min(n, space - dst)))
        elif kind == 3:
            program.append(ins(BARRIER))
    return program + [ins(HALT)]


def spans(instruction):
    """The activations `instruction` reads and those it writes, as sets."""
    def at(name):
        return set(range(instruction[name], instruction[name] + instruction["length"]))
    op = instruction.op
    return (at("src") if op in (MVM, MOVE) else set(),
            at("dst") if op in (ACC, MOVE) else set())


def tiles_of(instruction):
    count = instruction["count"] if instruction.op is ACC else 1
    return set(range(instruction["tile"], instruction["tile"] + count))


def readers(program):
    """Each MVM's reader: the ACC that takes its result (a tile's results are read oldest
    first); None if none does."""
    pending, reader = {}, {}
    for k, x in enumerate(program):
        if x.op is MVM:
            pending.setdefault(x["tile"], []).append(k)
            reader[k] = None
        elif x.op is ACC:
            for t in tiles_of(x):
                reader[pending[t].pop(0)] = k
    return reader


def open_hazards(program, issued, end, i, cycle, buffers):
    """The rules instruction i would break by issuing in `cycle`, given the cycles the
    earlier ones issued (`issued`) and completed (`end`: the first cycle after), on tiles of
    `buffers` result buffers."""
    broken = []
    reader = readers(program)
    me = program[i]
    reads, writes = spans(me)
    for j in range(i):
        if end[j] <= cycle:
            continue
        other = program[j]
        their_reads, their_writes = spans(other)
        if reads & their_writes:
            broken.append(f"reads what {j} writes")
        if writes & their_writes:
            broken.append(f"writes what {j} writes")
        if writes & their_reads:
            broken.append(f"writes what {j} reads")
        if me.op in (BARRIER, HALT):
            broken.append(f"{j} is in flight")
        if me.op is other.op and me.op in (ACC, MOVE):
            broken.append(f"its unit runs {j}")
        if me.op is ACC and reader.get(j) == i:
            broken.append(f"reads the result of {j}")
        if me.op is MVM and other.op is MVM and other["tile"] == me["tile"]:
            broken.append(f"its tile runs {j}")
    if me.op is MVM:
        # A result fills a buffer from its MVM to the end of the ACC that reads it.
        filled = [j for j in range(i) if program[j].op is MVM
                  and program[j]["tile"] == me["tile"]
                  and (reader[j] is None or reader[j] > i or end[reader[j]] > cycle)]
        if len(filled) >= buffers:
            broken.append(f"its buffers hold the results of {filled}")
    return broken


def unit_of(instruction):
    return payload_of(instruction)[0] if instruction.op in (MVM, ACC, MOVE) else None


@pytest.mark.parametrize("buffers", [1, 2])
@pytest.mark.parametrize("seed", range(3))
def test_random_programs_break_no_hazard_and_wait_for_nothing_else(seed, buffers):
    rng = np.random.default_rng(seed)
    tiles = 4
    program = random_program(rng, tiles, 60, buffers)
    durations = rng.integers(2, 12, len(program)).tolist()
    stalls = rng.random((len(program) * 20, 6)) < 0.3
    names = [f"mvm{t}" for t in range(tiles)] + ["acc", "move"]
    result = run_sequencer(tiles, encode_program(program), durations, buffers=buffers,
                           ready=lambda port, cycle: not stalls[cycle % len(stalls),
                                                                names.index(port)])
    assert result.error == SequencerError.NONE and result.done is not None
    issued = [result.issued[i] for i in range(len(program) - 1)] + [result.done - 1]
    end = [c + d for c, d in zip(issued, durations)]
    for i, x in enumerate(program):
        end[i] = issued[i] if x.op in (BARRIER, HALT) else end[i]
    assert [(c, p) for c, _, _, p in result.commands] == \
        [(issued[i], i) for i, x in enumerate(program) if unit_of(x)]
    arrived = result.start + FETCH
    for i, x in enumerate(program):
        assert open_hazards(program, issued, end, i, issued[i], buffers) == [], i
        unit = unit_of(x)
        for cycle in range(arrived, issued[i]):
            waits = open_hazards(program, issued, end, i, cycle, buffers)
            assert waits or (unit and not result.ready[unit, cycle]), (i, cycle)
        arrived = issued[i] + 1


class _OneBufferTooMany(chip_sequencer.Scoreboard):
    """A scoreboard that counts a buffer the datapath does not have."""

    def __init__(self, *, tiles, buffers):
        super().__init__(tiles=tiles, buffers=buffers + 1)


def test_a_sequencer_counting_a_buffer_too_many_is_caught(monkeypatch):
    monkeypatch.setattr(chip_sequencer, "Scoreboard", _OneBufferTooMany)
    with pytest.raises(AssertionError, match="its buffers hold the results of"):
        test_random_programs_break_no_hazard_and_wait_for_nothing_else(0, 2)
