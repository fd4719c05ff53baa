"""The AXI4-Lite subordinate of the register map (ARM IHI 0022, chapter B1, and
:mod:`cimtile.spec.regmap`).

The manager's obligations are assumed: AWVALID, WVALID and ARVALID held until taken, with
their payloads stable. The subordinate's are asserted: BVALID and RVALID held until taken
with BRESP, RDATA and RRESP stable; one response per request, in order, none without one;
every response the one the register map defines for the address it answers.

The register block holds one write address, one write datum and one read at a time, and
shows it on its READY signals; the rules that account requests against READY and VALID
state that at the ports, which is also what makes the protocol rules provable by
induction. Which response a write gets depends on the address the block holds inside until
the datum arrives, which no port shows; that rule is checked only from reset
(``inductive=False``).
"""

from amaranth.hdl import Mux

from cimtile.spec.regmap import ADDR_WIDTH, REGISTERS, Access

from ..axi_lite import AxiResp
from .handshake import channel_rules

__all__ = ["subordinate_rules", "write_responses", "read_response"]

_WORD = slice(2, ADDR_WIDTH)     # the low two address bits are ignored


def _refusable(reg, config):
    """Whether a write to `reg` may be refused (SLVERR)."""
    if reg.access in (Access.RO, Access.WO):
        return True      # RO always; WO is CTRL, whose start is refused while busy
    if reg.access is Access.W1C:
        return False
    return reg.busy_guarded or any(
        f.valid_range(config) != (0, (1 << f.width) - 1) for f in reg.fields)


def write_responses(config):
    """The BRESP values the register map allows for a write, by word address; any address
    not listed answers DECERR."""
    allowed = {}
    for reg in REGISTERS:
        if reg.access is Access.RO:
            allowed[reg.offset >> 2] = {AxiResp.SLVERR}
        elif _refusable(reg, config):
            allowed[reg.offset >> 2] = {AxiResp.OKAY, AxiResp.SLVERR}
        else:
            allowed[reg.offset >> 2] = {AxiResp.OKAY}
    return allowed


def read_response(config):
    """The read data the register map fixes, by word address: the value of a constant
    register, 0 for a write-only one; the others read state. Unlisted addresses are
    unmapped (DECERR, RDATA 0)."""
    fixed = {}
    for reg in REGISTERS:
        if reg.access is Access.WO:
            fixed[reg.offset >> 2] = 0
        elif reg.access is Access.RO and not reg.volatile:
            fixed[reg.offset >> 2] = reg.reset_value(config)
        else:
            fixed[reg.offset >> 2] = None
    return fixed


def _open(rules, name, taken, answered):
    """Requests taken and not yet answered; three bits, so an excess shows, not wraps."""
    count = rules.signal(3, name)
    rules.module.d.sync += count.eq(count + taken - answered)
    return count


def subordinate_rules(rules, bus, config, *, name="s_axil"):
    """Add the AXI4-Lite rules for the subordinate port `bus` (the harness's copy of an
    ``AxiLiteSignature`` interface) of the register map for `config`."""
    aw = channel_rules(rules, f"{name}__aw", valid=bus.awvalid, ready=bus.awready,
                       payload={"awaddr": bus.awaddr, "awprot": bus.awprot}, assume=True,
                       words=("AWVALID", "AWREADY"))
    w = channel_rules(rules, f"{name}__w", valid=bus.wvalid, ready=bus.wready,
                      payload={"wdata": bus.wdata, "wstrb": bus.wstrb}, assume=True,
                      words=("WVALID", "WREADY"))
    ar = channel_rules(rules, f"{name}__ar", valid=bus.arvalid, ready=bus.arready,
                       payload={"araddr": bus.araddr, "arprot": bus.arprot}, assume=True,
                       words=("ARVALID", "ARREADY"))
    b = channel_rules(rules, f"{name}__b", valid=bus.bvalid, ready=bus.bready,
                      payload={"bresp": bus.bresp}, words=("BVALID", "BREADY"))
    r = channel_rules(rules, f"{name}__r", valid=bus.rvalid, ready=bus.rready,
                      payload={"rdata": bus.rdata, "rresp": bus.rresp},
                      words=("RVALID", "RREADY"))

    aw_open = _open(rules, f"{name}__aw_open", aw, b)
    w_open = _open(rules, f"{name}__w_open", w, b)
    ar_open = _open(rules, f"{name}__ar_open", ar, r)
    rules.assert_(f"{name}__b_only_after_request",
                  ~bus.bvalid | ((aw_open != 0) & (w_open != 0)),
                  f"{name}: BVALID only for a write whose address and data were taken",
                  [bus.bvalid, aw_open, w_open])
    rules.assert_(f"{name}__r_only_after_request", ~bus.rvalid | (ar_open != 0),
                  f"{name}: RVALID only for a read whose address was taken",
                  [bus.rvalid, ar_open])
    rules.assert_(f"{name}__aw_held_or_answered", aw_open == ~bus.awready + bus.bvalid,
                  f"{name}: every write address taken is held (AWREADY low) or answered "
                  "(BVALID), one response per request",
                  [bus.awvalid, bus.awready, bus.bvalid, bus.bready, aw_open])
    rules.assert_(f"{name}__w_held_or_answered", w_open == ~bus.wready + bus.bvalid,
                  f"{name}: every write datum taken is held (WREADY low) or answered "
                  "(BVALID), one response per request",
                  [bus.wvalid, bus.wready, bus.bvalid, bus.bready, w_open])
    rules.assert_(f"{name}__ar_answered", ar_open == bus.rvalid,
                  f"{name}: every read address taken is answered by the RVALID on offer, "
                  "one response per request", [bus.arvalid, bus.arready, bus.rvalid,
                                               bus.rready, ar_open])

    # Bounded response time: the block never makes a manager wait on the datapath.
    both_held = rules.past(~bus.awready & ~bus.wready & ~bus.bvalid, f"{name}__write_ready")
    rules.assert_(f"{name}__b_next_cycle", rules.after_reset | ~both_held | bus.bvalid,
                  f"{name}: a write whose address and data are held is answered in the "
                  "next cycle when no response waits",
                  [bus.awready, bus.wready, bus.bvalid, both_held])
    ar_taken = rules.past(ar, f"{name}__ar_taken")
    rules.assert_(f"{name}__r_next_cycle", rules.after_reset | ~ar_taken | bus.rvalid,
                  f"{name}: a read is answered in the cycle after its address is taken",
                  [bus.arvalid, bus.arready, bus.rvalid, ar_taken])

    _response_rules(rules, name, bus, config, aw, b, ar, aw_open)
    rules.cover(f"{name}__write_refused", bus.bvalid & (bus.bresp == AxiResp.SLVERR),
                f"{name}: a refused write (SLVERR)", [bus.bvalid, bus.bresp])
    rules.cover(f"{name}__write_unmapped", bus.bvalid & (bus.bresp == AxiResp.DECERR),
                f"{name}: a write to an unmapped address (DECERR)", [bus.bvalid, bus.bresp])
    rules.cover(f"{name}__write_okay", b & (bus.bresp == AxiResp.OKAY),
                f"{name}: an accepted write", [bus.bvalid, bus.bresp])
    rules.cover(f"{name}__read_unmapped", bus.rvalid & (bus.rresp == AxiResp.DECERR),
                f"{name}: a read of an unmapped address (DECERR)", [bus.rvalid, bus.rresp])
    rules.cover(f"{name}__address_while_answering", aw & bus.bvalid,
                f"{name}: a write address taken while the previous write's response waits",
                [bus.awvalid, bus.awready, bus.bvalid])


