"""The coverage bins of the register block, decoded from the AXI4-Lite bus and ``irq``.

Part of the monitor (:class:`cimtile.tb.tops.coverage_monitor.CoverageMonitor`): register
accesses are decoded from the bus (address on AW/AR, data on W/R, the answer on B/R), and a
copy of the run-time settings is kept from the writes the tile accepted, as a host driver
would. The bins here are the register accesses, the settings' mode changes and refusals,
the error causes as read, and the interrupts; what the datapath bins need of the registers
(the settings, the commands, the decoded traffic) is returned as a :class:`RegisterView`.
"""

from dataclasses import dataclass

from amaranth.hdl import Cat, Const, Signal

from cimtile.hdl.axi_lite import AxiResp
from cimtile.spec.regmap import REGISTERS, ErrorCause, Mode, register

from .coverage_bins import MODES
from .coverage_control import BusView

__all__ = ["RegisterView", "register_bins"]

#: Cycles within which a write is taken as the cause of an interrupt's fall.
_RECENT = 4
#: The registers whose accepted writes the monitor keeps a copy of.
_SHADOWED = ("SETTINGS", "IRQ_ENABLE", "WV_TOL", "WV_SET", "WV_RESET", "WV_PULSE", "WV_ROWS",
             "WV_COLS", "REMAP_COL")
_SETTINGS, _STATUS, _CTRL = register("SETTINGS"), register("STATUS"), register("CTRL")
_IRQ_ENABLE, _IRQ_STATUS = register("IRQ_ENABLE"), register("IRQ_STATUS")


@dataclass
class RegisterView:
    """What the datapath bins need of the register block.

    Members
    -------
    mode, in_bits : Value
        The run-time settings as the tile holds them.
    tol, set_limit, reset_limit, max_pulses : Value
        The write-verify settings as the tile holds them.
    single_cell : Value
        The write-verify rectangle is one cell.
    soft_reset, run_start : Value
        A soft reset taken; a start that begins a write-verify run.
    status_idle : Value
        A STATUS read showing the tile idle.
    bus : BusView
        The decoded register traffic, for :func:`cimtile.tb.tops.coverage_control.control_bins`.
    """
    mode: object
    in_bits: object
    tol: object
    set_limit: object
    reset_limit: object
    max_pulses: object
    single_cell: object
    soft_reset: object
    run_start: object
    status_idle: object
    bus: BusView


def _at(address, reg):
    """The word `address` is `reg`'s."""
    return address[2:] == reg.offset >> 2


def _field(word, reg, name):
    f = reg.field(name)
    return word[f.lsb:f.lsb + f.width]


@dataclass
class _Writes:
    """The write traffic: the write being accepted (`accept`, `addr`, `data`, `strb`), the
    one its response answers (`pend_*`), and that response (`b_fire`, `okay`)."""
    accept: object
    addr: object
    data: object
    strb: object
    pend_addr: object
    pend_data: object
    pend_strb: object
    b_fire: object
    okay: object

    def merged(self, shadow):
        """The word `shadow` becomes by the answered write, under its strobes."""
        mask = Cat(*[b.replicate(8) for b in self.pend_strb])
        return (shadow & ~mask) | (self.pend_data & mask)


def _writes(m, p):
    """Decode the writes: AW and W may come in either order, the response after both."""
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
    return _Writes(accept, addr, data, strb, pend_addr, pend_data, pend_strb,
                   b_fire=p("s_axil__bvalid") & p("s_axil__bready"),
                   okay=p("s_axil__bresp") == AxiResp.OKAY)


def _access_bins(m, hits, p, w):
    """Reads and writes per register and to unmapped addresses; returns the read traffic
    ``(r_fire, rd_addr, rdata)``."""
    ar_fire = p("s_axil__arvalid") & p("s_axil__arready")
    r_fire = p("s_axil__rvalid") & p("s_axil__rready")
    rd_addr = Signal(12)
    with m.If(ar_fire):
        m.d.sync += rd_addr.eq(p("s_axil__araddr"))
    r_okay = p("s_axil__rresp") == AxiResp.OKAY
    mapped_w = Const(0, 1)
    mapped_r = Const(0, 1)
    for reg in REGISTERS:
        hits[("registers", f"read {reg.name}")] = r_fire & _at(rd_addr, reg) & r_okay
        hits[("registers", f"write {reg.name}")] = w.b_fire & _at(w.pend_addr, reg)
        mapped_w |= _at(w.pend_addr, reg)
        mapped_r |= _at(rd_addr, reg)
    decerr = AxiResp.DECERR
    hits[("registers", "read unmapped")] = (r_fire & ~mapped_r
                                            & (p("s_axil__rresp") == decerr))
    hits[("registers", "write unmapped")] = (w.b_fire & ~mapped_w
                                             & (p("s_axil__bresp") == decerr))
    return r_fire, rd_addr, p("s_axil__rdata")


