"""The pipelined tile controller: drives the next bit plane while the ADCs convert the held
one (sample-and-hold pipelining, as ISAAC and PUMA do)."""

from amaranth.hdl import Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import Out

from .controller import controller_members

__all__ = ["PipelinedController"]


class PipelinedController(wiring.Component):
    """Runs each input vector through its planes, overlapping drive and conversion.

    Two state machines share the sample-and-hold bank (:class:`~.sample_hold.SampleHold`).
    The drive side drives a plane's wordlines for ``t_settle`` cycles and strobes the
    sample once the bank is free, releasing the wordlines after the strobe; it starts the
    next plane's drive only when its sample would find the bank free, so the wordlines are
    driven ``t_settle + 1`` cycles a plane. The convert side starts the ADC sequencer on the
    held plane the cycle after its sample, and commands the shift-and-add in the cycle after
    the last conversion. Back-pressure stalls the convert side (``HOLD``: a new result is
    not started while the previous one waits to leave), which then holds the drive side at
    its sample with the wordlines still driven; nothing is lost or reordered.

    States: drive ``IDLE``, ``GAP`` (wordlines released, waiting for the bank),
    ``SETTLE``, ``SAMPLE`` (strobe when the bank is free); convert ``WAIT``, ``CONVERT``,
    ``HOLD`` (plane converted, result path full).

    Parameters
    ----------
    in_bits : int
        Most planes per vector.
    t_settle : int
        Cycles from wordline drive to sample-and-hold.
    conversion_cycles : int
        Cycles the ADC sequencer takes per plane (``cols_per_adc * t_adc``).

    Members
    -------
    planes, in_valid, load, plane, drive, sample, adc_done, acc_free, idle, acc_en,
    acc_plane, acc_first, acc_last
        As for :class:`~.controller.Controller`; ``sample`` loads the bank and no longer
        starts the conversions, and ``idle`` also waits for the bank's last conversion.
    convert : ``Out(1)``
        Start the ADC sequencer on the bank (conversion 0 begins in this cycle).
    """

    def __init__(self, *, in_bits, t_settle, conversion_cycles):
        self.in_bits = in_bits
        self.t_settle = t_settle
        self.conversion_cycles = conversion_cycles
        super().__init__(controller_members(in_bits, convert=Out(1)))

    def _last(self, plane):
        # The plane count stops at in_bits whatever `planes` says, so nothing can hang.
        return (plane == self.planes - 1) | (plane == self.in_bits - 1)

    def _drive_next(self, m, settle, ready):
        with m.If(ready):
            m.d.sync += settle.eq(0)
            m.next = "SETTLE"
        with m.Else():
            m.next = "GAP"

    def _start_vector(self, m, settle, ready):
        m.d.comb += self.load.eq(1)
        m.d.sync += self.plane.eq(0)
        self._drive_next(m, settle, ready)

    def _take_bank(self, m, bank, left, conv_plane):
        """Start converting the bank if it holds a plane (or takes one in this cycle)."""
        held, held_plane, converting = bank
        with m.If(self.sample | (held & ~converting)):
            m.d.sync += [self.convert.eq(1), left.eq(self.conversion_cycles - 1),
                         conv_plane.eq(Mux(self.sample, self.plane, held_plane))]
            m.next = "CONVERT"
        with m.Else():
            m.next = "WAIT"

    def _finish_plane(self, m, bank, left, conv_plane):
        first = conv_plane == 0
        # A result completed by the command of this cycle is not yet visible in acc_free:
        # a HOLD left one cycle before a one-cycle conversion ends would overwrite it.
        free = self.acc_free & ~(self.acc_en & self.acc_last)
        with m.If(~first | free):
            m.d.sync += [
                self.acc_en.eq(1),
                self.acc_plane.eq(conv_plane),
                self.acc_first.eq(first),
                self.acc_last.eq(self._last(conv_plane)),
            ]
            self._take_bank(m, bank, left, conv_plane)
        with m.Else():
            m.next = "HOLD"

    def elaborate(self, platform):
        m = Module()
        settle = Signal(range(self.t_settle))
        # `held`: the bank holds a plane whose last conversion has not ended.
        held, held_plane = Signal(), Signal(range(self.in_bits))
        conv_plane = Signal(range(self.in_bits))
        # Cycles from now to the last conversion of the plane being converted.
        left = Signal(range(self.conversion_cycles))
        converting = Signal()
        bank = (held, held_plane, converting)
        m.d.sync += [self.acc_en.eq(0), self.convert.eq(0)]

        # The bank may take a sample at the end of this cycle.
        free = ~held | self.adc_done
        # A drive started in the next cycle would find the bank free at its sample. Where
        # every conversion count is within reach the comparison is left out: constant, it
        # would be a lint error (CMPCONST) in the generated Verilog.
        if self.conversion_cycles - 1 <= self.t_settle + 1:
            ready = ~held | converting
        else:
            ready = ~held | (converting & (left <= self.t_settle + 1))
        # Right after a sample the bank's conversions start in the next cycle at the
        # earliest; should a stall delay them, the sample waits with the wordlines driven.
        ready_after_sample = Const(int(self.conversion_cycles <= self.t_settle + 1), 1)
        with m.If(self.sample):
            m.d.sync += [held.eq(1), held_plane.eq(self.plane)]
        with m.Elif(self.adc_done):
            m.d.sync += held.eq(0)

        with m.FSM(name="drive") as drive:
            with m.State("IDLE"):
                with m.If(self.in_valid):
                    self._start_vector(m, settle, ready)
            with m.State("GAP"):
                with m.If(ready):
                    m.d.sync += settle.eq(0)
                    m.next = "SETTLE"
            with m.State("SETTLE"):
                m.d.comb += self.drive.eq(1)
                with m.If(settle == self.t_settle - 1):
                    m.next = "SAMPLE"
                with m.Else():
                    m.d.sync += settle.eq(settle + 1)
            with m.State("SAMPLE"):
                m.d.comb += self.drive.eq(1)
                with m.If(free):
                    m.d.comb += self.sample.eq(1)
                    with m.If(~self._last(self.plane)):
                        m.d.sync += self.plane.eq(self.plane + 1)
                        self._drive_next(m, settle, ready_after_sample)
                    with m.Elif(self.in_valid):
                        self._start_vector(m, settle, ready_after_sample)
                    with m.Else():
                        m.next = "IDLE"

        with m.FSM(name="convert") as convert:
            with m.State("WAIT"):
                self._take_bank(m, bank, left, conv_plane)
            with m.State("CONVERT"):
                m.d.comb += converting.eq(1)
                m.d.sync += left.eq(left - 1)
                with m.If(self.adc_done):
                    self._finish_plane(m, bank, left, conv_plane)
            with m.State("HOLD"):
                self._finish_plane(m, bank, left, conv_plane)

        m.d.comb += self.idle.eq(drive.ongoing("IDLE") & convert.ongoing("WAIT") & ~held)
        return m
