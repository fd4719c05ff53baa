"""cocotb test of the board core (bridge, host tile, crossbar emulator) driven from the host
side through its serial lines.

A UART model drives ``rx`` and decodes ``tx``; the host code of ``cimtile fpga run`` runs
unchanged in a bridge thread, its transport resuming the simulation for every byte it
sends or awaits. The stimulus (``$CIMTILE_TB_IN``) holds the config, ``divisor``, the
weights ``W`` and ``batches`` input batches ``X0``, ``X1``, ...; the results
(``$CIMTILE_TB_OUT``) hold what the host read (see :func:`session`).
"""

import json
import os
import tty
from collections import deque
from pathlib import Path

import cocotb
import numpy as np
from cocotb.task import bridge, resume
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge

from cimtile.spec.config import parse_config
from cimtile.spec.regmap import register
from cimtile.tb.transport.exchange import ENV_IN, ENV_OUT

from .protocol import ProtocolError
from .run import BoardError, connect, run_weights

#: An address no register answers (the map ends at 0x074).
UNMAPPED = 0xFFC


class UARTLine:
    """8N1 host end of the serial lines: sends on ``rx``, decodes ``tx`` into a queue."""

    def __init__(self, dut, divisor):
        self.dut, self.divisor = dut, divisor
        self.received = deque()
        dut.rx.value = 1

    async def send(self, data):
        for byte in data:
            for bit in [0] + [(byte >> i) & 1 for i in range(8)] + [1]:
                self.dut.rx.value = bit
                await ClockCycles(self.dut.clk, self.divisor)

    async def monitor(self):
        while True:
            await FallingEdge(self.dut.tx)
            await ClockCycles(self.dut.clk, self.divisor + self.divisor // 2)
            byte = 0
            for i in range(8):
                byte |= int(self.dut.tx.value) << i
                await ClockCycles(self.dut.clk, self.divisor)
            self.received.append(byte)

    async def receive(self, n, cycles):
        """Up to ``n`` bytes, waiting at most ``cycles`` clock cycles for each."""
        data = bytearray()
        while len(data) < n:
            waited = 0
            while not self.received and waited < cycles:
                await ClockCycles(self.dut.clk, self.divisor)
                waited += self.divisor
            if not self.received:
                break
            data.append(self.received.popleft())
        return bytes(data)


class SimSerial:
    """The blocking transport the host code expects, over :class:`UARTLine`."""

    def __init__(self, line, timeout_cycles):
        self.line, self.timeout_cycles = line, timeout_cycles

    def write(self, data):
        resume(self.line.send)(bytes(data))

    def read(self, n):
        return resume(self.line.receive)(n, self.timeout_cycles)


def session(port, cfg, W, batches):
    """The host's side of the board test: identity, registers, bus errors, then
    :func:`run_weights`. Returns what the host saw, as arrays."""
    seen = {}
    board = connect(port, cfg)
    for name in ("ID", "VERSION", "CAP_ARRAY"):
        seen[name] = np.array(board.read(name))
    irq_enable = register("IRQ_ENABLE").pack(done=1, error=1)
    board.write("IRQ_ENABLE", irq_enable)
    seen["IRQ_ENABLE"] = np.array(board.read("IRQ_ENABLE"))
    board.write("IRQ_ENABLE", 0)
    for what, call in [("unmapped_read", lambda: board.client.read_regs(UNMAPPED, 1)),
                       ("unmapped_write", lambda: board.client.write_regs(UNMAPPED, [1])),
                       ("refused", lambda: board.write("SETTINGS", register("SETTINGS").pack(
                           mode=0, in_bits=0, adc_shift=0)))]:
        try:
            call()
            seen[what] = np.array("answered")
        except (ProtocolError, BoardError) as error:
            seen[what] = np.array(str(error))
    results, cells, report = run_weights(board, W, batches)
    for i, Y in enumerate(results):
        seen[f"Y{i}"] = Y
    if hasattr(cells, "remap"):       # spares: programmed by the repair flow
        seen["remap"] = cells.remap
    else:
        seen["pulses"], seen["code"] = cells.pulses, cells.code
    seen["report"] = np.array(json.dumps(report))
    return seen


async def serve_pty(line, folder):
    """Serve the serial lines on a pseudo-terminal until ``folder/stop`` appears.

    Its slave's path is written to ``folder/port`` once the terminal is raw (no echo, no
    line editing), so that any serial client (``cimtile fpga run --port``) can open it.
    """
    master, slave = os.openpty()
    tty.setraw(slave)
    os.set_blocking(master, False)
    ready = Path(folder) / "port"
    ready.with_suffix(".tmp").write_text(os.ttyname(slave))
    os.replace(ready.with_suffix(".tmp"), ready)
    stop = Path(folder) / "stop"
    try:
        while not stop.exists():
            try:
                request = os.read(master, 4096)
            except BlockingIOError:
                request = b""
            if line.received:
                os.write(master, bytes(line.received))
                line.received.clear()
            if request:
                await line.send(request)
            else:
                await ClockCycles(line.dut.clk, 16 * line.divisor)
    finally:
        os.close(master)
        os.close(slave)


@cocotb.test()
async def board_over_uart(dut):
    with np.load(os.environ[ENV_IN]) as data:
        cfg = parse_config(json.loads(str(data["config"])))
        divisor = int(data["divisor"])
        folder = str(data["pty_folder"]) if "pty_folder" in data else None
        if folder is None:
            W = data["W"]
            batches = [data[f"X{i}"] for i in range(int(data["batches"]))]
    dut.rst.value = 1
    line = UARTLine(dut, divisor)
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0
    await RisingEdge(dut.clk)
    cocotb.start_soon(line.monitor())
    if folder is not None:
        await serve_pty(line, folder)
        np.savez(os.environ[ENV_OUT])
        return
    port = SimSerial(line, timeout_cycles=200 * divisor * 10)
    results = await bridge(session)(port, cfg, W, batches)
    np.savez(os.environ[ENV_OUT], **results)
