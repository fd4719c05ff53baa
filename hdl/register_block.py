"""What every AXI4-Lite register block generated from a register map shares: the bus
handshake and address decode, the read value of stored fields, the range checks of a
write and the refusal of a failing one, the interrupt flags.

The tile's block (:class:`~.registers.Registers`) and the chip's
(:class:`~.chip_registers.ChipRegisters`) differ only in what their registers do; both
answer on the bus as :class:`RegisterBlock` does.
"""

from amaranth.hdl import Cat, Const, Mux, Shape, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In

from cimtile.spec.register_model import ADDR_WIDTH, DATA_WIDTH, Access

from .axi_lite import AxiLiteSignature, AxiResp

__all__ = ["RegisterBlock", "port_inits", "fit", "replace_entry"]


def port_inits(registers, cfg, ports):
    """The reset value of every member of the `ports` layouts (by port name) that the
    fields of `registers` drive, for `cfg`.

    Raises
    ------
    ValueError
        A field's valid range does not fit its member, or no field drives a member.
    """
    inits = {name: {} for name in ports}
    for reg in registers:
        for f in reg.fields if reg.port else ():
            shape = ports[reg.port].members[f.port_name]
            if f.valid_range(cfg)[1] >= 1 << Shape.cast(shape).width:
                raise ValueError(f"{reg.name}.{f.name} accepts values that "
                                 f"{reg.port}.{f.port_name} cannot hold")
            inits[reg.port][f.port_name] = f.reset_value(cfg)
    for name, layout in ports.items():
        missing = set(layout.members) - set(inits[name])
        if missing:
            raise ValueError(f"no register drives {name}.{', '.join(sorted(missing))}")
    return inits


def fit(value, width):
    """``value`` zero-extended to ``width`` bits."""
    value = Value.cast(value)
    return Cat(value, Const(0, width - len(value))) if len(value) < width else value


def replace_entry(table, index, count, entry):
    """An assignment rewriting entry `index` of the `count` equal entries of `table` with
    `entry`, every other entry with itself: one assignment, which Amaranth checks once."""
    table = Value.cast(table)
    width = len(table) // count
    return table.eq(Cat(Mux(index == k, entry, table[k * width:(k + 1) * width])
                        for k in range(count)))


