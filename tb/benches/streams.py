"""Stream VIP for `amaranth.lib.stream` ports: a driver for inputs, a monitor for outputs.

Both are event driven: in steady state they wake on ``ready``/``valid`` changes and on the
transfer edge only, and sleep through a random gap with one timer.
"""

import logging

from cocotb.triggers import ReadOnly, RisingEdge

from .clocking import cycle_now, wait_cycles

__all__ = ["StreamDriver", "StreamMonitor"]


class _StreamPort:
    def __init__(self, dut, prefix, clk):
        self.clk = clk
        self.valid = getattr(dut, f"{prefix}__valid")
        self.ready = getattr(dut, f"{prefix}__ready")
        self.payload = getattr(dut, f"{prefix}__payload")
        self.log = logging.getLogger(f"cocotb.tb.{prefix}")


class StreamDriver(_StreamPort):
    """Sends payloads into the stream sink ``{prefix}`` of `dut`.

    Parameters
    ----------
    dut, prefix, clk
        The top-level handle, the port's name prefix (``i_stream``) and the clock.
    rng : numpy.random.Generator, optional
        Draws the idle gaps; needed when ``gap_prob`` > 0.
    gap_prob, gap_max : float, int
        After a transfer, with probability ``gap_prob`` idle (``valid`` low) for
        1..``gap_max`` cycles.

    Members
    -------
    stamps : list of int
        Cycle of every transfer.
    """

    def __init__(self, dut, prefix, clk, *, rng=None, gap_prob=0.0, gap_max=0):
        super().__init__(dut, prefix, clk)
        if gap_prob > 0 and (rng is None or gap_max < 1):
            raise ValueError("random gaps need an rng and gap_max >= 1")
        self._rng = rng
        self._gap_prob = gap_prob
        self._gap_max = gap_max
        self.stamps = []

    def idle(self):
        self.valid.value = 0

    async def send(self, payload):
        """Offer `payload` until the sink takes it; return at the transfer edge."""
        self.valid.value = 1
        self.payload.value = payload
        # Decide on settled values: ready may depend on valid, or on other inputs that
        # change in the same time step.
        await ReadOnly()
        while not self.ready.value:
            await RisingEdge(self.ready)
            await ReadOnly()
        await RisingEdge(self.clk)
        self.stamps.append(cycle_now())
        self.log.debug("sent %#x at cycle %d", payload, self.stamps[-1])

    async def run(self, payloads):
        """Send every payload in order, with the configured random gaps."""
        for payload in payloads:
            await self.send(payload)
            if self._gap_prob and self._rng.random() < self._gap_prob:
                self.idle()
                await wait_cycles(self.clk, int(self._rng.integers(1, self._gap_max + 1)))
        self.idle()


class StreamMonitor(_StreamPort):
    """Receives every transfer from the stream source ``{prefix}`` of `dut`.

    Parameters
    ----------
    dut, prefix, clk
        The top-level handle, the port's name prefix (``o_stream``) and the clock.
    callback : callable(payload: int, cycle: int)
        Called once per transfer.
    rng : numpy.random.Generator, optional
        Draws the stalls; needed when ``stall_prob`` > 0.
    stall_prob, stall_max : float, int
        Before each transfer, with probability ``stall_prob`` hold ``ready`` low for
        1..``stall_max`` cycles (back-pressure).
    """

    def __init__(self, dut, prefix, clk, callback, *, rng=None, stall_prob=0.0,
                 stall_max=0):
        super().__init__(dut, prefix, clk)
        if stall_prob > 0 and (rng is None or stall_max < 1):
            raise ValueError("random stalls need an rng and stall_max >= 1")
        self._callback = callback
        self._rng = rng
        self._stall_prob = stall_prob
        self._stall_max = stall_max

    def stop(self):
        self.ready.value = 0

    async def receive(self):
        """Accept one transfer; return ``(payload, cycle)`` at the transfer edge."""
        self.ready.value = 1
        await ReadOnly()
        while not self.valid.value:
            await RisingEdge(self.valid)
            await ReadOnly()
        payload = int(self.payload.value)
        await RisingEdge(self.clk)
        self.log.debug("received %#x at cycle %d", payload, cycle_now())
        return payload, cycle_now()

    async def run(self):
        """Receive forever, applying the configured back-pressure."""
        while True:
            if self._stall_prob and self._rng.random() < self._stall_prob:
                self.stop()
                await wait_cycles(self.clk, int(self._rng.integers(1, self._stall_max + 1)))
            self._callback(*await self.receive())
