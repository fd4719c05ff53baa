"""Post-processing: a layer's partial sums to the next layer's inputs, in integers."""

from amaranth.hdl import Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .parameters import check_positive, refused

__all__ = ["PostProcess"]


def _saturated(value, bits):
    """`value` clipped to the signed range of `bits` bits."""
    low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return Mux(value > high, high, Mux(value < low, low, value))


class PostProcess(wiring.Component):
    """Adds the partial sums of a layer's row blocks, then scales, biases, rectifies and
    requantises each output, as :func:`cimtile.models.post_process.post_process` defines.

    One input transfer carries one row block's results for all `lanes` outputs. The first
    block of a vector replaces the accumulator, every other one is added to it, each
    addition saturating to `acc_bits`; after the last block the vector's results leave on
    ``o_stream`` a cycle later: ``saturate(relu((acc * mult + bias + r) >> shift))``.

    Parameters
    ----------
    lanes : int
        Outputs per vector.
    in_bits, acc_bits, mult_bits, bias_bits, out_bits : int
        Signed widths of a partial sum, the accumulator, a multiplier, a bias and a result.
    shift_max : int
        Largest shift.

    Members
    -------
    i_stream : ``In(stream.Signature(...))``
        Payload ``data`` (``lanes`` partial sums), ``first`` and ``last`` (the block starts
        or ends a vector; both for a layer of one block).
    o_stream : ``Out(stream.Signature(ArrayLayout(signed(out_bits), lanes)))``
    mult, bias : ``In(ArrayLayout(...))``
        Each output's multiplier and bias; with ``shift`` and ``relu``, stable while a
        vector is in flight.
    shift : ``In(range(shift_max + 1))``
    relu : ``In(1)``

    Raises
    ------
    ValueError
        If a width is not positive, or `acc_bits` is narrower than `in_bits`.
    """

    def __init__(self, *, lanes, in_bits, acc_bits, mult_bits, bias_bits, out_bits,
                 shift_max):
        check_positive(self, lanes=lanes, in_bits=in_bits, acc_bits=acc_bits,
                       mult_bits=mult_bits, bias_bits=bias_bits, out_bits=out_bits,
                       shift_max=shift_max + 1)
        if acc_bits < in_bits:
            raise refused(self, ValueError(f"acc_bits must be at least in_bits ({in_bits}), "
                                           f"not {acc_bits}"))
        self.lanes, self.acc_bits, self.out_bits = lanes, acc_bits, out_bits
        super().__init__({
            "i_stream": In(stream.Signature(data.StructLayout({
                "data": data.ArrayLayout(signed(in_bits), lanes),
                "first": unsigned(1), "last": unsigned(1)}))),
            "o_stream": Out(stream.Signature(data.ArrayLayout(signed(out_bits), lanes))),
            "mult": In(data.ArrayLayout(signed(mult_bits), lanes)),
            "bias": In(data.ArrayLayout(signed(bias_bits), lanes)),
            "shift": In(range(shift_max + 1)),
            "relu": In(1),
        })

    def elaborate(self, platform):
        m = Module()
        inp, out = self.i_stream, self.o_stream
        acc = Signal(data.ArrayLayout(signed(self.acc_bits), self.lanes))
        summed = Signal.like(acc)
        result = Signal.like(out.payload)
        rounding = (Const(1, 1) << self.shift) >> 1
        for lane in range(self.lanes):
            x = inp.payload.data[lane]
            m.d.comb += summed[lane].eq(_saturated(Mux(inp.payload.first, x, acc[lane] + x),
                                                   self.acc_bits))
            scaled = Signal(signed(len(summed[lane]) + len(self.mult[lane]) + 2),
                            name=f"scaled_{lane}")
            m.d.comb += scaled.eq(summed[lane] * self.mult[lane] + self.bias[lane] + rounding)
            shifted = scaled >> self.shift
            rectified = Mux(self.relu & (shifted < 0), 0, shifted)
            m.d.comb += result[lane].eq(_saturated(rectified, self.out_bits))
        m.d.comb += inp.ready.eq(~out.valid | out.ready)
        with m.If(out.valid & out.ready):
            m.d.sync += out.valid.eq(0)
        with m.If(inp.valid & inp.ready):
            m.d.sync += acc.eq(summed)
            with m.If(inp.payload.last):
                m.d.sync += [out.payload.eq(result), out.valid.eq(1)]
        return m