class RegisterBlock(wiring.Component):
    """An AXI4-Lite subordinate serving a register map.

    The bus accepts AW and W independently, in either order or together, holds one of each,
    performs the write once it has both and no write response is pending, and holds BVALID
    (RVALID) with its response until BREADY (RREADY). Every access completes in a bounded
    number of cycles whatever the datapath does. A subclass says what a write of each
    register does (``_write``) and which signal holds each field (the ``store`` it passes
    to :meth:`_serve`).

    Parameters
    ----------
    registers : tuple of Register
    causes : ErrorCause enumeration of the map
        Needs ``NONE`` and ``BUSY``.
    cfg
        The configuration the map's reset values and valid ranges are functions of.
    members : dict
        The signature members after ``bus``.

    Members
    -------
    bus : ``In(AxiLiteSignature(addr_width=12, data_width=32))``
    """

    def __init__(self, registers, causes, cfg, members):
        self._registers, self._causes, self._cfg = registers, causes, cfg
        super().__init__({
            "bus": In(AxiLiteSignature(addr_width=ADDR_WIDTH, data_width=DATA_WIDTH)),
        } | members)

    def _word(self, reg, store):
        """The 32-bit read value of a register: its stored fields, constants elsewhere."""
        if reg.access is Access.WO:
            return Const(0, DATA_WIDTH)
        value = Const(0, DATA_WIDTH)
        for f in reg.fields:
            if (reg.name, f.name) in store:
                value = fit(store[reg.name, f.name], f.width).shift_left(f.lsb) | value
            else:
                value = Const(f.reset_value(self._cfg) << f.lsb, DATA_WIDTH) | value
        return fit(value, DATA_WIDTH)

    def _interrupts(self, store):
        """STATUS, IRQ_STATUS and IRQ_ENABLE's fields, each by name."""
        by_name = {r.name: r for r in self._registers}
        return tuple({f.name: store[name, f.name] for f in by_name[name].fields}
                     for name in ("STATUS", "IRQ_STATUS", "IRQ_ENABLE"))

    def _serve(self, m, store):
        """The bus: every write decoded to ``self._write``, every read to ``self._word``.
        Returns the refusal of the cycle (a flag and its cause)."""
        bus = self.bus

        # Write channels: AW and W are each held until both are there.
        aw_full, aw_addr = Signal(), Signal(ADDR_WIDTH)
        w_full, w_data, w_strb = Signal(), Signal(DATA_WIDTH), Signal(DATA_WIDTH // 8)
        m.d.comb += [bus.awready.eq(~aw_full), bus.wready.eq(~w_full)]
        with m.If(bus.awvalid & ~aw_full):
            m.d.sync += [aw_full.eq(1), aw_addr.eq(bus.awaddr)]
        with m.If(bus.wvalid & ~w_full):
            m.d.sync += [w_full.eq(1), w_data.eq(bus.wdata), w_strb.eq(bus.wstrb)]
        with m.If(bus.bvalid & bus.bready):
            m.d.sync += bus.bvalid.eq(0)

        byte_mask = Cat(bit.replicate(8) for bit in w_strb)
        strobed = w_data & byte_mask
        refuse, refuse_cause = Signal(), Signal(self._causes)

        def refused(why):
            m.d.comb += [refuse.eq(1), refuse_cause.eq(why)]
            m.d.sync += bus.bresp.eq(AxiResp.SLVERR)

        def checked(checks, statements, now=()):
            """Refuse with the first failing check's cause, else apply ``statements`` (and
            the combinational ``now``)."""
            for n, (fails, why) in enumerate(checks):
                with (m.Elif if n else m.If)(fails):
                    refused(why)
            with (m.Else() if checks else m.If(1)):
                m.d.sync += statements
                m.d.comb += now

        with m.If(aw_full & w_full & ~bus.bvalid):
            m.d.sync += [aw_full.eq(0), w_full.eq(0), bus.bvalid.eq(1),
                         bus.bresp.eq(AxiResp.OKAY)]
            with m.Switch(aw_addr[2:]):
                for reg in self._registers:
                    with m.Case(reg.offset >> 2):
                        self._write(m, reg, store, strobed, byte_mask, refused, checked)
                with m.Default():
                    m.d.sync += bus.bresp.eq(AxiResp.DECERR)

        # Read channel: the response is latched at the AR handshake and held until RREADY.
        m.d.comb += bus.arready.eq(~bus.rvalid)
        with m.If(bus.arvalid & bus.arready):
            m.d.sync += [bus.rvalid.eq(1), bus.rresp.eq(AxiResp.OKAY)]
            with m.Switch(bus.araddr[2:]):
                for reg in self._registers:
                    with m.Case(reg.offset >> 2):
                        m.d.sync += bus.rdata.eq(self._word(reg, store))
                with m.Default():
                    m.d.sync += [bus.rdata.eq(0), bus.rresp.eq(AxiResp.DECERR)]
        with m.Elif(bus.rready):
            m.d.sync += bus.rvalid.eq(0)
        return refuse, refuse_cause

    def _checked_fields(self, reg, merged):
        """The fields of the written value `merged` of `reg`, by name, and the checks
        (``(fails, cause)``, in order) a write of them must pass: not busy if the register is
        guarded, then each field's valid range."""
        part = {f.name: merged[f.lsb:f.msb + 1] for f in reg.fields}
        checks = [(self.busy, self._causes.BUSY)] if reg.busy_guarded else []
        for f in reg.fields:
            lo, hi = f.valid_range(self._cfg)
            bounds = ([part[f.name] < lo] if lo > 0 else []) + (
                [part[f.name] > hi] if hi < (1 << f.width) - 1 else [])
            if bounds:
                checks.append((Cat(bounds).any(), f.cause))
        return part, checks

    def _clear(self, m, reg, store, strobed):
        """A W1C write: every strobed 1 clears its flag; clearing IRQ_STATUS.error clears
        STATUS.cause."""
        for f in reg.fields:
            with m.If(strobed[f.lsb:f.msb + 1].any()):
                m.d.sync += store[reg.name, f.name].eq(0)
                if reg.name == "IRQ_STATUS" and f.name == "error":
                    m.d.sync += store["STATUS", "cause"].eq(self._causes.NONE)

    def _errors(self, m, flags, cause, refuse, refuse_cause):
        """Set IRQ_STATUS.error and STATUS.cause on a refusal or a datapath error, the
        datapath's cause winning."""
        with m.If(refuse):
            m.d.sync += [flags["error"].eq(1), cause.eq(refuse_cause)]
        with m.If(self.error):
            m.d.sync += [flags["error"].eq(1), cause.eq(self.error_cause)]