def _shadows(m, cfg, w):
    """``{name: (shadow, word)}``: the settings as the tile holds them, and the word the
    answered write would make of them (the merged word of every accepted write)."""
    shadows = {}
    for name in _SHADOWED:
        reg = register(name)
        shadow = Signal(32, name=f"shadow_{name.lower()}", init=reg.reset_value(cfg))
        word = w.merged(shadow)
        with m.If(w.b_fire & w.okay & _at(w.pend_addr, reg)):
            m.d.sync += shadow.eq(word)
        shadows[name] = (shadow, word)
    return shadows


def _wv_invalid(shadows):
    """What the write-verify engine refuses at start (the range checks keep the rest)."""
    wv = {f"{name}.{f.name}": _field(shadows[name][0], register(name), f.name)
          for name in ("WV_SET", "WV_RESET", "WV_PULSE") for f in register(name).fields}
    rows, cols = shadows["WV_ROWS"][0], shadows["WV_COLS"][0]
    return ((wv["WV_SET.start"] > wv["WV_SET.limit"])
            | (wv["WV_RESET.start"] > wv["WV_RESET.limit"])
            | (wv["WV_SET.step"] == 0) | (wv["WV_RESET.step"] == 0)
            | (wv["WV_PULSE.max_pulses"] == 0) | (wv["WV_PULSE.width"] == 0)
            | (rows[:16] > rows[16:]) | (cols[:16] > cols[16:]))


def _settings_bins(hits, cfg, p, w, shadows):
    """Mode changes the tile accepted, and settings refused just outside their range."""
    settings, settings_word = shadows["SETTINGS"]
    settings_write = w.b_fire & _at(w.pend_addr, _SETTINGS)
    mode = _field(settings, _SETTINGS, "mode")
    new_mode = _field(settings_word, _SETTINGS, "mode")
    for a in Mode:
        for b in Mode:
            if a != b:
                hits[("settings", f"mode {MODES[a]}->{MODES[b]}")] = (
                    settings_write & w.okay & (mode == a) & (new_mode == b))
    refused = settings_write & (p("s_axil__bresp") == AxiResp.SLVERR)
    in_max, shift_max = cfg.tile.in_bits, cfg.adc_shift_max
    new_in = _field(settings_word, _SETTINGS, "in_bits")
    new_shift = _field(settings_word, _SETTINGS, "adc_shift")
    hits[("settings", "refused in_bits=0")] = refused & (new_in == 0)
    hits[("settings", f"refused in_bits={in_max + 1}")] = refused & (new_in == in_max + 1)
    hits[("settings", f"refused adc_shift={shift_max + 1}")] = (
        refused & (new_shift == shift_max + 1))
    hits[("settings", "refused mode=3")] = refused & (new_mode == 3)


def _cause_bins(hits, status_read, rdata):
    """Error causes as the host reads them."""
    cause = _field(rdata, _STATUS, "cause")
    for c in ErrorCause:
        if c != ErrorCause.NONE:
            hits[("registers", f"cause {c.name}")] = (
                status_read & _field(rdata, _STATUS, "error") & (cause == c))


def _raise_bins(m, hits, p, w, irq_enable, soft_reset):
    """The interrupt raised by each enabled source, and lowered by a W1C write or a soft
    reset in the last few cycles."""
    irq, irq_before = p("irq"), Signal()
    m.d.sync += irq_before.eq(irq)
    rise, fall = irq & ~irq_before, ~irq & irq_before
    enable_done = _field(irq_enable, _IRQ_ENABLE, "done")
    enable_error = _field(irq_enable, _IRQ_ENABLE, "error")
    hits[("interrupts", "irq raised on done")] = rise & enable_done & ~enable_error
    hits[("interrupts", "irq raised on error")] = rise & enable_error & ~enable_done
    hits[("interrupts", "irq raised, both enabled")] = rise & enable_done & enable_error
    w1c_recent, reset_recent = Signal(range(_RECENT + 1)), Signal(range(_RECENT + 1))
    for recent, event in ((w1c_recent, w.accept & _at(w.addr, _IRQ_STATUS)),
                          (reset_recent, soft_reset)):
        with m.If(event):
            m.d.sync += recent.eq(_RECENT)
        with m.Elif(recent != 0):
            m.d.sync += recent.eq(recent - 1)
    hits[("interrupts", "irq cleared by W1C")] = fall & (w1c_recent != 0)
    hits[("interrupts", "irq cleared by soft reset")] = fall & (reset_recent != 0)


