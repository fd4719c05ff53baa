"""ADC read-out sequencing: shared ADCs convert their multiplexed columns one after another."""

from amaranth.hdl import Cat, Module, Signal, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["AdcSequencer"]


class AdcSequencer(wiring.Component):
    """Walks every ADC through its ``cols_per_adc`` columns, ``per_step`` conversions every
    ``t_adc`` cycles.

    All columns are sampled-and-held at once; ADC ``a`` then converts physical columns
    ``a * cols_per_adc + k`` for ``k = 0 .. cols_per_adc - 1``, all ADCs in parallel, step
    ``k // per_step`` converting ``per_step`` of them (an ADC faster than the clock). The
    codes of a step are latched into their columns' slots at the end of its last cycle, so
    the slots of a finished plane stay stable while the next plane settles.

    Parameters
    ----------
    cols_phys : int
        Physical columns.
    adc_bits : int
        Code width.
    cols_per_adc : int
        Columns multiplexed onto one ADC.
    t_adc : int
        Cycles per step.
    per_step : int
        Conversions of one ADC per step (default 1).

    Members
    -------
    start : ``In(1)``
        Begin step 0 in this cycle (the sample-and-hold cycle).
    codes : ``In(ArrayLayout(unsigned(adc_bits), cols_phys))``
        Held column codes from the analog macro.
    slots : ``Out(ArrayLayout(unsigned(adc_bits), cols_phys))``
        Latched codes of the plane.
    done : ``Out(1)``
        High in the last cycle of the last step.
    """

    def __init__(self, *, cols_phys, adc_bits, cols_per_adc, t_adc, per_step=1):
        self.cols_phys = cols_phys
        self.cols_per_adc = cols_per_adc
        self.t_adc = t_adc
        self.per_step = per_step
        self.steps = -(-cols_per_adc // per_step)
        codes = data.ArrayLayout(unsigned(adc_bits), cols_phys)
        super().__init__({
            "start": In(1),
            "codes": In(codes),
            "slots": Out(codes),
            "done": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        busy = Signal()
        # The step in progress, named for the one conversion a step of per_step = 1: the
        # regression's adc_off_by_one mutant finds its comparison by this name.
        conversion = Signal(range(self.steps))
        cycle = Signal(range(self.t_adc))
        # No reset: the shift-and-add reads the slots only after a plane's last conversion,
        # and leaving rst out of their next-state logic spares the simulator re-evaluating
        # it on every input change.
        slots = Signal.like(self.slots, reset_less=True)
        m.d.comb += self.slots.eq(slots)

        with m.If(busy | self.start):
            with m.If(cycle == self.t_adc - 1):
                m.d.sync += cycle.eq(0)
                # Column p is converted by ADC p // cols_per_adc as its conversion
                # p % cols_per_adc, in step (p % cols_per_adc) // per_step: one decoded
                # case latches every ADC's columns of the step at once. One assignment per
                # case: Amaranth checks each assignment's target bit by bit, so one per
                # column costs columns x slot bits (seconds on large tiles).
                with m.Switch(conversion):
                    for k in range(self.steps):
                        columns = [p for p in range(self.cols_phys)
                                   if (p % self.cols_per_adc) // self.per_step == k]
                        with m.Case(k):
                            m.d.sync += Cat(slots[column] for column in columns).eq(
                                Cat(self.codes[column] for column in columns))
                with m.If(conversion == self.steps - 1):
                    m.d.comb += self.done.eq(1)
                    m.d.sync += [conversion.eq(0), busy.eq(0)]
                with m.Else():
                    m.d.sync += [conversion.eq(conversion + 1), busy.eq(1)]
            with m.Else():
                m.d.sync += [cycle.eq(cycle + 1), busy.eq(1)]
        return m
