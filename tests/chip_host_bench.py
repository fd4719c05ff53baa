"""A testbench's view of the chip host: the host with a crossbar emulator per tile and
protocol checkers on its bus and output streams (:class:`Board`), and the AXI4-Lite and
AXI4-Stream transactions a host makes on it (:class:`Host`)."""

from amaranth.hdl import Elaboratable, Module
from amaranth.lib import wiring

from cimtile.hdl.axi_checker import AxiLiteChecker, AxiStreamChecker, rule_message
from cimtile.hdl.chip_host import ChipHost
from cimtile.hdl.crossbar_emulator import CrossbarEmulator
from cimtile.spec.chip_regmap import register

__all__ = ["Board", "Host", "LIMIT"]

#: Cycles any one wait may take.
LIMIT = 20_000
STATUS = register("STATUS")


class Board(Elaboratable):
    """The chip host, each tile's analog port answered by a crossbar emulator, its bus and
    output streams watched by protocol checkers."""

    def __init__(self, chip):
        self.host = ChipHost(chip)
        self.emulators = [CrossbarEmulator(chip.tile) for _ in range(chip.chip.tiles)]
        width = chip.tile.host.data_width
        self.checkers = {"s_axil": AxiLiteChecker(),
                         "m_axis_scores": AxiStreamChecker(width, keep=True),
                         "m_axis_cell": AxiStreamChecker(width, keep=True)}

    def violations(self, ctx):
        """The rules broken so far, by port."""
        return {name: rule_message(ctx.get(checker.rule))
                for name, checker in self.checkers.items() if ctx.get(checker.violation)}

    def elaborate(self, platform):
        m = Module()
        m.submodules.host = self.host
        for name, checker in self.checkers.items():
            m.submodules[f"check_{name}"] = checker
            checker.watch(m, getattr(self.host, name))
        for t, emulator in enumerate(self.emulators):
            m.submodules[f"emulator{t}"] = emulator
            wiring.connect(m, self.host.analog[t], emulator.analog)
            m.d.comb += emulator.l_stream.valid.eq(0)
        return m


class Host:
    """AXI4-Lite and AXI4-Stream transactions on the chip host, one at a time."""

    def __init__(self, ctx, dut, rng=None):
        self.ctx, self.dut, self.rng = ctx, dut, rng

    def _stall(self):
        return self.rng is not None and self.rng.random() < 0.4

    async def _wait(self, signal, limit=100):
        for _ in range(limit):
            if self.ctx.get(signal):
                return
            await self.ctx.tick()
        raise AssertionError(f"{signal.name} never rose")

    async def write(self, name, value=0, **fields):
        """Write register `name` (a word, or its fields); the response."""
        reg = register(name) if isinstance(name, str) else None
        word = reg.pack(**fields) if fields else value
        bus, ctx = self.dut.s_axil, self.ctx
        offset = reg.offset if reg else name
        ctx.set(bus.awaddr, offset)
        ctx.set(bus.wdata, word)
        ctx.set(bus.wstrb, 0xF)
        ctx.set(bus.awvalid, 1)
        ctx.set(bus.wvalid, 1)
        ctx.set(bus.bready, 1)
        await self._wait(bus.awready)
        await ctx.tick()
        ctx.set(bus.awvalid, 0)
        ctx.set(bus.wvalid, 0)
        await self._wait(bus.bvalid)
        resp = ctx.get(bus.bresp)
        await ctx.tick()
        ctx.set(bus.bready, 0)
        return resp

    async def read(self, name):
        """Read register `name`: ``(word, response)``."""
        bus, ctx = self.dut.s_axil, self.ctx
        ctx.set(bus.araddr, register(name).offset if isinstance(name, str) else name)
        ctx.set(bus.arvalid, 1)
        ctx.set(bus.rready, 1)
        await self._wait(bus.arready)
        await ctx.tick()
        ctx.set(bus.arvalid, 0)
        await self._wait(bus.rvalid)
        word, resp = ctx.get(bus.rdata), ctx.get(bus.rresp)
        await ctx.tick()
        ctx.set(bus.rready, 0)
        return word, resp

    async def status(self):
        return STATUS.unpack((await self.read("STATUS"))[0])

    async def idle(self):
        """Wait for STATUS.busy to fall (an image's last beat is written a lane a cycle)."""
        for _ in range(LIMIT):
            if not (await self.status())["busy"]:
                return
        raise AssertionError("busy for ever")

    async def stream(self, send=None, frame=b"", receive=None, *, keep=None, last=True):
        """Stream the bytes `frame` on the port `send` (TLAST on the last beat if `last`,
        TKEEP `keep` per beat or all ones) while taking a frame, up to its TLAST beat, from the
        port `receive`; the frame received. A stalled beat must be held."""
        ctx = self.ctx
        width = len(send.tdata) // 8 if send is not None else 1
        beats = [frame[i:i + width] for i in range(0, len(frame), width)]
        sent, offered, got, held = 0, False, None if receive is None else b"", None
        for _ in range(LIMIT):
            if send is not None and not offered and sent < len(beats):
                offered = not self._stall()
                ctx.set(send.tvalid, offered)
                ctx.set(send.tdata, int.from_bytes(beats[sent], "little"))
                ctx.set(send.tkeep, (1 << width) - 1 if keep is None else keep[sent])
                ctx.set(send.tlast, last and sent == len(beats) - 1)
            signals = [send.tready] if send is not None else []
            if receive is not None:
                ready = not self._stall()
                ctx.set(receive.tready, ready)
                signals += [receive.tvalid, receive.tdata, receive.tlast, receive.tkeep]
            sampled = (await ctx.tick().sample(*signals))[2:]
            if send is not None:
                if offered and sampled[0]:
                    sent, offered = sent + 1, False
                    ctx.set(send.tvalid, 0)
                sampled = sampled[1:]
            if receive is not None:
                valid, data, tlast, tkeep = sampled
                if held is not None:
                    assert valid and (data, tlast) == held, "a stalled beat changed"
                held = (data, tlast) if valid and not ready else None
                if valid and ready:
                    assert tkeep == (1 << len(receive.tkeep)) - 1
                    got += data.to_bytes(len(receive.tdata) // 8, "little")
                    if tlast:
                        ctx.set(receive.tready, 0)
                        receive = None
            if sent == len(beats) and receive is None:
                return got
        raise AssertionError(f"streams unfinished after {LIMIT} cycles")