def _pending_bins(m, hits, w, r_fire, rd_addr, rdata):
    """Both flags pending, and one of them cleared by W1C while the other is kept."""
    pending_read = r_fire & (_at(rd_addr, _IRQ_STATUS) | _at(rd_addr, _STATUS))
    pending = Signal(2)
    m.d.comb += pending.eq(Cat(_field(rdata, _STATUS, "done"),
                               _field(rdata, _STATUS, "error")))
    with m.If(r_fire & _at(rd_addr, _IRQ_STATUS)):
        m.d.comb += pending.eq(rdata[:2])
    both = pending_read & (pending == 0b11)
    hits[("interrupts", "done and error pending")] = both
    # Both flags seen pending, then a W1C of one of them, then a read showing the other.
    both_seen, cleared = Signal(), Signal(2)
    with m.If(both):
        m.d.sync += [both_seen.eq(1), cleared.eq(0)]
    with m.Elif(w.b_fire & w.okay & _at(w.pend_addr, _IRQ_STATUS) & both_seen):
        m.d.sync += [cleared.eq(w.pend_data[:2] & Cat(w.pend_strb[0], w.pend_strb[0])),
                     both_seen.eq(0)]
    with m.Elif(pending_read):
        m.d.sync += cleared.eq(0)
    hits[("interrupts", "one of two cleared, other kept")] = (
        pending_read & (((cleared == 0b01) & (pending == 0b10))
                        | ((cleared == 0b10) & (pending == 0b01))))


def register_bins(m, hits, cfg, p):
    """Add the register block's bins to `hits` (``{(group, name): condition}``) in `m`.

    Parameters
    ----------
    m : Module
    hits : dict
    cfg : Config
    p : callable
        ``p(name)``: the watched host port `name` (``"s_axil__awaddr"``).

    Returns
    -------
    RegisterView
    """
    w = _writes(m, p)
    r_fire, rd_addr, rdata = _access_bins(m, hits, p, w)
    shadows = _shadows(m, cfg, w)
    _settings_bins(hits, cfg, p, w, shadows)
    status_read = r_fire & _at(rd_addr, _STATUS)
    _cause_bins(hits, status_read, rdata)
    wv_invalid = _wv_invalid(shadows)
    # Commands, taken when the write is accepted (the tile acts on it then).
    soft_reset = (w.accept & _at(w.addr, _CTRL) & w.strb[0]
                  & _field(w.data, _CTRL, "soft_reset"))
    start_okay = w.b_fire & w.okay & _at(w.pend_addr, _CTRL) & w.pend_strb[0] & \
        _field(w.pend_data, _CTRL, "start") & ~_field(w.pend_data, _CTRL, "soft_reset")
    # The register block performs a write when it holds both halves and no response.
    perform = ~p("s_axil__awready") & ~p("s_axil__wready") & ~p("s_axil__bvalid")
    bus = BusView(
        at=_at, b_fire=w.b_fire, okay=w.okay,
        refused=w.b_fire & (p("s_axil__bresp") == AxiResp.SLVERR),
        addr=w.pend_addr, data=w.pend_data, strb=w.pend_strb, perform=perform,
        merged=w.merged, shadows={name: shadow for name, (shadow, _) in shadows.items()},
        status_read=status_read, rdata=rdata, soft_reset=soft_reset, start=start_okay,
        wv_invalid=wv_invalid)
    irq_enable = shadows["IRQ_ENABLE"][0]
    _raise_bins(m, hits, p, w, irq_enable, soft_reset)
    _pending_bins(m, hits, w, r_fire, rd_addr, rdata)
    settings = shadows["SETTINGS"][0]
    rows, cols = shadows["WV_ROWS"][0], shadows["WV_COLS"][0]
    return RegisterView(
        mode=_field(settings, _SETTINGS, "mode"),
        in_bits=_field(settings, _SETTINGS, "in_bits"),
        tol=_field(shadows["WV_TOL"][0], register("WV_TOL"), "tol"),
        set_limit=_field(shadows["WV_SET"][0], register("WV_SET"), "limit"),
        reset_limit=_field(shadows["WV_RESET"][0], register("WV_RESET"), "limit"),
        max_pulses=_field(shadows["WV_PULSE"][0], register("WV_PULSE"), "max_pulses"),
        single_cell=(rows[:16] == rows[16:]) & (cols[:16] == cols[16:]),
        soft_reset=soft_reset,
        # A start that begins a run: the engine refuses the others at once.
        run_start=start_okay & ~wv_invalid,
        status_idle=status_read & ~_field(rdata, _STATUS, "busy"),
        bus=bus)
