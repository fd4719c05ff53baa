"""UART physical layer in the Amaranth simulator, against a reference 8N1 line model."""

import numpy as np
import pytest
from amaranth.hdl import Module

from cimtile.fpga.uart import UARTRx, UARTTx, check_divisor

from amaranth_sim import run


def frame_bits(byte, stop=1):
    """Reference 8N1 frame: start bit, data LSB first, stop bit."""
    return [0] + [(byte >> i) & 1 for i in range(8)] + [stop]


async def drive_frame(ctx, line, byte, bit_cycles, stop=1):
    for bit in frame_bits(byte, stop):
        ctx.set(line, bit)
        await ctx.tick().repeat(bit_cycles)
    ctx.set(line, 1)


def test_divisor_is_validated():
    assert check_divisor(4) == 4
    for bad in (3, 0, 4.0, True):
        with pytest.raises(ValueError, match="divisor must be an integer of at least 4"):
            check_divisor(bad)


@pytest.mark.parametrize("divisor", [4, 7, 16])
def test_tx_sends_8n1_frames_with_exact_bit_times(divisor):
    dut = UARTTx(divisor)
    sent = [0x00, 0xFF, 0x55, 0xA3, 0x01, 0x80]
    line = []

    async def producer(ctx):
        for byte in sent:
            ctx.set(dut.i_stream.payload, byte)
            ctx.set(dut.i_stream.valid, 1)
            await ctx.tick().until(dut.i_stream.ready)
            ctx.set(dut.i_stream.valid, 0)

    async def monitor(ctx):
        assert ctx.get(dut.tx) == 1, "line idles high"
        for _ in range(len(sent) * 10 * divisor + 20):
            line.append(ctx.get(dut.tx))
            await ctx.tick()

    run(dut, monitor, background=[producer])
    # Decode: every frame starts at a falling edge, bits sampled mid-bit.
    received, t = [], 0
    while len(received) < len(sent):
        t = line.index(0, t)
        bits = [line[t + divisor // 2 + k * divisor] for k in range(10)]
        assert bits[0] == 0 and bits[9] == 1, f"frame at cycle {t}: {bits}"
        assert line[t:t + divisor] == [0] * divisor, "start bit lasts exactly one bit time"
        received.append(sum(bit << i for i, bit in enumerate(bits[1:9])))
        t += 9 * divisor + divisor // 2
    assert received == sent


@pytest.mark.parametrize("divisor, line_cycles", [(8, 8), (16, 16), (32, 31), (32, 33)])
def test_rx_receives_frames_also_with_baud_mismatch(divisor, line_cycles):
    dut = UARTRx(divisor)
    rng = np.random.default_rng(divisor + line_cycles)
    sent = [int(b) for b in rng.integers(0, 256, 24)]
    received = []

    async def line(ctx):
        for byte in sent:
            await ctx.tick().repeat(int(rng.integers(1, 3 * divisor)))
            await drive_frame(ctx, dut.rx, byte, line_cycles)

    async def consumer(ctx):
        ctx.set(dut.o_stream.ready, 1)
        while len(received) < len(sent):
            _, _, valid, payload, error, overrun = await ctx.tick().sample(
                dut.o_stream.valid, dut.o_stream.payload, dut.error, dut.overrun)
            assert not error and not overrun
            if valid:
                received.append(payload)

    run(dut, consumer, background=[line])
    assert received == sent


def test_rx_flags_a_missing_stop_bit_and_ignores_a_glitch():
    divisor = 8
    dut = UARTRx(divisor)
    events = []

    async def line(ctx):
        await drive_frame(ctx, dut.rx, 0x3C, divisor, stop=0)
        await ctx.tick().repeat(3 * divisor)
        ctx.set(dut.rx, 0)                       # shorter than half a bit: not a start bit
        await ctx.tick().repeat(2)
        ctx.set(dut.rx, 1)
        await ctx.tick().repeat(2 * divisor)
        await drive_frame(ctx, dut.rx, 0xC3, divisor)

    async def consumer(ctx):
        ctx.set(dut.o_stream.ready, 1)
        for _ in range(40 * divisor):
            _, _, valid, payload, error = await ctx.tick().sample(
                dut.o_stream.valid, dut.o_stream.payload, dut.error)
            if error:
                events.append("error")
            if valid:
                events.append(payload)

    run(dut, consumer, background=[line])
    assert events == ["error", 0xC3]


def test_rx_reports_overrun_when_a_byte_is_not_taken():
    divisor = 8
    dut = UARTRx(divisor)
    seen = []

    async def line(ctx):
        for byte in (0x11, 0x22):
            await drive_frame(ctx, dut.rx, byte, divisor)

    async def consumer(ctx):
        for _ in range(24 * divisor):
            _, _, overrun = await ctx.tick().sample(dut.overrun)
            seen.append(overrun)
        assert ctx.get(dut.o_stream.valid) and ctx.get(dut.o_stream.payload) == 0x22

    run(dut, consumer, background=[line])
    assert sum(seen) == 1


def test_tx_to_rx_loopback():
    divisor = 5
    m = Module()
    m.submodules.tx = tx = UARTTx(divisor)
    m.submodules.rx = rx = UARTRx(divisor)
    m.d.comb += rx.rx.eq(tx.tx)
    sent = list(range(0, 256, 7))
    received = []

    async def producer(ctx):
        for byte in sent:
            ctx.set(tx.i_stream.payload, byte)
            ctx.set(tx.i_stream.valid, 1)
            await ctx.tick().until(tx.i_stream.ready)
        ctx.set(tx.i_stream.valid, 0)

    async def consumer(ctx):
        ctx.set(rx.o_stream.ready, 1)
        while len(received) < len(sent):
            _, _, valid, payload = await ctx.tick().sample(rx.o_stream.valid,
                                                           rx.o_stream.payload)
            if valid:
                received.append(payload)

    run(m, consumer, background=[producer])
    assert received == sent
