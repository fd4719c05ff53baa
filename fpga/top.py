"""Board tops: the host tile and the crossbar emulator behind the UART bridge.

:class:`BoardCore` is platform independent (two serial lines and a status output), so the
same design runs in Verilator and on a board; :class:`BoardTop` wires it to a board's UART
and LEDs through an amaranth-boards platform. The chip's board tops (:mod:`.chip_top`) are
built on the same bases, :class:`SerialCore` and :class:`OnBoard`.
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

__all__ = ["ADDR_WIDTH", "DEFAULT_BAUD", "SerialCore", "OnBoard", "BoardCore", "BoardTop",
           "core_verilog", "core_ports", "CORE_TOP"]

CORE_TOP = "cim_board"
ADDR_WIDTH = 12
DEFAULT_BAUD = 115200


class SerialCore(wiring.Component):
    """A host behind the UART bridge, platform independent.

    Parameters
    ----------
    divisor : int
        Clock cycles per UART bit.
    timeout : int
        Bridge timeout in cycles (see :class:`~cimtile.fpga.bridge.Bridge`).

    Members
    -------
    rx : ``In(1, init=1)``
    tx : ``Out(1, init=1)``
    irq : ``Out(1)``
        The host's interrupt, for an LED.
    """

    def __init__(self, *, divisor, timeout):
        self.divisor, self.timeout = divisor, timeout
        super().__init__({"rx": In(1, init=1), "tx": Out(1, init=1), "irq": Out(1)})

    def _bridge(self, m, host, *, width, sources, sinks, info):
        """Add the UART bridge to `m`, on `host`'s register bus and streams (``sources`` to
        its ``s_axis_*``, ``sinks`` from its ``m_axis_*``, all `width` bits).

        Returns
        -------
        list of Assign
            The statements joining the serial lines to the bridge and ``irq`` to `host`'s,
            for the caller's ``comb`` domain.
        """
        m.submodules.bridge = bridge = UARTBridge(
            divisor=self.divisor, addr_width=ADDR_WIDTH,
            sources={name: width for name in sources}, sinks={name: width for name in sinks},
            info=info, timeout=self.timeout)
        wiring.connect(m, bridge.m_axil, host.s_axil)
        for name in sources:
            wiring.connect(m, getattr(bridge, f"m_axis_{name}"), getattr(host, f"s_axis_{name}"))
        for name in sinks:
            wiring.connect(m, getattr(bridge, f"s_axis_{name}"), getattr(host, f"m_axis_{name}"))
        return [bridge.rx.eq(self.rx), self.tx.eq(bridge.tx), self.irq.eq(host.irq)]


class OnBoard(Elaboratable):
    """A :class:`SerialCore` (``_core``) on a board's default clock: UART 0, LED 0 shows the
    interrupt, a bridge timeout of 0.1 s.

    Parameters
    ----------
    baud : int
        UART bit rate; the board clock must give at least 4 cycles per bit.
    """

    def __init__(self, *, baud):
        self.baud = baud

    def elaborate(self, platform):
        m = Module()
        clk_hz = int(platform.default_clk_frequency)
        m.submodules.core = core = self._core(divisor=clk_hz // self.baud,
                                              timeout=clk_hz // 10)
        uart = platform.request("uart", 0)
        led = platform.request("led", 0)
        m.d.comb += [core.rx.eq(uart.rx.i), uart.tx.o.eq(core.tx), led.o.eq(core.irq)]
        return m


class BoardCore(SerialCore):
    """UART bridge, host tile and crossbar emulator.

    Parameters
    ----------
    config : Config
    divisor, timeout : int
        As :class:`SerialCore`'s.
    """

    def __init__(self, config, *, divisor, timeout):
        self.config = config
        super().__init__(divisor=divisor, timeout=timeout)

    def elaborate(self, platform):
        m = Module()
        m.submodules.host = host = HostTile(self.config)
        m.submodules.emulator = emulator = CrossbarEmulator(self.config)
        lines = self._bridge(m, host, width=self.config.host.data_width, sources=SOURCES,
                             sinks=SINKS, info=info_bytes(self.config))
        wiring.connect(m, host.analog, emulator.analog)
        m.d.comb += [emulator.l_stream.valid.eq(0), *lines]
        return m


class BoardTop(OnBoard):
    """:class:`BoardCore` on a board.

    Parameters
    ----------
    config : Config
    baud : int
        As :class:`OnBoard`'s.
    """

    def __init__(self, config, *, baud=DEFAULT_BAUD):
        self.config = config
        super().__init__(baud=baud)

    def _core(self, *, divisor, timeout):
        return BoardCore(self.config, divisor=divisor, timeout=timeout)


def core_verilog(config, *, divisor, timeout):
    """Verilog of :class:`BoardCore` (module ``cim_board``) for simulation."""
    return verilog.convert(BoardCore(config, divisor=divisor, timeout=timeout),
                           name=CORE_TOP, emit_src=False)


def core_ports(config, *, divisor, timeout):
    """The ports of :class:`BoardCore`, from its signature."""
    return signature_ports(BoardCore(config, divisor=divisor, timeout=timeout))
