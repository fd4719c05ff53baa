"""AXI protocol checkers in the Amaranth simulator: every rule can fail, legal traffic passes."""

import numpy as np
import pytest
from amaranth.hdl import Module

from cimtile.hdl.axi_checker import (AxiLiteChecker, AxiStreamChecker, Rule, RULE_MESSAGES,
                                     rule_message)
from cimtile.hdl.axi_stream import AxiStreamSignature

from amaranth_sim import run


def test_rule_messages_cover_every_rule():
    assert set(RULE_MESSAGES) == set(Rule)
    assert rule_message(Rule.TVALID_DROPPED.value) == "TVALID dropped before TREADY"
    with pytest.raises(ValueError, match="unknown protocol rule code 31"):
        rule_message(31)


def test_stream_checker_passes_a_legal_random_stream():
    dut = AxiStreamChecker(16, keep=True)
    rng = np.random.default_rng(11)
    bus = dut.bus

    async def bench(ctx):
        valid = 0
        for _ in range(400):
            if not valid and rng.random() < 0.6:     # a new beat only after the last one left
                valid = 1
                ctx.set(bus.tdata, int(rng.integers(0, 1 << 16)))
                ctx.set(bus.tkeep, int(rng.integers(0, 4)))
                ctx.set(bus.tlast, int(rng.integers(0, 2)))
            ctx.set(bus.tvalid, valid)
            ready = int(rng.random() < 0.5)
            ctx.set(bus.tready, ready)
            await ctx.tick()
            valid &= not ready
            if not valid:                            # an idle bus may show anything
                ctx.set(bus.tdata, int(rng.integers(0, 1 << 16)))
        await ctx.tick()
        assert ctx.get(dut.violation) == 0, rule_message(ctx.get(dut.rule))

    run(dut, bench)


@pytest.mark.parametrize("rule, member, value", [
    (Rule.TVALID_DROPPED, "tvalid", 0), (Rule.TDATA_CHANGED, "tdata", 0x1235),
    (Rule.TKEEP_CHANGED, "tkeep", 1), (Rule.TLAST_CHANGED, "tlast", 0)])
def test_stream_checker_flags_each_rule(rule, member, value):
    dut = AxiStreamChecker(16, keep=True)
    bus = dut.bus

    async def bench(ctx):
        for name, v in dict(tdata=0x1234, tkeep=3, tlast=1, tvalid=1, tready=0).items():
            ctx.set(getattr(bus, name), v)
        await ctx.tick().repeat(3)                   # a long stall is legal
        assert ctx.get(dut.violation) == 0
        ctx.set(getattr(bus, member), value)
        await ctx.tick()
        ctx.set(bus.tvalid, 0)                       # later breaks must not override the first
        await ctx.tick().repeat(2)
        assert ctx.get(dut.violation) == 1
        assert ctx.get(dut.rule) == rule

    run(dut, bench)


class LegalAxiLite:
    """A random, legal AXI4-Lite manager and subordinate pair, stepped once per cycle."""

    CHANNELS = {"aw": ("awaddr", "awprot"), "w": ("wdata", "wstrb"), "b": ("bresp",),
                "ar": ("araddr", "arprot"), "r": ("rdata", "rresp")}
    WIDTHS = {"awaddr": 12, "awprot": 3, "wdata": 32, "wstrb": 4, "bresp": 2,
              "araddr": 12, "arprot": 3, "rdata": 32, "rresp": 2}

    def __init__(self, rng):
        self.rng = rng
        self.valid = dict.fromkeys(self.CHANNELS, 0)
        self.accepted = dict.fromkeys(self.CHANNELS, 0)

    def _may_raise(self, ch):
        a = self.accepted
        return {"aw": a["aw"] - a["b"] < 3, "w": a["w"] - a["b"] < 3,
                "b": min(a["aw"], a["w"]) > a["b"], "ar": a["ar"] - a["r"] < 3,
                "r": a["ar"] > a["r"]}[ch]

    async def step(self, ctx, bus):
        ready = {}
        for ch, fields in self.CHANNELS.items():
            if not self.valid[ch] and self._may_raise(ch) and self.rng.random() < 0.5:
                self.valid[ch] = 1
                for name in fields:
                    ctx.set(getattr(bus, name), int(self.rng.integers(0, 1 << self.WIDTHS[name])))
            ready[ch] = int(self.rng.random() < 0.5)
            ctx.set(getattr(bus, f"{ch}valid"), self.valid[ch])
            ctx.set(getattr(bus, f"{ch}ready"), ready[ch])
        await ctx.tick()
        for ch in self.CHANNELS:
            if self.valid[ch] and ready[ch]:
                self.valid[ch] = 0
                self.accepted[ch] += 1


