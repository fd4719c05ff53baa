"""cocotb test of the board core (bridge, host tile, crossbar emulator) driven from the host
side through its serial lines.

A UART model drives ``rx`` and decodes ``tx``; the host code of ``cimtile fpga run`` runs
unchanged in a bridge thread, its transport resuming the simulation for every byte it
sends or awaits. The stimulus (``$CIMTILE_TB_IN``) holds the config and ``divisor``; the
results (``$CIMTILE_TB_OUT``) hold what the host read.
"""

import json
import os
from collections import deque

import cocotb
import numpy as np
from cocotb.task import bridge, resume
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge

from cimtile.config import parse_config
from cimtile.tb.runner import ENV_IN, ENV_OUT

from .protocol import ProtocolError
from .run import connect


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


@cocotb.test()
async def board_over_uart(dut):
    with np.load(os.environ[ENV_IN]) as data:
        cfg = parse_config(json.loads(str(data["config"])))
        divisor = int(data["divisor"])
    dut.rst.value = 1
    line = UARTLine(dut, divisor)
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0
    await RisingEdge(dut.clk)
    cocotb.start_soon(line.monitor())
    port = SimSerial(line, timeout_cycles=200 * divisor * 10)

    @bridge
    def host():
        client = connect(port, cfg)
        try:
            client.read_regs(0xFFC, 1)
            unmapped = "answered"
        except ProtocolError as error:
            unmapped = str(error)
        return {"unmapped": np.array(unmapped)}

    results = await host()
    np.savez(os.environ[ENV_OUT], **results)
