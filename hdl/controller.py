"""The tile controller: sequences bit planes, the settle time and the accumulate commands."""

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["controller_members", "Controller"]


def controller_members(in_bits, **extra):
    """The ports every tile controller has (:class:`Controller` documents them), with
    `extra` ones after ``sample``."""
    return {
        "planes": In(range(1, in_bits + 1), init=in_bits),
        "in_valid": In(1),
        "load": Out(1),
        "plane": Out(range(in_bits)),
        "drive": Out(1),
        "sample": Out(1),
        **extra,
        "adc_done": In(1),
        "acc_free": In(1),
        "idle": Out(1),
        "acc_en": Out(1),
        "acc_plane": Out(range(in_bits)),
        "acc_first": Out(1),
        "acc_last": Out(1),
    }


class Controller(wiring.Component):
    """Runs each input vector through its planes on the analog schedule.

    Per plane: drive the wordlines for ``t_settle`` cycles, strobe the sample-and-hold,
    wait for the ADC sequencer, then command the shift-and-add to consume the plane in the
    next cycle while the following plane (or the next vector) already settles. The only
    stall is back-pressure: a new result is not started while the previous one still waits
    to leave the shift-and-add; the held ADC slots are kept until it can.

    States: ``IDLE`` (no vector), ``SETTLE``, ``CONVERT`` and ``HOLD`` (plane converted,
    result path full).

    Parameters
    ----------
    in_bits : int
        Most planes per vector.
    t_settle : int
        Cycles from wordline drive to sample-and-hold.

    Members
    -------
    planes : ``In(range(1, in_bits + 1))``
        Planes per vector, the run-time input precision; stable while a vector computes.
        The plane count stops at ``in_bits`` whatever it says, so the controller cannot hang.
    in_valid : ``In(1)``
        A vector waits in the input buffer.
    load : ``Out(1)``
        Take that vector (input buffer ready; bit-plane sequencer load).
    plane : ``Out(range(in_bits))``
        Plane being driven.
    drive : ``Out(1)``
        Wordlines enabled.
    sample : ``Out(1)``
        Sample-and-hold strobe; also starts the ADC sequencer.
    adc_done : ``In(1)``
        The last conversion of the plane ends in this cycle.
    acc_free : ``In(1)``
        The shift-and-add can start a new result in the next cycle.
    idle : ``Out(1)``
        No vector is being computed (the shift-and-add may still hold a result).
    acc_en, acc_plane, acc_first, acc_last : ``Out``
        Accumulate command for the shift-and-add, one cycle after the plane's last
        conversion, so the last latched codes are visible.
    """

    def __init__(self, *, in_bits, t_settle):
        self.in_bits = in_bits
        self.t_settle = t_settle
        super().__init__(controller_members(in_bits))

    def _start_vector(self, m, settle):
        m.d.comb += self.load.eq(1)
        m.d.sync += [self.plane.eq(0), settle.eq(0)]
        m.next = "SETTLE"

    def _finish_plane(self, m, settle):
        first = self.plane == 0
        last = (self.plane == self.planes - 1) | (self.plane == self.in_bits - 1)
        with m.If(~first | self.acc_free):
            m.d.sync += [
                self.acc_en.eq(1),
                self.acc_plane.eq(self.plane),
                self.acc_first.eq(first),
                self.acc_last.eq(last),
            ]
            with m.If(~last):
                m.d.sync += [self.plane.eq(self.plane + 1), settle.eq(0)]
                m.next = "SETTLE"
            with m.Elif(self.in_valid):
                self._start_vector(m, settle)
            with m.Else():
                m.next = "IDLE"
        with m.Else():
            m.next = "HOLD"

    def elaborate(self, platform):
        m = Module()
        settle = Signal(range(self.t_settle))
        m.d.sync += [self.acc_en.eq(0), self.sample.eq(0)]

        with m.FSM(name="ctrl"):
            with m.State("IDLE"):
                m.d.comb += self.idle.eq(1)
                with m.If(self.in_valid):
                    self._start_vector(m, settle)
            with m.State("SETTLE"):
                m.d.comb += self.drive.eq(1)
                with m.If(settle == self.t_settle - 1):
                    m.d.sync += self.sample.eq(1)
                    m.next = "CONVERT"
                with m.Else():
                    m.d.sync += settle.eq(settle + 1)
            with m.State("CONVERT"):
                m.d.comb += self.drive.eq(1)
                with m.If(self.adc_done):
                    self._finish_plane(m, settle)
            with m.State("HOLD"):
                self._finish_plane(m, settle)
        return m