def test_axi_lite_checker_passes_legal_random_traffic():
    dut = AxiLiteChecker()
    traffic = LegalAxiLite(np.random.default_rng(12))

    async def bench(ctx):
        for _ in range(600):
            await traffic.step(ctx, dut.bus)
        assert traffic.accepted["b"] > 20 and traffic.accepted["r"] > 20
        assert ctx.get(dut.violation) == 0, rule_message(ctx.get(dut.rule))

    run(dut, bench)


async def request_write_and_read(ctx, bus):
    """Accept one write address, write data and read address, so responses are legal."""
    for ch in ("aw", "w", "ar"):
        ctx.set(getattr(bus, f"{ch}valid"), 1)
        ctx.set(getattr(bus, f"{ch}ready"), 1)
    await ctx.tick()
    for ch in ("aw", "w", "ar"):
        ctx.set(getattr(bus, f"{ch}valid"), 0)
        ctx.set(getattr(bus, f"{ch}ready"), 0)


@pytest.mark.parametrize("ch", ["aw", "w", "b", "ar", "r"])
@pytest.mark.parametrize("breach", ["dropped", "changed"])
def test_axi_lite_checker_flags_each_channel_rule(ch, breach):
    dut = AxiLiteChecker()
    bus = dut.bus
    field = LegalAxiLite.CHANNELS[ch][0]
    expected = Rule[f"{ch.upper()}_{'VALID_DROPPED' if breach == 'dropped' else 'PAYLOAD_CHANGED'}"]

    async def bench(ctx):
        await request_write_and_read(ctx, bus)
        ctx.set(getattr(bus, field), 1)
        ctx.set(getattr(bus, f"{ch}valid"), 1)
        await ctx.tick().repeat(2)
        assert ctx.get(dut.violation) == 0, rule_message(ctx.get(dut.rule))
        if breach == "dropped":
            ctx.set(getattr(bus, f"{ch}valid"), 0)
        else:
            ctx.set(getattr(bus, field), 2)
        await ctx.tick().repeat(2)
        assert ctx.get(dut.violation) == 1
        assert ctx.get(dut.rule) == expected, rule_message(ctx.get(dut.rule))

    run(dut, bench)


@pytest.mark.parametrize("requests, response, rule", [
    ((), "b", Rule.B_WITHOUT_REQUEST), (("aw",), "b", Rule.B_WITHOUT_REQUEST),
    (("w",), "b", Rule.B_WITHOUT_REQUEST), (("aw", "w"), "r", Rule.R_WITHOUT_REQUEST)])
def test_axi_lite_checker_flags_responses_without_requests(requests, response, rule):
    dut = AxiLiteChecker()
    bus = dut.bus

    async def bench(ctx):
        for ch in requests:
            ctx.set(getattr(bus, f"{ch}valid"), 1)
            ctx.set(getattr(bus, f"{ch}ready"), 1)
        await ctx.tick()
        for ch in requests:
            ctx.set(getattr(bus, f"{ch}valid"), 0)
        ctx.set(getattr(bus, f"{response}valid"), 1)
        ctx.set(getattr(bus, f"{response}ready"), 1)
        await ctx.tick().repeat(2)
        assert ctx.get(dut.violation) == 1
        assert ctx.get(dut.rule) == rule

    run(dut, bench)


def test_checker_watches_a_bus_it_does_not_drive():
    top = Module()
    axis = AxiStreamSignature(8, keep=False).create()
    top.submodules.checker = checker = AxiStreamChecker(8, keep=False)
    checker.watch(top, axis)

    async def bench(ctx):
        ctx.set(axis.tvalid, 1)
        await ctx.tick()
        ctx.set(axis.tvalid, 0)
        await ctx.tick().repeat(2)
        assert ctx.get(checker.rule) == Rule.TVALID_DROPPED

    run(top, bench)
