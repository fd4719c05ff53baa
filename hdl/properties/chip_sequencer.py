"""The chip sequencer (:class:`cimtile.hdl.chip_sequencer.ChipSequencer`): it never issues
while a hazard of :mod:`cimtile.models.chip_timing` is open.

The rules watch the ports only: a monitor rebuilds from the command transfers and the units'
``done`` bits what is in flight (each tile's MVM and the span it reads, the ACC and the
MOVE with their spans, how many results of each tile no ACC has taken), independently of
the sequencer's scoreboard. The program (the host's writes), ``start`` and the units' answers
are free; a unit is assumed to raise ``done`` only for a command in flight, after the cycle
it took it.
"""

from types import SimpleNamespace

from amaranth.hdl import Cat

from .handshake import channel_rules

__all__ = ["sequencer_rules"]


def _overlap(first_a, length_a, first_b, length_b):
    """Whether activations first_a.. (length_a of them) and first_b.. share one."""
    return (first_a < first_b + length_b) & (first_b < first_a + length_a)


def _covers(first, count, t):
    """Whether the tiles first.. (count of them) include tile t."""
    return (first <= t) & (t < first + count)


def sequencer_rules(rules, p, tiles, buffers):
    """Add the sequencer's rules for its exposed ports `p` (:func:`~cimtile.flows.formal.
    harness.expose`) on a chip of `tiles` tiles of `buffers` result buffers to `rules`.

    Asserted: each command port keeps the stream rules; at most one command a cycle; an
    MVM goes to a tile with no MVM in flight and a free result buffer (its unread results
    and the one the ACC in flight reads fill fewer than `buffers`); an ACC issues with no
    ACC in flight and each of its tiles' oldest unread result complete; a MOVE
    with no MOVE in flight; no command reads a span an ACC or MOVE in flight writes, nor
    writes a span one writes or an MVM or MOVE in flight reads; ``done`` rises only with
    nothing in flight.
    """
    mon = _monitor(rules, p, tiles, buffers)
    _span_rules(rules, p, mon)
    _unit_rules(rules, p, mon, tiles, buffers)


def _monitor(rules, p, tiles, buffers):
    """What is in flight, rebuilt from the transfers and the done bits, and the units'
    assumed behaviour; a namespace of the transfers and the monitor's registers."""
    m = rules.module
    mvm_ports = [getattr(p.mvm, str(t)) for t in range(tiles)]
    took_mvm = [channel_rules(rules, f"mvm__{t}", valid=port.valid, ready=port.ready,
                              payload={"payload": port.payload}, covers=False)
                for t, port in enumerate(mvm_ports)]
    took_acc = channel_rules(rules, "acc", valid=p.acc.valid, ready=p.acc.ready,
                             payload={"payload": p.acc.payload})
    took_move = channel_rules(rules, "move", valid=p.move.valid, ready=p.move.ready,
                              payload={"payload": p.move.payload})
    acc, move = p.acc.payload, p.move.payload
    mvm_busy = rules.signal(tiles, "mon__mvm_busy")
    # One more than a full count: an MVM issued on a full tile must not wrap it to zero.
    unread = [rules.signal(range(buffers + 2), f"mon__unread_{t}") for t in range(tiles)]
    mvm_span = [(rules.signal(len(port.payload.src), f"mon__mvm_{t}_src"),
                 rules.signal(len(port.payload.length), f"mon__mvm_{t}_length"))
                for t, port in enumerate(mvm_ports)]
    acc_busy = rules.signal(1, "mon__acc_busy")
    acc_held = rules.signal(len(acc.as_value()), "mon__acc")
    move_busy = rules.signal(1, "mon__move_busy")
    move_held = rules.signal(len(move.as_value()), "mon__move")
    acc_issued = rules.signal(1, "mon__acc_issued")

    with m.If(p.start & ~p.busy):
        m.d.sync += [*(n.eq(0) for n in unread), acc_issued.eq(0)]
    for t, took in enumerate(took_mvm):
        with m.If(took):
            m.d.sync += [mvm_busy[t].eq(1), unread[t].eq(unread[t] + 1),
                         mvm_span[t][0].eq(mvm_ports[t].payload.src),
                         mvm_span[t][1].eq(mvm_ports[t].payload.length)]
        with m.If(p.mvm_done[t]):
            m.d.sync += mvm_busy[t].eq(0)
    with m.If(took_acc):
        m.d.sync += [acc_busy.eq(1), acc_held.eq(acc.as_value()), acc_issued.eq(1)]
        for t in range(tiles):
            with m.If(_covers(acc.tile, acc.count, t) & (unread[t] != 0)):
                m.d.sync += unread[t].eq(unread[t] - 1)
    with m.If(p.acc_done):
        m.d.sync += acc_busy.eq(0)
    with m.If(took_move):
        m.d.sync += [move_busy.eq(1), move_held.eq(move.as_value())]
    with m.If(p.move_done):
        m.d.sync += move_busy.eq(0)

    for t in range(tiles):
        rules.assume(f"mvm_{t}_done_in_flight", ~p.mvm_done[t] | mvm_busy[t],
                     f"tile {t} completes only an MVM in flight", [p.mvm_done, mvm_busy])
    rules.assume("acc_done_in_flight", ~p.acc_done | acc_busy,
                 "the post-processing unit completes only an ACC in flight",
                 [p.acc_done, acc_busy])
    rules.assume("move_done_in_flight", ~p.move_done | move_busy,
                 "the mover completes only a MOVE in flight", [p.move_done, move_busy])
    return SimpleNamespace(
        mvm_ports=mvm_ports, took_mvm=took_mvm, took_acc=took_acc, took_move=took_move,
        mvm_busy=mvm_busy, unread=unread, mvm_span=mvm_span, acc_busy=acc_busy,
        acc_held=acc_held, acc_was=acc.shape()(acc_held), move_busy=move_busy,
        move_held=move_held, move_was=move.shape()(move_held), acc_issued=acc_issued)


