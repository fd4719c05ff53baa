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
decoded from the bus (address on AW/AR, data on W/R, the answer on B/R), and the monitor
keeps its own copy of the run-time settings from the writes the tile accepted, as a host
driver would. The bins of the register block's control rules (writes while busy, events
arbitrated in one cycle, the remap table) are :mod:`cimtile.tb.tops.coverage_control`'s.
"""

from amaranth.hdl import Cat, Const, Module, ResetSignal, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from cimtile.hdl.analog_port import Polarity
from cimtile.hdl.axi_lite import AxiResp
from cimtile.hdl.stream_pack import lane_width
from cimtile.spec.regmap import REGISTERS, ErrorCause, Mode, register

from .coverage_bins import (COUNT_BITS, MANY, MODES, SOFT_RESET_STATES, Bin, clip_reachable,
                            declare_bins)
from .coverage_control import BusView, control_bins

__all__ = ["CoverageMonitor"]

#: Cycles within which a write is taken as the cause of an interrupt's fall.
_RECENT = 4


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
        self._registers(m, hits)
        self._arithmetic(m, hits)
        self._streams(m, hits)
        self._write_verify(m, hits)
        self._resets(m, hits)
        control_bins(m, hits, self.config, self.bus, self._port)
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

    # Register accesses and the monitor's copy of the settings.

    def _registers(self, m, hits):
        cfg, p = self.config, self._port
        aw_fire = p("s_axil__awvalid") & p("s_axil__awready")
        w_fire = p("s_axil__wvalid") & p("s_axil__wready")
        aw_held, w_held = Signal(), Signal()
        aw_addr, w_data, w_strb = Signal(12), Signal(32), Signal(4)
        addr = Signal(12)
        data = Signal(32)
        strb = Signal(4)
        with m.If(aw_fire):
            m.d.comb += addr.eq(p("s_axil__awaddr"))
        with m.Else():
            m.d.comb += addr.eq(aw_addr)
        with m.If(w_fire):
            m.d.comb += [data.eq(p("s_axil__wdata")), strb.eq(p("s_axil__wstrb"))]
        with m.Else():
            m.d.comb += [data.eq(w_data), strb.eq(w_strb)]
        # A write is accepted when both its address and its data have been taken.
        accept = (aw_fire | aw_held) & (w_fire | w_held)
        with m.If(accept):
            m.d.sync += [aw_held.eq(0), w_held.eq(0)]
        with m.Else():
            with m.If(aw_fire):
                m.d.sync += [aw_held.eq(1), aw_addr.eq(p("s_axil__awaddr"))]
            with m.If(w_fire):
                m.d.sync += [w_held.eq(1), w_data.eq(p("s_axil__wdata")),
                             w_strb.eq(p("s_axil__wstrb"))]
        pend_addr, pend_data, pend_strb = Signal(12), Signal(32), Signal(4)
        with m.If(accept):
            m.d.sync += [pend_addr.eq(addr), pend_data.eq(data), pend_strb.eq(strb)]
        b_fire = p("s_axil__bvalid") & p("s_axil__bready")
        okay = p("s_axil__bresp") == AxiResp.OKAY
        ar_fire = p("s_axil__arvalid") & p("s_axil__arready")
        r_fire = p("s_axil__rvalid") & p("s_axil__rready")
        rd_addr = Signal(12)
        with m.If(ar_fire):
            m.d.sync += rd_addr.eq(p("s_axil__araddr"))
        rdata, r_okay = p("s_axil__rdata"), p("s_axil__rresp") == AxiResp.OKAY

        def at(address, reg):
            return address[2:] == reg.offset >> 2

        mapped_w = Const(0, 1)
        mapped_r = Const(0, 1)
        for reg in REGISTERS:
            hits[("registers", f"read {reg.name}")] = r_fire & at(rd_addr, reg) & r_okay
            hits[("registers", f"write {reg.name}")] = b_fire & at(pend_addr, reg)
            mapped_w |= at(pend_addr, reg)
            mapped_r |= at(rd_addr, reg)
        decerr = AxiResp.DECERR
        hits[("registers", "read unmapped")] = (r_fire & ~mapped_r
                                                & (p("s_axil__rresp") == decerr))
        hits[("registers", "write unmapped")] = (b_fire & ~mapped_w
                                                 & (p("s_axil__bresp") == decerr))

        # The settings as the tile holds them: the merged word of every accepted write.
        def merged(shadow):
            mask = Cat(*[b.replicate(8) for b in pend_strb])
            return (shadow & ~mask) | (pend_data & mask)

        SETTINGS, STATUS = register("SETTINGS"), register("STATUS")
        IRQ_ENABLE, IRQ_STATUS, CTRL = (register("IRQ_ENABLE"), register("IRQ_STATUS"),
                                        register("CTRL"))
        shadows = {}
        for name in ("SETTINGS", "IRQ_ENABLE", "WV_TOL", "WV_SET", "WV_RESET", "WV_PULSE",
                     "WV_ROWS", "WV_COLS", "REMAP_COL"):
            reg = register(name)
            shadow = Signal(32, name=f"shadow_{name.lower()}", init=reg.reset_value(cfg))
            word = merged(shadow)
            with m.If(b_fire & okay & at(pend_addr, reg)):
                m.d.sync += shadow.eq(word)
            shadows[name] = (shadow, word)
        settings, settings_word = shadows["SETTINGS"]

        def field(word, reg, name):
            f = reg.field(name)
            return word[f.lsb:f.lsb + f.width]

        self.mode = field(settings, SETTINGS, "mode")
        self.in_bits = field(settings, SETTINGS, "in_bits")
        self.irq_enable = shadows["IRQ_ENABLE"][0]
        self.tol = field(shadows["WV_TOL"][0], register("WV_TOL"), "tol")
        self.set_limit = field(shadows["WV_SET"][0], register("WV_SET"), "limit")
        self.reset_limit = field(shadows["WV_RESET"][0], register("WV_RESET"), "limit")
        self.max_pulses = field(shadows["WV_PULSE"][0], register("WV_PULSE"), "max_pulses")
        rows, cols = shadows["WV_ROWS"][0], shadows["WV_COLS"][0]
        self.single_cell = (rows[:16] == rows[16:]) & (cols[:16] == cols[16:])
        wv = {f"{name}.{f.name}": field(shadows[name][0], register(name), f.name)
              for name in ("WV_SET", "WV_RESET", "WV_PULSE") for f in register(name).fields}
        # What the write-verify engine refuses at start (the range checks keep the rest).
        wv_invalid = ((wv["WV_SET.start"] > wv["WV_SET.limit"])
                      | (wv["WV_RESET.start"] > wv["WV_RESET.limit"])
                      | (wv["WV_SET.step"] == 0) | (wv["WV_RESET.step"] == 0)
                      | (wv["WV_PULSE.max_pulses"] == 0) | (wv["WV_PULSE.width"] == 0)
                      | (rows[:16] > rows[16:]) | (cols[:16] > cols[16:]))

        settings_write = b_fire & at(pend_addr, SETTINGS)
        new_mode = field(settings_word, SETTINGS, "mode")
        for a in Mode:
            for b in Mode:
                if a != b:
                    hits[("settings", f"mode {MODES[a]}->{MODES[b]}")] = (
                        settings_write & okay & (self.mode == a) & (new_mode == b))
        refused = settings_write & (p("s_axil__bresp") == AxiResp.SLVERR)
        in_max, shift_max = cfg.tile.in_bits, cfg.adc_shift_max
        new_in = field(settings_word, SETTINGS, "in_bits")
        new_shift = field(settings_word, SETTINGS, "adc_shift")
        hits[("settings", "refused in_bits=0")] = refused & (new_in == 0)
        hits[("settings", f"refused in_bits={in_max + 1}")] = refused & (new_in == in_max + 1)
        hits[("settings", f"refused adc_shift={shift_max + 1}")] = (
            refused & (new_shift == shift_max + 1))
        hits[("settings", "refused mode=3")] = refused & (new_mode == 3)

        # Error causes as the host reads them.
        status_read = r_fire & at(rd_addr, STATUS)
        cause = field(rdata, STATUS, "cause")
        for c in ErrorCause:
            if c != ErrorCause.NONE:
                hits[("registers", f"cause {c.name}")] = (
                    status_read & field(rdata, STATUS, "error") & (cause == c))

        # Commands, taken when the write is accepted (the tile acts on it then).
        ctrl = accept & at(addr, CTRL) & strb[0]
        self.soft_reset = ctrl & field(data, CTRL, "soft_reset")
        start_okay = b_fire & okay & at(pend_addr, CTRL) & pend_strb[0] & \
            field(pend_data, CTRL, "start") & ~field(pend_data, CTRL, "soft_reset")
        # A start that begins a run: the engine refuses the others at once.
        self.run_start = start_okay & ~wv_invalid
        self.status_idle = status_read & ~field(rdata, STATUS, "busy")
        # The register block performs a write when it holds both halves and no response.
        perform = ~p("s_axil__awready") & ~p("s_axil__wready") & ~p("s_axil__bvalid")
        self.bus = BusView(
            at=at, b_fire=b_fire, okay=okay, refused=b_fire & (p("s_axil__bresp")
                                                                == AxiResp.SLVERR),
            addr=pend_addr, data=pend_data, strb=pend_strb, perform=perform, merged=merged,
            shadows={name: shadow for name, (shadow, _) in shadows.items()},
            status_read=status_read, rdata=rdata, soft_reset=self.soft_reset,
            start=start_okay, wv_invalid=wv_invalid)

        # Interrupts.
        irq, irq_before = p("irq"), Signal()
        m.d.sync += irq_before.eq(irq)
        rise, fall = irq & ~irq_before, ~irq & irq_before
        enable_done = field(self.irq_enable, IRQ_ENABLE, "done")
        enable_error = field(self.irq_enable, IRQ_ENABLE, "error")
        hits[("interrupts", "irq raised on done")] = rise & enable_done & ~enable_error
        hits[("interrupts", "irq raised on error")] = rise & enable_error & ~enable_done
        hits[("interrupts", "irq raised, both enabled")] = rise & enable_done & enable_error
        # The cause of a fall: a W1C write or a soft reset in the last few cycles.
        w1c_recent, reset_recent = Signal(range(_RECENT + 1)), Signal(range(_RECENT + 1))
        for recent, event in ((w1c_recent, accept & at(addr, IRQ_STATUS)),
                              (reset_recent, self.soft_reset)):
            with m.If(event):
                m.d.sync += recent.eq(_RECENT)
            with m.Elif(recent != 0):
                m.d.sync += recent.eq(recent - 1)
        hits[("interrupts", "irq cleared by W1C")] = fall & (w1c_recent != 0)
        hits[("interrupts", "irq cleared by soft reset")] = fall & (reset_recent != 0)
        pending_read = r_fire & (at(rd_addr, IRQ_STATUS) | at(rd_addr, STATUS))
        pending = Signal(2)
        m.d.comb += pending.eq(Cat(field(rdata, STATUS, "done"), field(rdata, STATUS, "error")))
        with m.If(r_fire & at(rd_addr, IRQ_STATUS)):
            m.d.comb += pending.eq(rdata[:2])
        both = pending_read & (pending == 0b11)
        hits[("interrupts", "done and error pending")] = both
        # Both flags seen pending, then a W1C of one of them, then a read showing the other.
        both_seen, cleared = Signal(), Signal(2)
        with m.If(both):
            m.d.sync += [both_seen.eq(1), cleared.eq(0)]
        with m.Elif(b_fire & okay & at(pend_addr, IRQ_STATUS) & both_seen):
            m.d.sync += [cleared.eq(pend_data[:2] & Cat(pend_strb[0], pend_strb[0])),
                         both_seen.eq(0)]
        with m.Elif(pending_read):
            m.d.sync += cleared.eq(0)
        hits[("interrupts", "one of two cleared, other kept")] = (
            pending_read & (((cleared == 0b01) & (pending == 0b10))
                            | ((cleared == 0b10) & (pending == 0b01))))

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
                    sample & (self.in_bits == i) & (shift == s))
        wl = p("analog__wl")
        hits[("arithmetic", "plane all zero")] = sample & (wl == 0)
        hits[("arithmetic", "plane all ones")] = sample & (wl == (1 << cfg.tile.rows) - 1)
        in_max = cfg.tile.in_bits
        lane = lane_width(in_max)
        width = cfg.host.data_width
        fire = p("s_axis_in__tvalid") & p("s_axis_in__tready")
        ones = Const((1 << in_max) - 1, in_max)
        negative = Signal(in_max)
        m.d.comb += negative.eq((ones << (self.in_bits - 1).as_unsigned())[:in_max])
        positive = ~negative & ones
        is_negative, is_positive = Const(0, 1), Const(0, 1)
        for index in range(width // lane):
            value = p("s_axis_in__tdata")[index * lane:index * lane + in_max]
            kept = p("s_axis_in__tkeep")[index * lane // 8]
            is_negative |= kept & (value == negative)
            is_positive |= kept & (value == positive) & (value != 0)
        hits[("arithmetic", "input most negative")] = fire & is_negative
        hits[("arithmetic", "input most positive")] = fire & is_positive

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
        with m.If(self.soft_reset | self.status_idle):
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
        with m.If(self.soft_reset | self.status_idle | (cell_fire & p("m_axis_cell__tlast"))):
            m.d.sync += running.eq(0)
        with m.Elif(self.run_start):
            m.d.sync += [running.eq(1), read_back.eq(self.mode == Mode.READ_BACK)]
        self.programming = running & ~read_back
        self.read_back = running & read_back
        started = self.run_start & (self.mode == Mode.PROGRAM)
        hits[("write_verify", "run with tol=0")] = started & (self.tol == 0)
        hits[("write_verify", "run with max_pulses=1")] = started & (self.max_pulses == 1)
        hits[("write_verify", "single-cell rectangle")] = started & self.single_cell
        reads = Signal()
        with m.If(self.run_start):
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
        close = moved | (cell_fire & p("m_axis_cell__tlast")) | self.soft_reset
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
        hits[("write_verify", "SET amplitude at limit")] = is_set & (amplitude == self.set_limit)
        hits[("write_verify", "RESET amplitude at limit")] = (is_reset
                                                              & (amplitude == self.reset_limit))
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
            failed |= kept & ~converged & (pulses == self.max_pulses)
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
            hits[("reset", f"soft reset while {state}")] = self.soft_reset & active
            busy |= active
        hits[("reset", "soft reset while idle")] = self.soft_reset & ~busy
