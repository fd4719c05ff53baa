"""The chip datapath (:class:`cimtile.hdl.chip_datapath.ChipDatapath`): every command it takes
is answered once, on time, and every vector it offers a tile keeps the stream rules.

The rules watch the ports only. Small counters rebuild from the transfers what each unit
owes: an MVM unit the vector of a command it took, then the result of a vector the tile
took; the ACC unit and the mover the completion of a command they took. The commands keep
the stream rules the sequencer keeps on its side of the ports (valid and payload held
until ready, valid low the cycle after a reset); their operands, the tiles' ``ready`` and
results, and the host's ports are free in every cycle. Operands no instruction encodes
(a length or count of 0) or beyond the chip's sizes (which
:func:`cimtile.models.chip_golden.check_program` refuses) are free too: the rules on
counts hold for them, the rules on cycles are for the others.
"""

from .handshake import channel_rules, valid_independent_of_ready

__all__ = ["datapath_rules"]


def datapath_rules(rules, p, twin, chip):
    """Add the rules of the datapath of `chip` (a :class:`~cimtile.spec.chip_config.
    ChipConfig`) for its exposed ports `p` (:func:`~cimtile.flows.formal.harness.expose`)
    to `rules`.

    `twin` holds, for each tile ``t``, the ``(valid, ready)`` of the vector port of a twin
    datapath fed the same inputs as this one but its vector ports' ``ready``
    (:func:`~.handshake.valid_independent_of_ready`).

    Asserted: each unit's command port is ready exactly when the unit has no command in
    flight; each MVM command gets one vector offered on its tile's port, ``beats(length,
    out_bits)`` cycles after the command's; a vector keeps the stream rules and its valid
    does not follow its ready; the MVM unit is ready for the tile's result exactly while
    its vector was taken and no result yet; ``mvm_done`` rises exactly with a result
    taken; ``acc_done`` and ``move_done`` rise once per command, never while their unit is
    idle, an ACC's ``count * beats(length, result_width) + beats(length, out_bits)``
    cycles and a MOVE's ``beats(length, out_bits)`` cycles after the command's (the
    durations of :mod:`cimtile.models.chip_timing` less one: the done is the unit's last
    busy cycle).
    Covers: a vector taken after a stall, an MVM of more than one beat, an ACC of every
    output of two tiles and a MOVE of more than one beat completing.
    """
    c = chip.chip
    lanes = c.interconnect_width // c.out_bits
    for t in range(c.tiles):
        _mvm_rules(rules, p, t, twin[t], chip)
    acc = _unit_rules(rules, "acc", p.acc, p.acc_done,
                      lambda acc: acc.count * _beats(acc.length, chip.tile.result_width, c)
                      + _beats(acc.length, c.out_bits, c),
                      lambda acc: _within(acc.length, chip.tile.tile.cols) & (acc.count != 0))
    move = _unit_rules(rules, "move", p.move, p.move_done,
                       lambda move: _beats(move.length, c.out_bits, c),
                       lambda move: move.length != 0)
    rules.cover("acc_of_two_tiles_done",
                p.acc_done & (acc.count == 2) & (acc.length == chip.tile.tile.cols),
                "an ACC of every output of two tiles completes", [p.acc_done, acc])
    rules.cover("move_of_beats_done", p.move_done & (move.length > lanes),
                "a MOVE of more than one beat completes", [p.move_done, move])


def _beats(length, bits, table):
    """Interconnect cycles to move `length` (a value) values of `bits` bits on the chip of
    the ``[chip]`` `table`."""
    width = table.interconnect_width
    return (length * bits + width - 1) // width


def _within(length, limit):
    """Whether `length` is one of 1..`limit`: a length field holds 0 too, which no
    instruction encodes."""
    return (length != 0) & (length <= limit)


def _owed(rules, name, more, less):
    """A counter called `name` of what a unit owes: up with `more`, down with `less`.
    Two bits: the rules forbid it to pass 1, and the first cycle it would is a failure."""
    owed = rules.signal(2, name)
    rules.module.d.sync += owed.eq(owed + more - less)
    return owed


def _held(rules, name, took, payload):
    """The `payload` of the last command taken (`took`), in a register called `name`."""
    held = rules.signal(payload.shape(), name)
    with rules.module.If(took):
        rules.module.d.sync += held.eq(payload)
    return held


def _age(rules, name, took, counting, limit):
    """A register called `name`: 1 the cycle after `took`, then one more a cycle while
    `counting`, up to `limit` (a stalled vector may wait for ever)."""
    age = rules.signal(len(limit), name)
    with rules.module.If(took):
        rules.module.d.sync += age.eq(1)
    with rules.module.Elif(counting & (age != limit)):
        rules.module.d.sync += age.eq(age + 1)
    return age


