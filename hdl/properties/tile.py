"""The tile core (:class:`cimtile.hdl.tile.Tile`): results, the shared analog port, the
write-verify budget and the compute latency.

The analog macro's answers (column codes, verify reads) are free inputs: every rule holds
whatever the array returns. "Computing" is the controller's view (a vector between its load
and its last plane), "programming" the write-verify engine's (``busy``); both are read from
those blocks' ports, as the tile's own ports cannot tell a vector that computes from one that
waits.
"""

from .handshake import channel_rules

__all__ = ["in_flight", "tile_environment", "result_rules", "analog_rules",
           "write_verify_rules", "latency_rules"]

def in_flight(config):
    """Vectors inside the tile at most: input buffer, bit-plane sequencer, shift-and-add,
    output buffer; pipelined two more under back-pressure, a one-plane vector converted and
    waiting in the ADC slots and the next one held in the bank, while the bit-plane
    sequencer drives a third."""
    return 6 if config.tile.pipeline else 4


def result_rules(rules, t, config, *, covers=True):
    """One result per accepted input vector, in order: the results delivered never outrun
    the vectors accepted, and at most :func:`in_flight` are inside. Asserts the output
    stream's rules and assumes the input stream's; `covers` adds the covers that show them
    reachable (a harness whose assumptions exclude a stall leaves them out).

    Returns
    -------
    Signal
        Vectors accepted and not yet delivered.
    """
    accepted = channel_rules(rules, "i_stream", valid=t.i_stream.valid,
                             ready=t.i_stream.ready, payload={"payload": t.i_stream.payload},
                             assume=True, covers=covers)
    delivered = channel_rules(rules, "o_stream", valid=t.o_stream.valid,
                              ready=t.o_stream.ready, payload={"payload": t.o_stream.payload},
                              covers=covers)
    most = in_flight(config)
    inside = rules.signal(range(most + 2), "vectors_inside")
    # Saturating, so that a design holding too many is seen rather than wrapped.
    with rules.module.If(inside <= most):
        rules.module.d.sync += inside.eq(inside + accepted - delivered)
    rules.assert_("result_only_for_a_vector", ~t.o_stream.valid | (inside != 0),
                  "a result is offered only for an accepted input vector",
                  [t.i_stream.valid, t.i_stream.ready, t.o_stream.valid, t.o_stream.ready,
                   inside])
    rules.assert_("vectors_inside_bounded", inside <= most,
                  f"at most {most} vectors are inside the tile",
                  [t.i_stream.valid, t.i_stream.ready, t.o_stream.valid, t.o_stream.ready,
                   inside])
    if covers:
        rules.cover("tile_full", inside == most, f"{most} vectors inside the tile",
                    [inside])
    return inside


def tile_environment(rules, t, config, inside):
    """The run-time settings a host may give: in range, and changed only while no vector is
    inside the tile or offered to it (the register block refuses changes while busy)."""
    for name, value, lo, hi in [("in_bits", t.in_bits, 1, config.tile.in_bits),
                                ("adc_shift", t.adc_shift, 0, config.adc_shift_max)]:
        rules.assume(f"{name}_in_range", (value >= lo) & (value <= hi),
                     f"{name} is in {lo}..{hi}", [value])
        before = rules.past(value, name)
        quiet = rules.past((inside == 0) & ~t.i_stream.valid, f"{name}_may_change")
        rules.assume(f"{name}_stable_while_busy",
                     rules.after_reset | quiet | (value == before),
                     f"{name} changes only while no vector is in the tile", [value, before])