def _span_rules(rules, p, mon):
    """No command reads or writes against what is in flight (read after write, write after
    write, write after read)."""
    acc, move = p.acc.payload, p.move.payload
    writers = [(mon.acc_busy, mon.acc_was.dst, mon.acc_was.length),
               (mon.move_busy, mon.move_was.dst, mon.move_was.length)]
    readers = [(mon.mvm_busy[t], src, length) for t, (src, length) in enumerate(mon.mvm_span)]
    readers.append((mon.move_busy, mon.move_was.src, mon.move_was.length))

    def meets(spans, first, length):
        return Cat(busy & _overlap(first, length, f, n) for busy, f, n in spans).any()

    reads = [(took, port.payload.src, port.payload.length)
             for took, port in zip(mon.took_mvm, mon.mvm_ports)]
    reads.append((mon.took_move, move.src, move.length))
    writes = [(mon.took_acc, acc.dst, acc.length), (mon.took_move, move.dst, move.length)]
    involved = [p.acc.valid, p.move.valid, mon.mvm_busy, mon.acc_busy, mon.acc_held,
                mon.move_busy, mon.move_held]
    for name, broken, text in [
            ("no_read_after_write",
             Cat(took & meets(writers, f, n) for took, f, n in reads).any(),
             "no command reads activations an ACC or MOVE in flight writes"),
            ("no_write_after_write",
             Cat(took & meets(writers, f, n) for took, f, n in writes).any(),
             "no command writes activations an ACC or MOVE in flight writes"),
            ("no_write_after_read",
             Cat(took & meets(readers, f, n) for took, f, n in writes).any(),
             "no command writes activations an MVM or MOVE in flight reads")]:
        rules.assert_(name, ~broken, text, involved)


def _unit_rules(rules, p, mon, tiles, buffers):
    """Each unit takes a command only when free, one command a cycle, done only once all
    completed; covers of a run ending with and without an error, and, with several result
    buffers, of an MVM into a tile that holds an unread result."""
    acc = p.acc.payload
    being_read = [mon.acc_busy & _covers(mon.acc_was.tile, mon.acc_was.count, t)
                  for t in range(tiles)]
    tile_busy = Cat(mon.mvm_busy[t] | (mon.unread[t] + being_read[t] >= buffers)
                    for t in range(tiles))
    rules.assert_("mvm_tile_free", ~Cat(took & tile_busy[t]
                                        for t, took in enumerate(mon.took_mvm)).any(),
                  "an MVM goes to a tile with no MVM in flight and a free result buffer",
                  [*(port.valid for port in mon.mvm_ports), *mon.unread, mon.mvm_busy,
                   mon.acc_busy, mon.acc_held])
    rules.assert_("one_acc_at_a_time", ~(mon.took_acc & mon.acc_busy),
                  "an ACC issues only once the ACC before it has completed",
                  [p.acc.valid, p.acc.ready, mon.acc_busy])
    results_ready = ~Cat(mon.mvm_busy[t] & (mon.unread[t] == 1)
                         & _covers(acc.tile, acc.count, t) for t in range(tiles)).any()
    rules.assert_("acc_results_ready", ~mon.took_acc | results_ready,
                  "an ACC issues only once its tiles' oldest unread results are complete",
                  [p.acc.valid, p.acc.payload, mon.mvm_busy, *mon.unread])
    rules.assert_("one_move_at_a_time", ~(mon.took_move & mon.move_busy),
                  "a MOVE issues only once the MOVE before it has completed",
                  [p.move.valid, p.move.ready, mon.move_busy])
    transfers = Cat(*mon.took_mvm, mon.took_acc, mon.took_move)
    rules.assert_("one_command_a_cycle", (transfers & (transfers - 1)) == 0,
                  "at most one command issues a cycle",
                  [*(port.valid for port in mon.mvm_ports), p.acc.valid, p.move.valid])
    in_flight = Cat(mon.mvm_busy, mon.acc_busy, mon.move_busy).any()
    rules.assert_("done_when_all_completed", ~p.done | ~in_flight,
                  "done is high only with nothing in flight",
                  [p.done, mon.mvm_busy, mon.acc_busy, mon.move_busy])
    error = p.error.as_value()
    rules.cover("done_after_acc", p.done & (error == 0) & mon.acc_issued,
                "a run that issued an ACC ends without an error", [p.done, p.error])
    rules.cover("error", p.done & (error != 0), "a run ends with an error",
                [p.done, p.error])
    if buffers > 1:
        rules.cover("mvm_into_a_second_buffer",
                    Cat(took & (mon.unread[t] != 0) for t, took in enumerate(mon.took_mvm)).any(),
                    "a tile takes an MVM while it holds an unread result",
                    [*(port.valid for port in mon.mvm_ports), *mon.unread])
