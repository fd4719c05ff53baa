"""The host side of the chip top's plain ports: the program, parameters and activations
loaded a word a cycle, a run started and awaited, the outputs read back."""

from cocotb.triggers import ReadOnly, RisingEdge, SimTimeoutError, with_timeout

from cimtile.hdl.chip_datapath import param_layout
from cimtile.hdl.chip_sequencer import SequencerError

from .clocking import CLOCK_PERIOD_NS, cycle_now

__all__ = ["ChipHost"]


def _bits(value, width):
    return int(value) & ((1 << width) - 1)


class ChipHost:
    """The host side of the chip's ports: the program, parameter and activation ports, a
    write or read a cycle, and the run control."""

    def __init__(self, dut, chip):
        self.dut, self.chip = dut, chip
        c = chip.chip
        self._addr_bits = (chip.act_elements - 1).bit_length()
        self._program_bits = (c.program_words - 1).bit_length()
        self._param_bits = (c.param_words - 1).bit_length()
        layout = param_layout(chip)
        self._mult_at, self._bias_at = layout["mult"].offset, layout["bias"].offset

    async def _write(self, port, words):
        """Write each ``(addr, data, addr_bits)`` of `words` a cycle, with ``en`` set."""
        for addr, value, addr_bits in words:
            port.value = 1 | addr << 1 | value << (1 + addr_bits)
            await RisingEdge(self.dut.clk)
        port.value = 0

    async def load_program(self, words):
        """Write the sequencer's `words`."""
        await self._write(self.dut.program_write,
                          [(a, int(w), self._program_bits) for a, w in enumerate(words)])

    async def load_parameters(self, mult, bias):
        """Write the post-processing `mult` and `bias`."""
        c = self.chip.chip
        await self._write(self.dut.param_write, [
            (a, _bits(m, c.mult_bits) << self._mult_at | _bits(b, c.bias_bits) << self._bias_at,
             self._param_bits) for a, (m, b) in enumerate(zip(mult, bias))])

    async def write_activations(self, address, values):
        """Write `values` from `address` on, one a cycle."""
        bits = self.chip.chip.out_bits
        await self._write(self.dut.act_write, [(address + i, _bits(v, bits), self._addr_bits)
                                               for i, v in enumerate(values)])

    async def read_activations(self, address, length):
        """The activations at `address`: a read a cycle, each value the cycle after."""
        port, values = self.dut.act_read, []
        for i in range(length + 1):
            if i:
                values.append(self.dut.act_data.value.to_signed())
            port.value = 1 | (address + i) << 1 if i < length else 0
            await RisingEdge(self.dut.clk)
        return values

    async def run(self, budget):
        """Start the program and return ``(cycles from start to done, error)``, or None if
        ``done`` does not rise within `budget` cycles."""
        self.dut.start.value = 1
        await RisingEdge(self.dut.clk)
        start = cycle_now()
        self.dut.start.value = 0
        try:
            await with_timeout(RisingEdge(self.dut.done), budget * CLOCK_PERIOD_NS, "ns")
        except SimTimeoutError:
            return None
        await ReadOnly()
        cycles, error = cycle_now() - start, SequencerError(int(self.dut.error.value))
        await RisingEdge(self.dut.clk)
        return cycles, error
