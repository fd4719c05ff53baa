"""Board tops: the host tile and the crossbar emulator behind the UART bridge.

:class:`BoardCore` is platform independent (two serial lines and a status output), so the
same design runs in Verilator and on a board; :class:`BoardTop` wires it to a board's UART
and LEDs through an amaranth-boards platform.
"""

from amaranth.back import verilog
from amaranth.hdl import Elaboratable, Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..hdl.crossbar_emulator import CrossbarEmulator
from ..hdl.host import HostTile
from ..tb.build.sim_top import signature_ports
from .bridge import UARTBridge
from .protocol import SINKS, SOURCES, info_bytes

__all__ = ["ADDR_WIDTH", "DEFAULT_BAUD", "BoardCore", "BoardTop", "core_verilog", "core_ports",
           "CORE_TOP"]

CORE_TOP = "cim_board"
ADDR_WIDTH = 12
DEFAULT_BAUD = 115200


class BoardCore(wiring.Component):
    """UART bridge, host tile and crossbar emulator.

    Parameters
    ----------
    config : Config
    divisor : int
        Clock cycles per UART bit.
    timeout : int
        Bridge timeout in cycles (see :class:`~cimtile.fpga.bridge.Bridge`).

    Members
    -------
    rx : ``In(1, init=1)``
    tx : ``Out(1, init=1)``
    irq : ``Out(1)``
        The host tile's interrupt, for an LED.
    """

    def __init__(self, config, *, divisor, timeout):
        self.config, self.divisor, self.timeout = config, divisor, timeout
        super().__init__({"rx": In(1, init=1), "tx": Out(1, init=1), "irq": Out(1)})

    def elaborate(self, platform):
        m = Module()
        width = self.config.host.data_width
        m.submodules.host = host = HostTile(self.config)
        m.submodules.emulator = emulator = CrossbarEmulator(self.config)
        m.submodules.bridge = bridge = UARTBridge(
            divisor=self.divisor, addr_width=ADDR_WIDTH,
            sources={name: width for name in SOURCES}, sinks={name: width for name in SINKS},
            info=info_bytes(self.config), timeout=self.timeout)
        wiring.connect(m, bridge.m_axil, host.s_axil)
        for name in SOURCES:
            wiring.connect(m, getattr(bridge, f"m_axis_{name}"), getattr(host, f"s_axis_{name}"))
        for name in SINKS:
            wiring.connect(m, getattr(bridge, f"s_axis_{name}"), getattr(host, f"m_axis_{name}"))
        wiring.connect(m, host.analog, emulator.analog)
        m.d.comb += [
            emulator.l_stream.valid.eq(0),
            bridge.rx.eq(self.rx), self.tx.eq(bridge.tx), self.irq.eq(host.irq),
        ]
        return m


class BoardTop(Elaboratable):
    """:class:`BoardCore` on a board: UART 0, LED 0 shows the interrupt.

    Parameters
    ----------
    config : Config
    baud : int
        UART bit rate; the board clock must give at least 4 cycles per bit.
    """

    def __init__(self, config, *, baud=DEFAULT_BAUD):
        self.config, self.baud = config, baud

    def elaborate(self, platform):
        m = Module()
        clk_hz = int(platform.default_clk_frequency)
        m.submodules.core = core = BoardCore(self.config, divisor=clk_hz // self.baud,
                                             timeout=clk_hz // 10)
        uart = platform.request("uart", 0)
        led = platform.request("led", 0)
        m.d.comb += [core.rx.eq(uart.rx.i), uart.tx.o.eq(core.tx), led.o.eq(core.irq)]
        return m


def core_verilog(config, *, divisor, timeout):
    """Verilog of :class:`BoardCore` (module ``cim_board``) for simulation."""
    return verilog.convert(BoardCore(config, divisor=divisor, timeout=timeout),
                           name=CORE_TOP, emit_src=False)


def core_ports(config, *, divisor, timeout):
    """The ports of :class:`BoardCore`, from its signature."""
    return signature_ports(BoardCore(config, divisor=divisor, timeout=timeout))
