"""One-entry vector buffers between the host streams and the compute pipeline."""

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["VectorBuffer"]


class VectorBuffer(wiring.Component):
    """A one-entry stream register.

    It decouples the host from the analog schedule: the input buffer holds the next vector
    while the current one computes, and the output buffer holds a result while the host
    back-pressures. ``i_stream.ready`` depends only on the buffer's own state, so no
    combinational path crosses it.

    Parameters
    ----------
    shape : shape-like
        Payload shape of both streams.
    """

    def __init__(self, shape):
        self.shape = shape
        super().__init__({
            "i_stream": In(stream.Signature(shape)),
            "o_stream": Out(stream.Signature(shape)),
        })

    def elaborate(self, platform):
        m = Module()
        full = Signal()
        # No reset for the payload: it is read only while `full` (which resets) is high, and
        # a wide register kept out of rst's fan-out is cheaper to simulate.
        payload = Signal.like(self.o_stream.payload, reset_less=True)
        m.d.comb += [
            self.i_stream.ready.eq(~full),
            self.o_stream.valid.eq(full),
            self.o_stream.payload.eq(payload),
        ]
        with m.If(self.o_stream.valid & self.o_stream.ready):
            m.d.sync += full.eq(0)
        with m.If(self.i_stream.valid & self.i_stream.ready):
            m.d.sync += [
                full.eq(1),
                payload.eq(self.i_stream.payload),
            ]
        return m
