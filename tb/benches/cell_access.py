"""Binds a :class:`~cimtile.behavioral.device.MemdiodeArray` to the tile's single-cell port.

The binding sleeps until the RTL raises ``analog__cell__read`` or ``analog__cell__pulse``,
then answers that one request: one Python wake-up per verify read or pulse.
"""

import numpy as np
from cocotb.triggers import First, RisingEdge

__all__ = ["CellAccessBinding"]


class CellAccessBinding:
    """Answers verify reads and applies pulses with a device model.

    Parameters
    ----------
    dut
        The top-level handle of the simulation, which carries the tile's ports.
    cfg : Config
    device : MemdiodeArray
    prefix : str
        The name of the analog port on `dut` (a chip's tile ``t``: ``tile<t>__analog``).

    Members
    -------
    reads, pulses : int
        Requests answered so far.
    """

    def __init__(self, dut, cfg, device, prefix="analog"):
        self._dut = dut
        self._prefix = prefix
        self._cols_phys = cfg.cols_phys
        self._adc_bits = cfg.tile.adc_bits
        self.device = device
        self.reads = 0
        self.pulses = 0

    def _port(self, name):
        # A one-row or one-column array has no address bits, so Amaranth emits no port.
        return getattr(self._dut, f"{self._prefix}__cell__{name}", None)

    def _cell(self):
        row, col = self._port("row"), self._port("col")
        index = (int(row.value) if row is not None else 0) * self._cols_phys
        index += int(col.value) if col is not None else 0
        return np.array([index])

    async def run(self):
        read, pulse = self._port("read"), self._port("pulse")
        while True:
            await First(RisingEdge(read), RisingEdge(pulse))
            if read.value:
                code = self.device.read(self._cell(), self._adc_bits)[0]
                self._port("read_code").value = int(code)
                self.reads += 1
            if pulse.value:
                self.device.pulse(self._cell(), [int(self._port("polarity").value)],
                                  [int(self._port("amplitude").value)],
                                  [int(self._port("width").value)])
                self.pulses += 1