def analog_rules(rules, t, config, controller):
    """The analog port is shared: no sample or wordline while programming, no pulse or
    verify read while computing, one one-cycle sample per plane.

    Parameters
    ----------
    config : :class:`cimtile.spec.config_derived.Config`
    controller : :class:`cimtile.hdl.controller.Controller`
    """
    m = rules.module
    idle = rules.named(controller.idle, "controller__idle")
    load = rules.named(controller.load, "controller__load")
    busy = t.prog_busy
    cell = t.analog.cell
    rules.assert_("no_sample_while_programming", ~t.analog.sample | ~busy,
                  "no sample-and-hold request while write-verify runs",
                  [t.analog.sample, busy])
    rules.assert_("no_wordline_while_programming", (t.analog.wl == 0) | ~busy,
                  "no wordline is driven while write-verify runs", [t.analog.wl, busy])
    rules.assert_("no_pulse_while_computing", ~cell.pulse | idle,
                  "no programming pulse while a vector computes", [cell.pulse, idle])
    rules.assert_("no_cell_read_while_computing", ~cell.read | idle,
                  "no verify read while a vector computes", [cell.read, idle])
    rules.assert_("pulse_only_while_programming", ~cell.pulse | busy,
                  "pulses only while write-verify runs", [cell.pulse, busy])

    sampled = rules.past(t.analog.sample, "sample")
    rules.assert_("sample_one_cycle", rules.after_reset | ~(t.analog.sample & sampled),
                  "the sample-and-hold strobe is high for one cycle at a time",
                  [t.analog.sample, sampled])
    # Samples of the vector being computed; a sample in the cycle of the next load is the
    # previous vector's last.
    count = rules.signal(range(config.tile.in_bits + 2), "vector_samples")
    active = rules.signal(1, "vector_active")
    so_far = count + t.analog.sample
    rules.assert_("one_sample_per_plane", ~(active & (load | idle)) | (so_far == t.in_bits),
                  "each vector is sampled once per plane: in_bits times",
                  [load, idle, t.analog.sample, count, active, t.in_bits])
    rules.assert_("samples_within_planes", ~active | (so_far <= t.in_bits),
                  "a vector is never sampled more often than it has planes",
                  [t.analog.sample, count, active, t.in_bits])
    with m.If(load):
        m.d.sync += [count.eq(0), active.eq(1)]
    with m.Elif(idle):
        m.d.sync += [count.eq(0), active.eq(0)]
    with m.Else():
        m.d.sync += count.eq(so_far)
    rules.cover("sample", t.analog.sample, "a sample-and-hold request", [t.analog.sample])
    _settle_rule(rules, t, config, controller)


def _settle_rule(rules, t, config, controller):
    """The wordlines a sample reads have been driven, unchanged, for t_settle cycles."""
    m = rules.module
    t_settle = config.timing.t_settle
    drive = rules.named(controller.drive, "controller__drive")
    # Cycles up to this one in which the wordlines were driven as now (at most t_settle + 1).
    steady = rules.signal(range(t_settle + 2), "wl_steady")
    before = rules.past(steady, "wl_steady")
    same = rules.past(drive, "drive") & (rules.past(t.analog.wl, "wl") == t.analog.wl)
    with m.If(~drive):
        m.d.comb += steady.eq(0)
    with m.Elif(same & (before <= t_settle)):
        m.d.comb += steady.eq(before + 1)
    with m.Elif(same):
        m.d.comb += steady.eq(before)
    with m.Else():
        m.d.comb += steady.eq(1)
    rules.assert_("wordlines_settled_at_sample", ~t.analog.sample | (steady > t_settle),
                  f"a sample reads wordlines driven unchanged for t_settle = {t_settle} "
                  "cycles before it", [t.analog.sample, drive, t.analog.wl, steady])


