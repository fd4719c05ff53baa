"""Functional coverage of the host tile, counted in RTL at its ports.

The monitor sits beside the tile in the checked simulated top (:mod:`cimtile.tb.tops.host_top`)
and watches the same signals as the protocol checkers: the AXI4-Lite bus, the four
AXI4-Stream ports, ``irq`` and the analog-macro port. Every bin is a saturating counter;
the counters leave the top on one wide port (``cov__counts``) that a testbench reads once,
at the end of a run, so coverage costs no Python wake-up while the simulation runs and works
alone in either drive mode.

What the bins are is declared once, for a configuration, by
:func:`cimtile.tb.tops.coverage_bins.declare_bins`; the monitor builds one condition per
declared bin and refuses to elaborate if the two lists differ. Register accesses are
decoded from the bus, with the monitor's own copy of the run-time settings, by
:mod:`cimtile.tb.tops.coverage_registers`, which counts the register block's bins; the bins
of its control rules (writes while busy, events arbitrated in one cycle, the remap table)
are :mod:`cimtile.tb.tops.coverage_control`'s. This module counts the datapath's bins
(arithmetic, schedule, streams, write-verify, soft resets) and holds the counters.
"""

from amaranth.hdl import Cat, Const, Module, Mux, ResetSignal, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from cimtile.hdl.analog_port import Polarity
from cimtile.hdl.stream_pack import lane_width
from cimtile.spec.regmap import Mode

from .coverage_bins import (COUNT_BITS, MANY, Bin, clip_reachable, declare_bins,
                            schedule_bins)
from .coverage_control import control_bins
from .coverage_registers import register_bins

__all__ = ["CoverageMonitor"]


def _watched(signature):
    """``{"s_axil__awaddr": In(...), ...}``: every port of `signature`, as an input."""
    return {"__".join(str(p) for p in path): In(member.shape)
            for path, member in signature.members.flatten() if member.is_port}