def _mvm_rules(rules, p, t, twin, chip):
    """Tile `t`'s MVM unit: its command port, its vector stream, its result and done."""
    c = chip.chip
    cmd, vector, result = (getattr(port, str(t)) for port in (p.mvm, p.vector, p.result))
    took = channel_rules(rules, f"mvm__{t}", valid=cmd.valid, ready=cmd.ready,
                         payload={"payload": cmd.payload}, assume=True, covers=False)
    waited = rules.past(vector.valid & ~vector.ready, f"vector__{t}__waited")
    sent = channel_rules(rules, f"vector__{t}", valid=vector.valid, ready=vector.ready,
                         payload={"payload": vector.payload}, covers=False)
    twin_valid, twin_ready = twin
    valid_independent_of_ready(rules, f"vector__{t}", valid=vector.valid, ready=vector.ready,
                               twin_valid=twin_valid, twin_ready=twin_ready)
    answered = result.valid & result.ready
    vector_owed = _owed(rules, f"mon__mvm_{t}_vector_owed", took, sent)
    result_owed = _owed(rules, f"mon__mvm_{t}_result_owed", sent, answered)
    command = _held(rules, f"mon__mvm_{t}", took, cmd.payload)
    beats = _beats(command.length, c.out_bits, c)
    age = _age(rules, f"mon__mvm_{t}_age", took, vector_owed == 1, beats)
    done = rules.named(p.mvm_done[t], f"mvm_done__{t}")
    idle = (vector_owed == 0) & (result_owed == 0)
    rules.assert_(f"mvm_{t}_ready_when_idle", cmd.ready == idle,
                  f"tile {t}'s MVM unit is ready for a command exactly when none is in flight",
                  [cmd.valid, cmd.ready, vector_owed, result_owed])
    rules.assert_(f"mvm_{t}_vector_for_a_command", ~vector.valid | (vector_owed == 1),
                  f"tile {t}'s vector is offered only for an MVM taken in an earlier cycle "
                  "whose vector the tile has not taken", [vector.valid, vector.ready,
                                                          cmd.valid, vector_owed])
    within = _within(command.length, chip.tile.tile.rows)
    rules.assert_(f"mvm_{t}_vector_on_time",
                  ~((vector_owed == 1) & within) | (vector.valid == (age == beats)),
                  f"tile {t}'s vector is offered from beats(length, out_bits) cycles after "
                  "its MVM on", [vector.valid, vector_owed, command, age])
    rules.assert_(f"mvm_{t}_result_after_vector", result.ready == (result_owed == 1),
                  f"tile {t}'s MVM unit is ready for a result exactly from the vector's "
                  "transfer to the result's", [result.valid, result.ready, vector.valid,
                                                vector.ready, result_owed])
    rules.assert_(f"mvm_{t}_done_with_result", done == answered,
                  f"mvm_done[{t}] rises exactly in the cycles a result is taken",
                  [done, result.valid, result.ready, result_owed])
    rules.cover(f"vector__{t}__taken_after_stall", sent & waited & ~rules.after_reset,
                f"tile {t} takes its vector after stalling it", [vector.valid, vector.ready,
                                                                 waited])
    rules.cover(f"mvm_{t}_of_beats_done", done & (beats > 1),
                f"tile {t}'s MVM of a vector read in more than one beat completes",
                [done, command])


def _unit_rules(rules, name, cmd, done, cycles, within):
    """The unit `name` (``acc`` or ``move``): its command port and its done, which rises
    ``cycles(command)`` cycles after the command's transfer when ``within(command)``;
    returns the command in flight, for the covers."""
    took = channel_rules(rules, name, valid=cmd.valid, ready=cmd.ready,
                         payload={"payload": cmd.payload}, assume=True, covers=False)
    owed = _owed(rules, f"mon__{name}_owed", took, done)
    command = _held(rules, f"mon__{name}", took, cmd.payload)
    expected = cycles(command)
    age = _age(rules, f"mon__{name}_age", took, owed == 1, expected)
    rules.assert_(f"{name}_ready_when_idle", cmd.ready == (owed == 0),
                  f"the {name} unit is ready for a command exactly when none is in flight",
                  [cmd.valid, cmd.ready, owed])
    rules.assert_(f"{name}_done_once", ~done | (owed == 1),
                  f"{name}_done rises once per command taken in an earlier cycle, never "
                  "while the unit is idle", [cmd.valid, cmd.ready, done, owed])
    timed = (owed == 1) & within(command)
    rules.assert_(f"{name}_done_on_time", ~timed | (done == (age == expected)),
                  f"{name}_done rises as many cycles after the command as the timing "
                  "model says, less one", [done, owed, command, age])
    return command
