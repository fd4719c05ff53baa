"""UART physical layer: 8N1 receiver and transmitter with byte streams.

A bit lasts ``divisor`` clock cycles (``divisor = clk_hz // baud``). The receiver samples
each bit once, in its middle, which tolerates a baud-rate mismatch of a few percent over one
frame; it resynchronises on every start bit.
"""

from amaranth.hdl import Cat, Const, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out

__all__ = ["check_divisor", "UARTRx", "UARTTx"]


def check_divisor(divisor):
    """Validate a bit time in clock cycles; the receiver needs at least 4 to find mid-bit."""
    if not isinstance(divisor, int) or isinstance(divisor, bool) or divisor < 4:
        raise ValueError(f"divisor must be an integer of at least 4 clock cycles per bit, "
                         f"not {divisor!r}")
    return divisor


class UARTRx(wiring.Component):
    """8N1 receiver.

    Parameters
    ----------
    divisor : int
        Clock cycles per bit.

    Members
    -------
    rx : ``In(1, init=1)``
        Serial line (idle high); synchronised internally.
    o_stream : ``Out(stream.Signature(8))``
        Received bytes. A byte not taken before the next one completes is overwritten and
        ``overrun`` pulses: put a FIFO behind the receiver if the consumer may stall.
    error : ``Out(1)``
        High for one cycle when a frame's stop bit is 0 (the byte is dropped).
    overrun : ``Out(1)``
        High for one cycle when a received byte replaces one not yet taken.
    """

    def __init__(self, divisor):
        self.divisor = check_divisor(divisor)
        super().__init__({
            "rx": In(1, init=1),
            "o_stream": Out(stream.Signature(8)),
            "error": Out(1),
            "overrun": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        rx = Signal(init=1)
        m.submodules.rx_sync = FFSynchronizer(self.rx, rx, init=1)

        timer = Signal(range(self.divisor))
        shreg = Signal(8)
        bit = Signal(range(8))

        m.d.sync += [self.error.eq(0), self.overrun.eq(0)]
        with m.If(self.o_stream.ready):
            m.d.sync += self.o_stream.valid.eq(0)

        with m.FSM(name="rx"):
            with m.State("IDLE"):
                with m.If(~rx):
                    m.d.sync += timer.eq(self.divisor // 2 - 1)
                    m.next = "START"
            with m.State("START"):
                m.d.sync += timer.eq(timer - 1)
                with m.If(timer == 0):
                    # Mid start bit: a line back high was a glitch, not a frame.
                    with m.If(rx):
                        m.next = "IDLE"
                    with m.Else():
                        m.d.sync += [timer.eq(self.divisor - 1), bit.eq(0)]
                        m.next = "DATA"
            with m.State("DATA"):
                m.d.sync += timer.eq(timer - 1)
                with m.If(timer == 0):
                    m.d.sync += [shreg.eq(Cat(shreg[1:], rx)),
                                 timer.eq(self.divisor - 1), bit.eq(bit + 1)]
                    with m.If(bit == 7):
                        m.next = "STOP"
            with m.State("STOP"):
                m.d.sync += timer.eq(timer - 1)
                with m.If(timer == 0):
                    with m.If(rx):
                        m.d.sync += [self.o_stream.payload.eq(shreg),
                                     self.o_stream.valid.eq(1),
                                     self.overrun.eq(self.o_stream.valid
                                                     & ~self.o_stream.ready)]
                    with m.Else():
                        m.d.sync += self.error.eq(1)
                    m.next = "IDLE"
        return m


class UARTTx(wiring.Component):
    """8N1 transmitter.

    Parameters
    ----------
    divisor : int
        Clock cycles per bit.

    Members
    -------
    tx : ``Out(1, init=1)``
        Serial line (idle high).
    i_stream : ``In(stream.Signature(8))``
        Bytes to send; one is taken per frame.
    """

    def __init__(self, divisor):
        self.divisor = check_divisor(divisor)
        super().__init__({
            "tx": Out(1, init=1),
            "i_stream": In(stream.Signature(8)),
        })

    def elaborate(self, platform):
        m = Module()
        timer = Signal(range(self.divisor))
        shreg = Signal(9)               # data bits LSB first, then the stop bit
        bits_left = Signal(range(10))

        with m.FSM(name="tx"):
            with m.State("IDLE"):
                m.d.comb += self.i_stream.ready.eq(1)
                with m.If(self.i_stream.valid):
                    m.d.sync += [self.tx.eq(0),
                                 shreg.eq(Cat(self.i_stream.payload, Const(1, 1))),
                                 bits_left.eq(9), timer.eq(self.divisor - 1)]
                    m.next = "BUSY"
            with m.State("BUSY"):
                m.d.sync += timer.eq(timer - 1)
                with m.If(timer == 0):
                    with m.If(bits_left == 0):
                        m.next = "IDLE"
                    with m.Else():
                        m.d.sync += [self.tx.eq(shreg[0]), shreg.eq(shreg[1:]),
                                     bits_left.eq(bits_left - 1),
                                     timer.eq(self.divisor - 1)]
        return m