class CoverageMonitor(wiring.Component):
    """Counts the bins of :func:`declare_bins` from the host tile's ports.

    Parameters
    ----------
    config : Config
    host_signature : wiring.Signature
        The signature of the watched host tile (:class:`cimtile.hdl.host.HostTile`).

    Members
    -------
    <every port of the host> : ``In``
        Named by path joined with ``__`` (``s_axil__awaddr``), driven by :meth:`watch`.
    counts : ``Out(len(bins) * COUNT_BITS)``
        The counters, bin 0 in the lowest bits; they survive hard resets.
    """

    def __init__(self, config, host_signature):
        self.config = config
        self.bins = declare_bins(config)
        self._host_signature = host_signature
        super().__init__(_watched(host_signature)
                         | {"counts": Out(len(self.bins) * COUNT_BITS)})

    def watch(self, m, host):
        """Drive the monitor's inputs from the ports of `host`, combinationally in `m`."""
        for path, member, signal in self._host_signature.flatten(host):
            m.d.comb += getattr(self, "__".join(str(p) for p in path)).eq(signal)

    def _port(self, name):
        return getattr(self, name)

    def elaborate(self, platform):
        m = Module()
        hits = {}
        self.regs = register_bins(m, hits, self.config, self._port)
        self._arithmetic(m, hits)
        self._schedule(m, hits)
        self._streams(m, hits)
        self._write_verify(m, hits)
        self._resets(m, hits)
        control_bins(m, hits, self.config, self.regs.bus, self._port)
        missing = [str(b) for b in self.bins if (b.group, b.name) not in hits]
        extra = [f"{g}/{n}" for g, n in hits if Bin(g, n) not in self.bins]
        if missing or extra:
            raise ValueError(f"coverage bins without a condition: {missing}; conditions "
                             f"without a bin: {extra}")
        top = (1 << COUNT_BITS) - 1
        counters = []
        for index, b in enumerate(self.bins):
            counter = Signal(COUNT_BITS, name=f"bin{index}", reset_less=True)
            with m.If(hits[(b.group, b.name)] & (counter != top)):
                m.d.sync += counter.eq(counter + 1)
            counters.append(counter)
        m.d.comb += self.counts.eq(Cat(*counters))
        return m

    # ADC codes, wordlines and input values.

    def _arithmetic(self, m, hits):
        cfg, p = self.config, self._port
        sample = p("analog__sample")
        shift = p("analog__adc_shift")
        bits = cfg.tile.adc_bits
        packed = p("analog__codes").as_value()
        codes = [packed[bits * c:bits * (c + 1)] for c in range(cfg.cols_phys)]
        any_zero = Const(0, 1)
        any_max = Const(0, 1)
        for code in codes:
            any_zero |= code == 0
            any_max |= code == cfg.max_code
        for s in range(cfg.adc_shift_max + 1):
            hits[("arithmetic", f"code 0 at adc_shift={s}")] = sample & (shift == s) & any_zero
            if clip_reachable(cfg, s):
                hits[("arithmetic", f"code max (clipped) at adc_shift={s}")] = (
                    sample & (shift == s) & any_max)
        for i in range(1, cfg.tile.in_bits + 1):
            for s in range(cfg.adc_shift_max + 1):
                hits[("settings", f"in_bits={i},adc_shift={s}")] = (
                    sample & (self.regs.in_bits == i) & (shift == s))
        wl = p("analog__wl")
        hits[("arithmetic", "plane all zero")] = sample & (wl == 0)
        hits[("arithmetic", "plane all ones")] = sample & (wl == (1 << cfg.tile.rows) - 1)
        in_max = cfg.tile.in_bits
        lane = lane_width(in_max)
        width = cfg.host.data_width
        fire = p("s_axis_in__tvalid") & p("s_axis_in__tready")
        ones = Const((1 << in_max) - 1, in_max)
        negative = Signal(in_max)
        m.d.comb += negative.eq((ones << (self.regs.in_bits - 1).as_unsigned())[:in_max])
        positive = ~negative & ones
        is_negative, is_positive = Const(0, 1), Const(0, 1)
        for index in range(width // lane):
            value = p("s_axis_in__tdata")[index * lane:index * lane + in_max]
            kept = p("s_axis_in__tkeep")[index * lane // 8]
            is_negative |= kept & (value == negative)
            is_positive |= kept & (value == positive) & (value != 0)
        hits[("arithmetic", "input most negative")] = fire & is_negative
        hits[("arithmetic", "input most positive")] = fire & is_positive

    def _schedule(self, m, hits):
        """Samples at the pace of the tile's schedule and conversion rate, and planes held
        back behind it, seen at the analog port."""
        cfg, sample, regs = self.config, self._port("analog__sample"), self.regs
        # Cycles since the last sample, held at plane_cycles + 1 once further (and from
        # reset, so a vector's first plane after idling counts for nothing).
        since = Signal(range(cfg.plane_cycles + 2), init=cfg.plane_cycles + 1)
        with m.If(sample):
            m.d.sync += since.eq(1)
        with m.Elif(since <= cfg.plane_cycles):
            m.d.sync += since.eq(since + 1)
        # The plane within its vector of the next sample: a vector is in_bits samples.
        plane = Signal(range(cfg.tile.in_bits))
        with m.If(regs.soft_reset):
            m.d.sync += plane.eq(0)
        with m.Elif(sample):
            m.d.sync += plane.eq(Mux(plane == regs.in_bits - 1, 0, plane + 1))
        paced = sample & (since == cfg.plane_cycles)
        held = sample & (plane != 0) & (since > cfg.plane_cycles)
        for name, at_pace in schedule_bins(cfg).items():
            hits[("schedule", name)] = paced if at_pace else held

    # Stream behaviour.

    def _streams(self, m, hits):
        cfg, p = self.config, self._port
        width = cfg.host.data_width
        in_valid, in_ready = p("s_axis_in__tvalid"), p("s_axis_in__tready")
        in_fire, in_last = in_valid & in_ready, p("s_axis_in__tlast")
        per_vector = -(-cfg.tile.rows * lane_width(cfg.tile.in_bits) // width)
        in_frame = Signal()
        beat = Signal(range(per_vector + 1))
        vector_end = in_fire & (beat == per_vector - 1)
        with m.If(in_fire):
            m.d.sync += in_frame.eq(~in_last)
            with m.If(in_last | (beat == per_vector - 1)):
                m.d.sync += beat.eq(0)
            with m.Else():
                m.d.sync += beat.eq(beat + 1)
        hits[("stream", "input gap")] = in_frame & ~in_valid
        hits[("stream", "input fifo full")] = in_valid & ~in_ready & ~ResetSignal()
        quiet = Signal(range(cfg.analog_cycles_per_mvm + 2))
        with m.If(in_valid | ~in_frame):
            m.d.sync += quiet.eq(0)
        with m.Elif(quiet <= cfg.analog_cycles_per_mvm):
            m.d.sync += quiet.eq(quiet + 1)
        # A whole MVM's time with an open batch and nothing offered: the tile ran dry.
        hits[("stream", "input empty mid-batch")] = quiet == cfg.analog_cycles_per_mvm
        hits[("stream", "tkeep error")] = in_fire & (p("s_axis_in__tkeep") != (1 << width // 8)
                                                     - 1)
        hits[("stream", "early tlast")] = in_fire & in_last & (beat != per_vector - 1)

        out_valid, out_ready = p("m_axis_out__tvalid"), p("m_axis_out__tready")
        out_fire, out_last = out_valid & out_ready, p("m_axis_out__tlast")
        out_data = out_fire & (p("m_axis_out__tkeep") != 0)
        stall = Signal(range(MANY + 1))
        with m.If(out_fire):
            m.d.sync += stall.eq(0)
        with m.Elif(out_valid & (stall != MANY)):
            m.d.sync += stall.eq(stall + 1)
        hits[("stream", "output stall 0")] = out_fire & (stall == 0)
        hits[("stream", "output stall 1")] = out_fire & (stall == 1)
        hits[("stream", f"output stall 2..{MANY - 1}")] = (out_fire & (stall >= 2)
                                                            & (stall < MANY))
        hits[("stream", f"output stall >={MANY}")] = out_fire & (stall == MANY)
        per_item = -(-cfg.tile.cols * lane_width(cfg.result_width) // width)
        item_beat = Signal(range(per_item + 1))
        items = Signal(range(MANY + 1))
        item_end = out_data & (item_beat == per_item - 1)
        with m.If(item_end):
            m.d.sync += item_beat.eq(0)
        with m.Elif(out_data):
            m.d.sync += item_beat.eq(item_beat + 1)
        counted = Signal(range(MANY + 1))
        m.d.comb += counted.eq(items + (item_end & (items != MANY)))
        with m.If(out_fire & out_last):
            m.d.sync += [items.eq(0), item_beat.eq(0)]
        with m.Elif(item_end):
            m.d.sync += items.eq(counted)
        closing = out_fire & out_last
        hits[("stream", "batch of 1")] = closing & (counted == 1)
        hits[("stream", f"batch 2..{MANY - 1}")] = closing & (counted >= 2) & (counted < MANY)
        hits[("stream", f"batch >={MANY}")] = closing & (counted == MANY)
        hits[("stream", "frame closed by null beat")] = closing & (p("m_axis_out__tkeep") == 0)
        # Vectors inside the tile: taken whole at the input, not yet out as results.
        inside = Signal(range(64))
        self.computing = inside != 0
        with m.If(self.regs.soft_reset | self.regs.status_idle):
            m.d.sync += inside.eq(0)
        with m.Elif(vector_end & ~item_end & (inside != 63)):
            m.d.sync += inside.eq(inside + 1)
        with m.Elif(item_end & ~vector_end & (inside != 0)):
            m.d.sync += inside.eq(inside - 1)

    # Write-verify runs, cell by cell.

    def _write_verify(self, m, hits):
        cfg, p = self.config, self._port
        pulse, read = p("analog__cell__pulse"), p("analog__cell__read")
        polarity, amplitude = p("analog__cell__polarity"), p("analog__cell__amplitude")
        row, col = p("analog__cell__row"), p("analog__cell__col")
        cell_valid, cell_ready = p("m_axis_cell__tvalid"), p("m_axis_cell__tready")
        cell_fire = cell_valid & cell_ready
        running, read_back = Signal(), Signal()
        regs = self.regs
        with m.If(regs.soft_reset | regs.status_idle | (cell_fire & p("m_axis_cell__tlast"))):
            m.d.sync += running.eq(0)
        with m.Elif(self.regs.run_start):
            m.d.sync += [running.eq(1), read_back.eq(self.regs.mode == Mode.READ_BACK)]
        self.programming = running & ~read_back
        self.read_back = running & read_back
        started = self.regs.run_start & (self.regs.mode == Mode.PROGRAM)
        hits[("write_verify", "run with tol=0")] = started & (self.regs.tol == 0)
        hits[("write_verify", "run with max_pulses=1")] = started & (self.regs.max_pulses == 1)
        hits[("write_verify", "single-cell rectangle")] = started & self.regs.single_cell
        reads = Signal()
        with m.If(self.regs.run_start):
            m.d.sync += reads.eq(0)
        with m.Elif(read):
            m.d.sync += reads.eq(1)
        hits[("write_verify", "read-back run")] = (cell_fire & p("m_axis_cell__tlast")
                                                   & self.read_back & (reads | read))
        # Each cell's pulse history, closed when another cell is addressed or the run ends.
        cur_row, cur_col = Signal.like(row), Signal.like(col)
        saw_set, saw_reset = Signal(), Signal()
        touch = pulse | read
        moved = touch & ((row != cur_row) | (col != cur_col))
        close = moved | (cell_fire & p("m_axis_cell__tlast")) | self.regs.soft_reset
        hits[("write_verify", "SET pulses only")] = close & saw_set & ~saw_reset
        hits[("write_verify", "RESET pulses only")] = close & saw_reset & ~saw_set
        hits[("write_verify", "polarity flip")] = close & saw_set & saw_reset
        is_set = pulse & (polarity == Polarity.SET)
        is_reset = pulse & (polarity == Polarity.RESET)
        with m.If(close):
            m.d.sync += [saw_set.eq(is_set & moved), saw_reset.eq(is_reset & moved)]
        with m.Else():
            m.d.sync += [saw_set.eq(saw_set | is_set), saw_reset.eq(saw_reset | is_reset)]
        with m.If(touch):
            m.d.sync += [cur_row.eq(row), cur_col.eq(col)]
        hits[("write_verify", "SET amplitude at limit")] = is_set & (amplitude == regs.set_limit)
        hits[("write_verify", "RESET amplitude at limit")] = (is_reset
                                                              & (amplitude == regs.reset_limit))
        pulse_left = Signal(16)
        with m.If(pulse):
            m.d.sync += pulse_left.eq(p("analog__cell__width"))
        with m.Elif(pulse_left != 0):
            m.d.sync += pulse_left.eq(pulse_left - 1)
        self.pulse_wait = (pulse_left != 0) | pulse
        # Per-cell results: 32-bit lanes (pulses[7:0], converged[8]) under their TKEEP.
        data, keep = p("m_axis_cell__tdata"), p("m_axis_cell__tkeep")
        zero, after, failed = Const(0, 1), Const(0, 1), Const(0, 1)
        for lane in range(cfg.host.data_width // 32):
            pulses, converged = data[32 * lane:32 * lane + 8], data[32 * lane + 8]
            kept = keep[4 * lane]
            zero |= kept & converged & (pulses == 0)
            after |= kept & converged & (pulses != 0)
            failed |= kept & ~converged & (pulses == self.regs.max_pulses)
        programmed = cell_fire & self.programming
        hits[("write_verify", "converged with 0 pulses")] = programmed & zero
        hits[("write_verify", "converged after pulses")] = programmed & after
        hits[("write_verify", "failed at max_pulses")] = programmed & failed

    def _resets(self, m, hits):
        p = self._port
        states = {
            "computing": self.computing,
            "out_stalled": p("m_axis_out__tvalid") & ~p("m_axis_out__tready"),
            "in_full": p("s_axis_in__tvalid") & ~p("s_axis_in__tready"),
            "programming": self.programming,
            "pulse_wait": self.pulse_wait,
            "read_back": self.read_back,
            "cell_stalled": p("m_axis_cell__tvalid") & ~p("m_axis_cell__tready"),
        }
        busy = Const(0, 1)
        for state, active in states.items():
            hits[("reset", f"soft reset while {state}")] = self.regs.soft_reset & active
            busy |= active
        hits[("reset", "soft reset while idle")] = self.regs.soft_reset & ~busy