def _response_rules(rules, name, bus, config, aw, b, ar, aw_open):
    """Every response is the one the register map defines for its request's address."""
    m = rules.module
    rules.assert_(f"{name}__bresp_legal", ~bus.bvalid | (bus.bresp != AxiResp.EXOKAY),
                  f"{name}: BRESP is OKAY, SLVERR or DECERR (AXI4-Lite has no exclusive "
                  "access)", [bus.bvalid, bus.bresp])
    rules.assert_(f"{name}__rresp_legal",
                  ~bus.rvalid | (bus.rresp == AxiResp.OKAY) | (bus.rresp == AxiResp.DECERR),
                  f"{name}: RRESP is OKAY or DECERR (reads are never refused)",
                  [bus.rvalid, bus.rresp])

    # Word addresses of the writes taken, oldest first (the block holds at most two: one
    # answered, one waiting for its datum).
    first = rules.signal(ADDR_WIDTH - 2, f"{name}__aw_first")
    second = rules.signal(ADDR_WIDTH - 2, f"{name}__aw_second")
    with m.If(b):
        m.d.sync += first.eq(second)
    with m.If(aw):
        with m.If(aw_open - b == 0):
            m.d.sync += first.eq(bus.awaddr[_WORD])
        with m.Else():
            m.d.sync += second.eq(bus.awaddr[_WORD])
    allowed = rules.signal(4, f"{name}__bresp_allowed")
    with m.Switch(first):
        for word, responses in write_responses(config).items():
            with m.Case(word):
                m.d.comb += allowed.eq(sum(1 << r.value for r in responses))
        with m.Default():
            m.d.comb += allowed.eq(1 << AxiResp.DECERR.value)
    rules.assert_(f"{name}__bresp_as_regmap",
                  ~bus.bvalid | allowed.bit_select(bus.bresp.as_value(), 1),
                  f"{name}: BRESP is the register map's for the address written (DECERR "
                  "unmapped, SLVERR read-only, OKAY where nothing can refuse)",
                  [bus.bvalid, bus.bresp, first, allowed], inductive=False)

    # The word address of the read on offer: RRESP and RDATA must be its own.
    read = rules.signal(ADDR_WIDTH - 2, f"{name}__ar_word")
    with m.If(ar):
        m.d.sync += read.eq(bus.araddr[_WORD])
    mapped = rules.signal(1, f"{name}__read_mapped")
    known = rules.signal(1, f"{name}__rdata_known")
    expected = rules.signal(32, f"{name}__rdata_expected")
    with m.Switch(read):
        for word, value in read_response(config).items():
            with m.Case(word):
                m.d.comb += mapped.eq(1)
                if value is not None:
                    m.d.comb += [known.eq(1), expected.eq(value)]
        with m.Default():
            m.d.comb += known.eq(1)
    rules.assert_(f"{name}__rresp_as_regmap",
                  ~bus.rvalid | (bus.rresp.as_value()
                                 == Mux(mapped, AxiResp.OKAY.value, AxiResp.DECERR.value)),
                  f"{name}: RRESP is OKAY for a mapped address, DECERR for an unmapped one",
                  [bus.rvalid, bus.rresp, read, mapped])
    rules.assert_(f"{name}__rdata_as_regmap", ~bus.rvalid | ~known | (bus.rdata == expected),
                  f"{name}: RDATA of a constant register is its value; of a write-only or "
                  "unmapped address, 0", [bus.rvalid, bus.rdata, read, expected])

