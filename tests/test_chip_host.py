"""The chip behind its host interface, in the Amaranth simulator: a compiled network
loaded, its tiles programmed by write-verify and its images run only through the AXI4-Lite
registers and the AXI4-Stream ports, each tile answered by the crossbar emulator (ideal,
and lossless on this tile); the scores equal the golden chip model's. Every refusal names
its cause, stalled beats are held, and the committed documents are the generator's."""

import numpy as np
import pytest
from amaranth.hdl import Elaboratable, Module
from amaranth.lib import wiring

from cimtile.flows.chip_compile import compile_network
from cimtile.flows.chip_report import chip_images
from cimtile.flows.graph import mlp_graph
from cimtile.flows.network import Layer
from cimtile.hdl.axi_lite import AxiResp
from cimtile.hdl.chip_host import ChipHost
from cimtile.hdl.crossbar_emulator import CrossbarEmulator
from cimtile.models.chip_golden import run_chip
from cimtile.spec.axis_frames import pack_targets, pack_vectors, unpack_cells, unpack_vectors
from cimtile.spec.chip_config import CHIP_DEMO_CONFIG, load_chip_config
from cimtile.spec.chip_regmap import REGISTERS, Access, ErrorCause, capabilities, register
from cimtile.spec.chip_regmap_docs import FILES
from cimtile.spec.mapping import weight_levels

from amaranth_sim import run
from cli_helpers import small_at
from test_chip_config import CHIP, write

DOCS = __import__("pathlib").Path(__file__).parents[1] / "docs"
#: Two tiles of 12 x 3 whose ADC conversions last 3 cycles, as the emulator needs.
TWO_TILES = CHIP.replace("tiles = 8", "tiles = 2")
STATUS, CTRL, IRQ_STATUS = register("STATUS"), register("CTRL"), register("IRQ_STATUS")
LIMIT = 20_000


@pytest.fixture(scope="module")
def chip(tmp_path_factory):
    return load_chip_config(write(tmp_path_factory.mktemp("chip"), TWO_TILES,
                                  small_at(2, 3)))


class Board(Elaboratable):
    """The chip host, each tile's analog port answered by a crossbar emulator."""

    def __init__(self, chip):
        self.host = ChipHost(chip)
        self.emulators = [CrossbarEmulator(chip.tile) for _ in range(chip.chip.tiles)]

    def elaborate(self, platform):
        m = Module()
        m.submodules.host = self.host
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

    async def stream(self, send=None, frame=b"", receive=None, *, keep=None):
        """Stream the bytes `frame` on the port `send` (TLAST on the last beat, TKEEP
        `keep` per beat or all ones) while taking a frame, up to its TLAST beat, from the
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
                ctx.set(send.tlast, sent == len(beats) - 1)
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
                valid, data, last, tkeep = sampled
                if held is not None:
                    assert valid and (data, last) == held, "a stalled beat changed"
                held = (data, last) if valid and not ready else None
                if valid and ready:
                    assert tkeep == (1 << len(receive.tkeep)) - 1
                    got += data.to_bytes(len(receive.tdata) // 8, "little")
                    if last:
                        ctx.set(receive.tready, 0)
                        receive = None
            if sent == len(beats) and receive is None:
                return got
        raise AssertionError(f"streams unfinished after {LIMIT} cycles")


def network(chip):
    """A 10-3-3 MLP compiled for the two tiles, and two of its images."""
    rng = np.random.default_rng(5)
    layers = [Layer(rng.normal(size=(10, 3)), rng.normal(size=3)),
              Layer(rng.normal(size=(3, 3)), rng.normal(size=3))]
    program = compile_network(mlp_graph(layers), chip, rng.normal(size=(40, 10)))
    return program, chip_images(program, chip, rng.normal(size=(2, 10)))


async def program_tile(host, chip, t, weights):
    """Program tile `t` with `weights` by write-verify; its per-cell results."""
    levels = weight_levels(weights, chip.tile).ravel()
    dut = host.dut
    assert await host.write("TILE_SEL", tile=t) == AxiResp.OKAY
    assert await host.write("TILE_CTRL", start=1) == AxiResp.OKAY
    frame = await host.stream(dut.s_axis_target, pack_targets(
        levels, len(dut.s_axis_target.tdata)), dut.m_axis_cell)
    return unpack_cells(frame, levels.size, len(dut.m_axis_cell.tdata))


async def load(host, program):
    """The program and its parameters through the registers."""
    assert await host.write("PROG_ADDR", addr=0) == AxiResp.OKAY
    for word in map(int, program.words):
        assert await host.write("PROG_DATA_LO", word & 0xFFFFFFFF) == AxiResp.OKAY
        assert await host.write("PROG_DATA_HI", word >> 32) == AxiResp.OKAY
    assert await host.write("PARAM_ADDR", addr=0) == AxiResp.OKAY
    for mult, bias in zip(map(int, program.mult), map(int, program.bias)):
        await host.write("PARAM_MULT", mult & 0xFFFFFFFF)
        await host.write("PARAM_BIAS_HI", (bias >> 32) & 0xFFFFFFFF)
        assert await host.write("PARAM_BIAS", bias & 0xFFFFFFFF) == AxiResp.OKAY
    await host.write("IMAGE_ADDR", addr=program.input_address)
    await host.write("IMAGE_LEN", length=program.input_length)
    await host.write("SCORE_ADDR", addr=program.output_address)
    assert await host.write("SCORE_LEN", length=program.output_length) == AxiResp.OKAY


async def infer(host, chip, image):
    """One image in, a run, its scores out."""
    dut, width = host.dut, len(host.dut.s_axis_image.tdata)
    await host.stream(dut.s_axis_image, pack_vectors([image], chip.chip.out_bits, width))
    await host.idle()
    assert await host.write("CTRL", start=1) == AxiResp.OKAY
    frame = await host.stream(receive=dut.m_axis_scores)
    return frame


def test_a_network_runs_through_the_host_interface(chip):
    program, images = network(chip)
    board = Board(chip)
    dut = board.host
    got = {}

    async def bench(ctx):
        host = Host(ctx, dut, np.random.default_rng(1))
        for t in range(chip.chip.tiles):
            cells = await program_tile(host, chip, t, program.weights[t])
            assert cells.converged.all(), t
        await load(host, program)
        got["scores"] = []
        for image in images:
            frame = await infer(host, chip, image)
            got["scores"].append(unpack_vectors(frame, chip.chip.out_bits,
                                                program.output_length, len(dut.m_axis_scores.tdata))[0])
        got["status"] = await host.status()

    run(board, bench)
    outputs, _ = run_chip(chip, program, images, lambda t, x: x @ program.weights[t])
    assert chip.tile.lossless
    assert np.array_equal(np.array(got["scores"]), outputs)
    assert np.abs(outputs).max() > 0
    assert got["status"]["done"] and not got["status"]["error"], got["status"]
