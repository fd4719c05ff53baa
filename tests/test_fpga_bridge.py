"""The UART bridge's framing engine in the Amaranth simulator, against a register file and
stream endpoints modelled in the testbench."""

import queue
import struct
import threading

import numpy as np
import pytest
from amaranth.sim import Simulator

from cimtile.fpga.bridge import Bridge, UARTBridge
from cimtile.fpga.protocol import LAST, BridgeClient, Command, ProtocolError, Status, request

INFO = b"CIMT\x01"
TIMEOUT = 64
N_REGS = 8
HANG_ADDR = 0x200      # the register target never answers here
SOURCES = {"in": 64, "target": 8}
SINKS = {"out": 32, "cell": 16}


def make_bridge():
    return Bridge(addr_width=12, sources=SOURCES, sinks=SINKS, info=INFO, timeout=TIMEOUT)


class Target:
    """Register file and stream endpoints behind the bridge, with random stalls."""

    def __init__(self, dut, rng, sink_beats=None):
        self.dut, self.rng = dut, rng
        self.regs = [0] * N_REGS
        self.received = {name: [] for name in SOURCES}
        self.sink_beats = {name: list((sink_beats or {}).get(name, [])) for name in SINKS}

    async def stall(self, ctx):
        for _ in range(int(self.rng.integers(0, 4))):
            await ctx.tick()

    async def registers(self, ctx):
        axil = self.dut.m_axil
        while True:
            await ctx.tick().until(axil.awvalid | axil.arvalid)
            await self.stall(ctx)
            await ctx.tick()
            if ctx.get(axil.awvalid):
                addr = ctx.get(axil.awaddr)
                ctx.set(axil.awready, 1)
                await ctx.tick()
                ctx.set(axil.awready, 0)
                await self.stall(ctx)
                data = await self._take_w(ctx)
                ok = addr % 4 == 0 and addr // 4 < N_REGS
                if ok:
                    self.regs[addr // 4] = data
                ctx.set(axil.bresp, 0 if ok else 2)
                ctx.set(axil.bvalid, 1)
                await ctx.tick().until(axil.bready)
                ctx.set(axil.bvalid, 0)
            else:
                addr = ctx.get(axil.araddr)
                if addr == HANG_ADDR:
                    await ctx.tick().until(~axil.arvalid)
                    continue
                ctx.set(axil.arready, 1)
                await ctx.tick()
                ctx.set(axil.arready, 0)
                await self.stall(ctx)
                ok = addr % 4 == 0 and addr // 4 < N_REGS
                ctx.set(axil.rdata, self.regs[addr // 4] if ok else 0xDEADBEEF)
                ctx.set(axil.rresp, 0 if ok else 2)
                ctx.set(axil.rvalid, 1)
                await ctx.tick().until(axil.rready)
                ctx.set(axil.rvalid, 0)

    async def _take_w(self, ctx):
        axil = self.dut.m_axil
        ctx.set(axil.wready, 1)
        while True:
            valid, data = ctx.get(axil.wvalid), ctx.get(axil.wdata)
            await ctx.tick()
            if valid:
                ctx.set(axil.wready, 0)
                return data

    async def stream_sink(self, ctx, name):
        port = getattr(self.dut, f"m_axis_{name}")
        while True:
            ready = int(self.rng.integers(0, 2))
            ctx.set(port.tready, ready)
            _, _, valid, data, keep, last = await ctx.tick().sample(
                port.tvalid, port.tdata, port.tkeep, port.tlast)
            if valid and ready:
                assert keep == (1 << SOURCES[name] // 8) - 1
                self.received[name].append((data, last))

    async def stream_source(self, ctx, name):
        port = getattr(self.dut, f"s_axis_{name}")
        for data, last, *keep in self.sink_beats[name]:
            await self.stall(ctx)
            ctx.set(port.tdata, data)
            ctx.set(port.tkeep, keep[0] if keep else (1 << SINKS[name] // 8) - 1)
            ctx.set(port.tlast, last)
            ctx.set(port.tvalid, 1)
            await ctx.tick().until(port.tready)
            ctx.set(port.tvalid, 0)


def bound(method, name):
    async def testbench(ctx):
        await method(ctx, name)
    return testbench


def exchange(requests, sink_beats=None, seed=0):
    """Send each ``(request bytes, answer length)`` after the previous answer; return the
    answers and the target."""
    dut = make_bridge()
    rng = np.random.default_rng(seed)
    target = Target(dut, rng, sink_beats)
    answers = []

    async def host(ctx):
        for data, n_answer in requests:
            for byte in data:
                ctx.set(dut.i_stream.payload, byte)
                ctx.set(dut.i_stream.valid, 1)
                await ctx.tick().until(dut.i_stream.ready)
                ctx.set(dut.i_stream.valid, 0)
                if rng.integers(0, 2):
                    await ctx.tick()
            answer = []
            while len(answer) < n_answer:
                ready = int(rng.integers(0, 2))
                ctx.set(dut.o_stream.ready, ready)
                _, _, valid, byte = await ctx.tick().sample(dut.o_stream.valid,
                                                             dut.o_stream.payload)
                if valid and ready:
                    answer.append(byte)
            ctx.set(dut.o_stream.ready, 0)
            answers.append(bytes(answer))
        # Nothing more may come.
        ctx.set(dut.o_stream.ready, 1)
        for _ in range(4 * TIMEOUT):
            assert not ctx.get(dut.o_stream.valid), "bridge answered more than expected"
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(target.registers, background=True)
    for name in SOURCES:
        sim.add_testbench(bound(target.stream_sink, name), background=True)
    for name in SINKS:
        sim.add_testbench(bound(target.stream_source, name), background=True)
    sim.add_testbench(host)
    sim.run()
    return answers, target


def words(*values):
    return struct.pack(f"<{len(values)}I", *values)


def test_info_answers_the_descriptor():
    answers, _ = exchange([(request(Command.INFO, 0x1234, 9), len(INFO) + 1)])
    assert answers == [INFO + bytes([Status.OK])]


def test_register_writes_and_reads_round_trip():
    values = [0x01234567, 0x89ABCDEF, 0xFFFFFFFF, 0]
    answers, target = exchange([
        (request(Command.REG_WRITE, 0x8, 4, words(*values)), 1),
        (request(Command.REG_READ, 0x4, 6), 6 * 4 + 1),
        (request(Command.REG_WRITE, 0x0, 0), 1),
    ])
    assert answers[0] == bytes([Status.OK])
    assert target.regs == [0, 0, *values, 0, 0]
    assert answers[1] == words(0, *values, 0) + bytes([Status.OK])
    assert answers[2] == bytes([Status.OK])


def test_register_error_responses_are_reported_and_the_rest_completes():
    answers, target = exchange([
        (request(Command.REG_WRITE, 4 * (N_REGS - 1), 2, words(7, 8)), 1),
        (request(Command.REG_READ, 4 * (N_REGS - 1), 2), 9),
    ])
    assert target.regs[N_REGS - 1] == 7
    assert answers[0] == bytes([Status.ERROR])
    assert answers[1] == words(7, 0xDEADBEEF) + bytes([Status.ERROR])


def test_stream_write_sends_beats_little_endian_with_tlast_on_request():
    beats = [0x0102030405060708, 0xFFEEDDCCBBAA9988, 0x1]
    payload = b"".join(b.to_bytes(8, "little") for b in beats)
    answers, target = exchange([
        (request(Command.STREAM_WRITE | LAST, 0, 3, payload), 1),
        (request(Command.STREAM_WRITE, 0, 1, payload[:8]), 1),
        (request(Command.STREAM_WRITE | LAST, 1, 4, bytes([1, 2, 3, 0])), 1),
    ])
    assert answers == [bytes([Status.OK])] * 3
    assert target.received["in"] == [(beats[0], 0), (beats[1], 0), (beats[2], 1),
                                     (beats[0], 0)]
    assert target.received["target"] == [(1, 0), (2, 0), (3, 0), (0, 1)]


def test_stream_read_receives_beats_and_reports_tlast_of_the_final_one():
    out = [(0x11223344, 0), (0x55667788, 1), (0x99AABBCC, 0)]
    answers, _ = exchange([
        (request(Command.STREAM_READ, 0, 2), 9),
        (request(Command.STREAM_READ, 0, 1), 5),
        (request(Command.STREAM_READ, 1, 1), 3),
    ], sink_beats={"out": out, "cell": [(0xBEEF, 1)]})
    assert answers[0] == words(0x11223344, 0x55667788) + bytes([Status.LAST])
    assert answers[1] == words(0x99AABBCC) + bytes([Status.OK])
    assert answers[2] == (0xBEEF).to_bytes(2, "little") + bytes([Status.LAST])


def test_stream_read_skips_null_beats_and_flags_them():
    out = [(0x11223344, 0), (0xFFFFFFFF, 1, 0), (0x55667788, 1)]
    answers, _ = exchange([
        (request(Command.STREAM_READ, 0, 2), 9),
    ], sink_beats={"out": out})
    assert answers[0] == words(0x11223344, 0x55667788) + bytes([Status.LAST | Status.NULL])


def test_timeouts_keep_the_framing():
    answers, target = exchange([
        # Three beats asked for, one available: two padded with zeros.
        (request(Command.STREAM_READ, 0, 3), 13),
        # The register target never answers this read.
        (request(Command.REG_READ, HANG_ADDR, 2), 9),
        # Still in step afterwards.
        (request(Command.REG_WRITE, 0, 1, words(5)), 1),
        (request(Command.REG_READ, 0, 1), 5),
    ], sink_beats={"out": [(0xCAFEF00D, 1)]})
    assert answers[0] == words(0xCAFEF00D, 0, 0) + bytes([Status.TIMEOUT])
    assert answers[1] == words(0, 0) + bytes([Status.TIMEOUT])
    assert answers[2] == bytes([Status.OK])
    assert answers[3] == words(5) + bytes([Status.OK])


@pytest.mark.parametrize("bad", [request(0x7F, 0, 0), request(Command.STREAM_WRITE, 2, 1,
                                                              b"\x01" * 8),
                                 request(Command.STREAM_READ, 2, 1)])
def test_bad_requests_are_refused_after_the_line_falls_quiet(bad):
    answers, _ = exchange([(bad, 1), (request(Command.INFO), len(INFO) + 1)])
    assert answers == [bytes([Status.BAD_COMMAND]), INFO + bytes([Status.OK])]


def test_a_request_broken_off_is_dropped_without_an_answer():
    dut = make_bridge()
    answers = []

    async def host(ctx):
        ctx.set(dut.o_stream.ready, 1)
        for data in (request(Command.REG_WRITE, 0, 2, words(1))[:9], request(Command.INFO)):
            for byte in data:
                ctx.set(dut.i_stream.payload, byte)
                ctx.set(dut.i_stream.valid, 1)
                await ctx.tick().until(dut.i_stream.ready)
            ctx.set(dut.i_stream.valid, 0)
            for _ in range(2 * TIMEOUT):
                _, _, valid, byte = await ctx.tick().sample(dut.o_stream.valid,
                                                             dut.o_stream.payload)
                if valid:
                    answers.append(byte)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(host)
    sim.run()
    assert bytes(answers) == INFO + bytes([Status.OK])


def test_parameters_are_validated():
    with pytest.raises(ValueError, match="timeout must be an integer of at least 2"):
        Bridge(addr_width=8, sources=SOURCES, sinks=SINKS, info=INFO, timeout=1)
    with pytest.raises(ValueError, match="info must hold at least one byte"):
        Bridge(addr_width=8, sources=SOURCES, sinks=SINKS, info=b"", timeout=8)


class SimPort:
    """A byte transport into the simulated UART lines, for :class:`BridgeClient` running in
    another thread than the simulator."""

    def __init__(self):
        self.to_dut, self.from_dut = queue.Queue(), queue.Queue()
        self.closed = threading.Event()

    def write(self, data):
        for byte in data:
            self.to_dut.put(byte)

    def read(self, n):
        data = bytearray()
        while len(data) < n:
            try:
                data.append(self.from_dut.get(timeout=60))
            except queue.Empty:
                break
        return bytes(data)


def test_client_drives_the_uart_bridge_through_the_serial_lines():
    divisor = 4
    dut = UARTBridge(divisor=divisor, addr_width=12, sources=SOURCES, sinks=SINKS,
                     info=INFO, timeout=8 * 10 * divisor)
    target = Target(dut, np.random.default_rng(3), {"out": [(0x0BADCAFE, 0), (7, 1)]})
    port = SimPort()

    async def line_in(ctx):
        while not port.closed.is_set():
            try:
                byte = port.to_dut.get_nowait()
            except queue.Empty:
                await ctx.tick()
                continue
            for bit in [0] + [(byte >> i) & 1 for i in range(8)] + [1]:
                ctx.set(dut.rx, bit)
                await ctx.tick().repeat(divisor)

    async def line_out(ctx):
        while True:
            await ctx.tick().until(~dut.tx)
            await ctx.tick().repeat(divisor // 2 + divisor)
            byte = 0
            for i in range(8):
                byte |= ctx.get(dut.tx) << i
                await ctx.tick().repeat(divisor)
            port.from_dut.put(byte)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(target.registers, background=True)
    for name in SOURCES:
        sim.add_testbench(bound(target.stream_sink, name), background=True)
    for name in SINKS:
        sim.add_testbench(bound(target.stream_source, name), background=True)
    sim.add_testbench(line_out, background=True)
    sim.add_testbench(line_in)
    thread = threading.Thread(target=sim.run)
    thread.start()
    try:
        client = BridgeClient(port, source_bytes={0: 8, 1: 1}, sink_bytes={0: 4, 1: 2})
        assert client.info(len(INFO)) == INFO
        client.write_regs(0x4, [11, 22, 33])
        assert client.read_regs(0x0, 4) == [0, 11, 22, 33]
        client.stream_write(0, b"\xff" * 8 + bytes([5]) + bytes(7))
        assert client.stream_read(0, 2) == (words(0x0BADCAFE, 7), True)
        with pytest.raises(ValueError, match="whole 8-byte beats, not 9 bytes"):
            client.stream_write(0, bytes(9))
        with pytest.raises(ProtocolError, match="REG_READ 0x1c: bridge status"):
            client.read_regs(4 * N_REGS - 4, 2)
    finally:
        port.closed.set()
        thread.join()
    assert target.regs[:4] == [0, 11, 22, 33]
    assert target.received["in"] == [(2 ** 64 - 1, 0), (5, 1)]
