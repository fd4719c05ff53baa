"""Binds a behavioural :class:`~cimtile.behavioral.AnalogMacro` to the tile's analog port.

The binding sleeps until the RTL raises ``analog__sample``, then reads the wordlines as
one bit string, asks the model for the codes of every physical column at once and drives
them as one integer. It wakes once more when the strobe falls, to check that it lasted
exactly one cycle: two Python wake-ups per bit plane, none per clock cycle.
"""

import logging

import numpy as np
from cocotb.triggers import Event, FallingEdge, RisingEdge

from .clocking import cycle_now
from ..transport.packing import bits_of, pack_fields

__all__ = ["AnalogBinding"]


class AnalogBinding:
    """Answers the tile's sample requests with a behavioural analog macro.

    Parameters
    ----------
    dut
        The top-level handle of the simulation, which carries the tile's ports.
    cfg : Config
    macro : AnalogMacro
        Replaceable through :attr:`macro` (e.g. with a re-seeded model after a reset).
    prefix : str
        The name of the analog port on `dut` (a chip's tile ``t``: ``tile<t>__analog``).

    Members
    -------
    stamps : list of int
        Cycle of every request.
    violations : list of str
        Breaches of the analog timing contract seen so far.
    """

    def __init__(self, dut, cfg, macro, prefix="analog"):
        self._sample = getattr(dut, f"{prefix}__sample")
        self._wl = getattr(dut, f"{prefix}__wl")
        self._codes = getattr(dut, f"{prefix}__codes")
        self._adc_shift = getattr(dut, f"{prefix}__adc_shift")
        self._adc_bits = cfg.tile.adc_bits
        self.macro = macro
        self.stamps = []
        self.violations = []
        self._waiters = []
        self.log = logging.getLogger(f"cocotb.tb.{prefix}")

    def answer(self, wl, adc_shift):
        """The packed codes (an int) for the wordline drive `wl`, a bit string as the
        simulator reports the bus (row 0 last), at ADC range select `adc_shift`."""
        # Straight to the float32 plane the ideal crossbar multiplies, with no detour
        # through an integer.
        codes = self.macro.sample(bits_of(wl, np.float32), adc_shift=adc_shift)
        return pack_fields(np.asarray(codes), self._adc_bits)

    def after(self, requests):
        """An :class:`Event` set once `requests` requests in total have been answered."""
        event = Event()
        if len(self.stamps) >= requests:
            event.set()
        else:
            self._waiters.append((requests, event))
        return event

    async def run(self):
        rising, falling = RisingEdge(self._sample), FallingEdge(self._sample)
        while True:
            await rising
            wl = str(self._wl.value)
            self._codes.value = self.answer(wl, int(self._adc_shift.value))
            cycle = cycle_now()
            self.stamps.append(cycle)
            self.log.debug("request %d at cycle %d: wordlines %s", len(self.stamps), cycle,
                           wl)
            if self._waiters:
                for waiter in [w for w in self._waiters if w[0] <= len(self.stamps)]:
                    self._waiters.remove(waiter)
                    waiter[1].set()
            await falling
            if cycle_now() != cycle + 1:
                self.violations.append(f"analog__sample of request {len(self.stamps)} (cycle "
                                       f"{cycle}) stayed high for {cycle_now() - cycle} "
                                       "cycles, not 1")