def write_verify_rules(rules, t, write_verify, config):
    """Write-verify stays inside its budget and rectangle: at most ``max_pulses`` pulses per
    cell, each reported with the cell's result; pulses and reads only inside
    ``WV_ROWS`` x ``WV_COLS``; no pulse in read-back. Asserts the result stream's rules and
    assumes the target stream's."""
    m = rules.module
    channel_rules(rules, "t_stream", valid=t.t_stream.valid, ready=t.t_stream.ready,
                  payload={"payload": t.t_stream.payload}, assume=True)
    reported = channel_rules(rules, "r_stream", valid=t.r_stream.valid,
                             ready=t.r_stream.ready, payload={"payload": t.r_stream.payload})
    start = rules.named(write_verify.start & ~write_verify.busy, "write_verify__start")
    # The settings of the run, latched when the engine takes them.
    s = rules.signal(t.prog_settings.shape(), "run_settings")
    read_only = rules.signal(1, "run_read_only")
    with m.If(start):
        m.d.sync += [s.eq(t.prog_settings), read_only.eq(t.prog_read_only)]

    cell = t.analog.cell
    pulses = rules.signal(len(t.r_stream.payload.pulses) + 1, "cell_pulses")
    with m.If(start | reported):
        m.d.sync += pulses.eq(0)
    with m.Elif(cell.pulse):
        m.d.sync += pulses.eq(pulses + 1)
    rules.assert_("pulses_within_budget", pulses <= s.max_pulses,
                  "no cell gets more than max_pulses pulses",
                  [cell.pulse, cell.row, cell.col, pulses, s])
    rules.assert_("pulses_reported", ~t.r_stream.valid
                  | (t.r_stream.payload.pulses == pulses),
                  "a cell's result reports the pulses it got",
                  [t.r_stream.valid, t.r_stream.payload, pulses])
    inside = ((cell.row >= s.row_first) & (cell.row <= s.row_last)
              & (cell.col >= s.col_first) & (cell.col <= s.col_last))
    rules.assert_("pulse_inside_rectangle", ~cell.pulse | inside,
                  "pulses only inside the WV_ROWS x WV_COLS rectangle",
                  [cell.pulse, cell.row, cell.col, s])
    rules.assert_("read_inside_rectangle", ~cell.read | inside,
                  "verify reads only inside the WV_ROWS x WV_COLS rectangle",
                  [cell.read, cell.row, cell.col, s])
    rules.assert_("no_pulse_in_read_back", ~cell.pulse | ~read_only,
                  "read-back applies no pulse", [cell.pulse, read_only])

    rules.cover("pulse", cell.pulse, "a programming pulse", [cell.pulse])
    rules.cover("write_verify_failure",
                reported & ~t.r_stream.payload.converged & ~read_only
                & (pulses == s.max_pulses),
                "a cell that fails to converge within max_pulses",
                [t.r_stream.valid, t.r_stream.payload, pulses])
    rules.cover("write_verify_converged", reported & t.r_stream.payload.converged
                & (pulses != 0), "a cell that converges after a pulse",
                [t.r_stream.valid, t.r_stream.payload, pulses])
    rules.cover("read_back", reported & read_only, "a read-back result",
                [t.r_stream.valid, read_only])
    rules.cover("refused_settings", t.prog_done & t.prog_error,
                "write-verify refuses invalid settings", [t.prog_done, t.prog_error])


def latency_rules(rules, t, config, inside):
    """Bounded liveness: with the output always ready and no programming, a result leaves
    at most ``config.result_latency`` cycles after its vector was accepted into an empty
    tile, or after the previous result left. Tight: a bound one cycle shorter fails."""
    m = rules.module
    rules.assume("output_always_ready", t.o_stream.ready, "the result sink never stalls",
                 [t.o_stream.ready])
    rules.assume("no_programming", ~t.prog_start, "write-verify is not started",
                 [t.prog_start])
    bound = config.result_latency
    # Cycles since the vector was accepted into an empty tile or the previous result left.
    waited = rules.signal(range(bound + 2), "result_wait")
    delivered = t.o_stream.valid & t.o_stream.ready
    with m.If((inside == 0) | delivered):
        m.d.sync += waited.eq(1)
    with m.Elif(waited <= bound):
        m.d.sync += waited.eq(waited + 1)
    rules.assert_("result_latency", (inside == 0) | (waited <= bound),
                  f"a result leaves at most result_latency = {bound} cycles after its "
                  "vector entered an empty tile or the previous result left",
                  [t.i_stream.valid, t.i_stream.ready, t.o_stream.valid, inside, waited])
    rules.cover("result_at_bound", delivered & (waited == bound),
                "a result that takes the whole bound", [t.o_stream.valid, waited])
