"""Coverage of the register block's control rules, counted from the host tile's ports.

Part of the monitor (:class:`cimtile.tb.tops.coverage_monitor.CoverageMonitor`), which decodes
the AXI4-Lite bus and hands the result here as a :class:`BusView`:

- **busy**: a write refused while busy, per register, counted when the next STATUS read
  shows cause BUSY (the port does not say why a write was refused, STATUS does); a write
  accepted while busy, per register, counted when it lies between two STATUS reads that
  both show busy, with no soft reset between;
- **arbitration**: events raised in one cycle that the status and interrupt logic
  arbitrates, where the ports show the cycle: a start the write-verify engine refuses
  (done and error together), a soft reset written with a start, and a W1C clear of done
  performed in the cycle a result's TLAST leaves;
- **remap**: the remap table as the host wrote it (a copy kept from the writes the tile
  accepted), refusals by cause, and MVMs computed through remapped columns.
"""

from dataclasses import dataclass

from amaranth.hdl import Cat, Const, Signal

from cimtile.spec.regmap import ErrorCause, register

from .coverage_bins import BUSY_ACCEPTED, BUSY_REFUSED

__all__ = ["BusView", "control_bins"]

_STATUS, _CTRL, _IRQ_STATUS = register("STATUS"), register("CTRL"), register("IRQ_STATUS")
_REMAP_COL, _REMAP_SPARE = register("REMAP_COL"), register("REMAP_SPARE")


@dataclass
class BusView:
    """The register traffic as the monitor decodes it.

    Members
    -------
    at : callable
        ``at(address, reg)``: the address is `reg`'s.
    b_fire, okay, refused : Value
        A write response taken; with OKAY; with SLVERR.
    addr, data, strb : Value
        The write the response answers (also the write the register block performs).
    perform : Value
        The cycle the register block performs that write.
    merged : callable
        ``merged(shadow)``: that write's data merged into `shadow` under its strobes.
    shadows : dict of str to Signal
        The words of RW registers, from the writes the tile accepted.
    status_read, rdata : Value
        A read of STATUS answered; the read data.
    soft_reset, start : Value
        A soft reset written; a start accepted.
    wv_invalid : Value
        The WV_* words the tile holds are refused together by the write-verify engine.
    """
    at: object
    b_fire: object
    okay: object
    refused: object
    addr: object
    data: object
    strb: object
    perform: object
    merged: object
    shadows: dict
    status_read: object
    rdata: object
    soft_reset: object
    start: object
    wv_invalid: object


def _field(word, reg, name):
    f = reg.field(name)
    return word[f.lsb:f.lsb + f.width]


def _busy(m, hits, bus):
    status = bus.rdata
    busy_now = bus.status_read & _field(status, _STATUS, "busy")
    idle_now = bus.status_read & ~_field(status, _STATUS, "busy")
    # The last refused write, until STATUS says why.
    refused_addr, refused_pending = Signal(12), Signal()
    with m.If(bus.refused):
        m.d.sync += [refused_addr.eq(bus.addr), refused_pending.eq(1)]
    with m.Elif(bus.status_read):
        m.d.sync += refused_pending.eq(0)
    for_busy = (refused_pending & bus.status_read & _field(status, _STATUS, "error")
                & (_field(status, _STATUS, "cause") == ErrorCause.BUSY))
    for name in BUSY_REFUSED:
        reg = register(name.partition(".")[0])
        hits[("busy", f"{name} refused while busy")] = for_busy & bus.at(refused_addr, reg)
    # Accepted writes between two STATUS reads showing busy.
    busy_seen = Signal()
    accepted = Signal(len(BUSY_ACCEPTED))
    with m.If(bus.soft_reset | idle_now):
        m.d.sync += [busy_seen.eq(0), accepted.eq(0)]
    with m.Elif(busy_now):
        m.d.sync += [busy_seen.eq(1), accepted.eq(0)]
    with m.Elif(bus.b_fire & bus.okay & busy_seen):
        m.d.sync += accepted.eq(accepted | Cat(bus.at(bus.addr, register(name))
                                               for name in BUSY_ACCEPTED))
    for index, name in enumerate(BUSY_ACCEPTED):
        hits[("busy", f"{name} accepted while busy")] = busy_now & busy_seen & accepted[index]
    return refused_addr, refused_pending


def _arbitration(m, hits, bus, port):
    done_out = port("m_axis_out__tvalid") & port("m_axis_out__tready") \
        & port("m_axis_out__tlast")
    clears_done = (bus.at(bus.addr, _IRQ_STATUS) & bus.strb[0]
                   & _field(bus.data, _IRQ_STATUS, "done"))
    hits[("arbitration", "done and its W1C clear in one cycle")] = (
        bus.perform & clears_done & done_out)
    hits[("arbitration", "soft reset and start in one write")] = (
        bus.b_fire & bus.at(bus.addr, _CTRL) & bus.strb[0]
        & _field(bus.data, _CTRL, "soft_reset") & _field(bus.data, _CTRL, "start"))
    hits[("arbitration", "done and error in one cycle")] = bus.start & bus.wv_invalid


def _remap(m, hits, cfg, bus, port, refused_addr, refused_pending):
    status = bus.rdata
    for_remap = (refused_pending & bus.status_read & _field(status, _STATUS, "error")
                 & (_field(status, _STATUS, "cause") == ErrorCause.REMAP))
    hits[("remap", "refused: column beyond the data columns")] = (
        for_remap & bus.at(refused_addr, _REMAP_COL))
    hits[("remap", "refused: spare beyond the spares")] = (
        for_remap & bus.at(refused_addr, _REMAP_SPARE))
    spares, data = cfg.tile.spare_cols, cfg.cols_data
    if not spares:
        return
    width = spares.bit_length()
    entries = [Signal(width, name=f"remap_entry{c}") for c in range(data)]
    column = _field(bus.shadows["REMAP_COL"], _REMAP_COL, "col")
    current = Signal(width)
    m.d.comb += current.eq(Cat(*entries).word_select(column, width) if data > 1
                           else entries[0])
    new = Signal(16)
    m.d.comb += new.eq(_field(bus.merged(current), _REMAP_SPARE, "spare"))
    written = bus.b_fire & bus.okay & bus.at(bus.addr, _REMAP_SPARE)
    for c, entry in enumerate(entries):
        with m.If(written & (column == c)):
            m.d.sync += entry.eq(new)
    for k in range(1, spares + 1):
        hits[("remap", f"entry set to spare {k}")] = written & (new == k)
    hits[("remap", "entry cleared")] = written & (new == 0) & (current != 0)
    hits[("remap", "first data column remapped")] = written & (new != 0) & (column == 0)
    hits[("remap", "last data column remapped")] = written & (new != 0) & (column == data - 1)
    sample = port("analog__sample")
    any_remapped, every_spare = Const(0, 1), Const(1, 1)
    for entry in entries:
        any_remapped |= entry != 0
    for k in range(1, spares + 1):
        used = Const(0, 1)
        for entry in entries:
            used |= entry == k
        every_spare &= used
    hits[("remap", "MVM with a remapped column")] = sample & any_remapped
    hits[("remap", "MVM with every spare in use")] = sample & every_spare


def control_bins(m, hits, cfg, bus, port):
    """Add the conditions of the busy, arbitration and remap bins of a tile of `cfg` to
    `hits`, from the decoded bus `bus` and the ports (``port(name)``)."""
    refused_addr, refused_pending = _busy(m, hits, bus)
    _arbitration(m, hits, bus, port)
    _remap(m, hits, cfg, bus, port, refused_addr, refused_pending)
