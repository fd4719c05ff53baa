"""The chip's activation memory: vectors between layers, one write and one read a cycle."""

from amaranth.hdl import Module, signed
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out

from .parameters import check_positive

__all__ = ["ActivationMemory"]


class ActivationMemory(wiring.Component):
    """`depth` words of `lanes` signed `bits`-bit activations, an SRAM with one write port
    and one synchronous read port (a block RAM on an FPGA, a macro in a chip).

    A write with ``w_en`` stores ``w_data`` at ``w_addr`` at the clock edge. A read with
    ``r_en`` gives the word at ``r_addr`` on ``r_data`` from the next cycle, until the next
    read; a read of the address written in the same cycle gives the word before the write.

    Parameters
    ----------
    depth, lanes, bits : int

    Raises
    ------
    ValueError
        If one is not a positive integer.
    """

    def __init__(self, *, depth, lanes, bits):
        check_positive(self, depth=depth, lanes=lanes, bits=bits)
        self.depth = depth
        self.word = data.ArrayLayout(signed(bits), lanes)
        super().__init__({
            "w_en": In(1), "w_addr": In(range(depth)), "w_data": In(self.word),
            "r_en": In(1), "r_addr": In(range(depth)), "r_data": Out(self.word),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.words = words = memory.Memory(shape=self.word, depth=self.depth, init=[])
        write = words.write_port()
        read = words.read_port()
        m.d.comb += [write.en.eq(self.w_en), write.addr.eq(self.w_addr),
                     write.data.eq(self.w_data), read.en.eq(self.r_en),
                     read.addr.eq(self.r_addr), self.r_data.eq(read.data)]
        return m
