"""Write-verify engine: programs cells to target levels by incremental step pulse programming."""

from amaranth.hdl import Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .analog_port import AMPLITUDE_BITS, WIDTH_BITS, CellAccessSignature, Polarity

__all__ = ["settings_layout", "RESULT_LAYOUT", "PULSE_COUNT_BITS", "target_code",
           "WriteVerify"]

PULSE_COUNT_BITS = 8    # max_pulses <= 255


def settings_layout(*, rows, cols_phys, adc_bits):
    """Run-time write-verify settings; latched at ``start`` so later writes cannot tear them."""
    return data.StructLayout({
        "tol": unsigned(16),
        "set_start": unsigned(AMPLITUDE_BITS),
        "set_step": unsigned(AMPLITUDE_BITS),
        "set_limit": unsigned(AMPLITUDE_BITS),
        "reset_start": unsigned(AMPLITUDE_BITS),
        "reset_step": unsigned(AMPLITUDE_BITS),
        "reset_limit": unsigned(AMPLITUDE_BITS),
        "max_pulses": unsigned(PULSE_COUNT_BITS),
        "pulse_width": unsigned(WIDTH_BITS),
        "row_first": range(rows),
        "row_last": range(rows),
        "col_first": range(cols_phys),
        "col_last": range(cols_phys),
    })


RESULT_LAYOUT = data.StructLayout({
    "pulses": unsigned(PULSE_COUNT_BITS),
    "converged": unsigned(1),
    "code": unsigned(16),       # last verify read (adc_bits <= 16)
    "last": unsigned(1),        # the rectangle's last cell
})


def target_code(level, *, bits_per_cell, adc_bits):
    """Verify-read code of a level: levels spread evenly over the ADC range, rounded half up."""
    max_level, max_code = 2 ** bits_per_cell - 1, 2 ** adc_bits - 1
    return (2 * level * max_code + max_level) // (2 * max_level)


class WriteVerify(wiring.Component):
    """Programs a rectangle of cells, in row-major order, from a stream of target levels.

    Per cell: verify-read; inside ``[target - tol, target + tol]`` means converged; else, if
    ``max_pulses`` pulses are spent, failed; else one SET pulse (code below the window) or
    RESET pulse (above it) and read again. The amplitude starts at ``*_start`` and rises by
    ``*_step`` per pulse up to ``*_limit``, and restarts whenever the polarity flips. Every
    cell produces one result (pulses used, converged) on ``o_stream``.

    Invalid settings (a start above its limit, a zero step, ``max_pulses`` or ``pulse_width``
    of 0, an empty or out-of-array rectangle) are refused at ``start``: ``error`` is set and
    nothing is programmed.

    Parameters
    ----------
    rows, cols_phys, adc_bits, bits_per_cell : int
        Array geometry and resolutions.
    t_read : int
        Cycles of a verify read (settle plus one conversion).

    Members
    -------
    settings : ``In(settings_layout(...))``
    start : ``In(1)``
        Latch ``settings`` and ``read_only`` and begin (ignored while busy).
    read_only : ``In(1)``
        Read back the rectangle rather than program it.
    fetch_last : ``Out(1)``
        The target being fetched is the rectangle's last one.
    busy, error : ``Out(1)``
        Programming in progress; the last ``start`` was refused.
    done : ``Out(1)``
        High for one cycle when a run ends (programmed or refused).
    i_stream : ``In(stream.Signature(bits_per_cell))``
        Target levels.
    o_stream : ``Out(stream.Signature(RESULT_LAYOUT))``
        One result per cell.
    cell : ``Out(CellAccessSignature(...))``
        Toward the analog macro.
    """

    def __init__(self, *, rows, cols_phys, adc_bits, bits_per_cell, t_read):
        self.rows, self.cols_phys = rows, cols_phys
        self.adc_bits, self.bits_per_cell = adc_bits, bits_per_cell
        self.t_read = t_read
        super().__init__({
            "settings": In(settings_layout(rows=rows, cols_phys=cols_phys, adc_bits=adc_bits)),
            "start": In(1),
            "read_only": In(1),
            "fetch_last": Out(1),
            "busy": Out(1),
            "error": Out(1),
            "done": Out(1),
            "i_stream": In(stream.Signature(unsigned(bits_per_cell))),
            "o_stream": Out(stream.Signature(RESULT_LAYOUT)),
            "cell": Out(CellAccessSignature(rows=rows, cols_phys=cols_phys,
                                            adc_bits=adc_bits)),
        })

    def _invalid(self, s):
        return ((s.set_start > s.set_limit) | (s.reset_start > s.reset_limit)
                | (s.set_step == 0) | (s.reset_step == 0)
                | (s.max_pulses == 0) | (s.pulse_width == 0)
                | (s.row_first > s.row_last) | (s.row_last >= self.rows)
                | (s.col_first > s.col_last) | (s.col_last >= self.cols_phys))

    def elaborate(self, platform):
        m = Module()
        s = Signal.like(self.settings)
        max_code = 2 ** self.adc_bits - 1
        codes = [target_code(level, bits_per_cell=self.bits_per_cell, adc_bits=self.adc_bits)
                 for level in range(2 ** self.bits_per_cell)]

        target = Signal(self.adc_bits)
        code = Signal(self.adc_bits)
        pulses = Signal(PULSE_COUNT_BITS)
        pulsed = Signal()             # a pulse was applied to this cell (polarity is valid)
        timer = Signal(WIDTH_BITS)
        converged = Signal()
        read_only = Signal()

        low = Mux(target > s.tol, target - s.tol, 0)
        high = Mux(max_code - target > s.tol, target + s.tol, max_code)
        go_set = code < low
        polarity = Signal(Polarity)
        stepped = Mux(go_set, self.cell.amplitude + s.set_step,
                      self.cell.amplitude + s.reset_step)
        limit = Mux(go_set, s.set_limit, s.reset_limit)
        first_amplitude = Mux(go_set, s.set_start, s.reset_start)
        last_col = self.cell.col == s.col_last
        last_row = self.cell.row == s.row_last

        m.d.sync += [self.done.eq(0), self.cell.read.eq(0), self.cell.pulse.eq(0)]
        m.d.comb += [
            polarity.eq(Mux(go_set, Polarity.SET, Polarity.RESET)),
            self.o_stream.payload.pulses.eq(pulses),
            self.o_stream.payload.converged.eq(converged),
            self.o_stream.payload.code.eq(code),
            self.o_stream.payload.last.eq(last_col & last_row),
        ]

        with m.FSM(name="wv"):
            with m.State("IDLE"):
                with m.If(self.start):
                    with m.If(self._invalid(self.settings)):
                        m.d.sync += [self.error.eq(1), self.done.eq(1)]
                    with m.Else():
                        m.d.sync += [
                            self.error.eq(0),
                            s.eq(self.settings),
                            read_only.eq(self.read_only),
                            self.cell.row.eq(self.settings.row_first),
                            self.cell.col.eq(self.settings.col_first),
                        ]
                        m.next = "FETCH"
            with m.State("FETCH"):
                m.d.comb += [self.busy.eq(1), self.i_stream.ready.eq(~read_only),
                             self.fetch_last.eq(last_col & last_row)]
                with m.If(self.i_stream.valid | read_only):
                    with m.Switch(self.i_stream.payload):
                        for level, level_code in enumerate(codes):
                            with m.Case(level):
                                m.d.sync += target.eq(level_code)
                    m.d.sync += [pulses.eq(0), pulsed.eq(0), timer.eq(0),
                                 self.cell.read.eq(1)]
                    m.next = "READ"
            with m.State("READ"):
                m.d.comb += self.busy.eq(1)
                m.d.sync += timer.eq(timer + 1)
                with m.If(timer == self.t_read - 1):
                    m.d.sync += code.eq(self.cell.read_code)
                    m.next = "DECIDE"
            with m.State("DECIDE"):
                m.d.comb += self.busy.eq(1)
                with m.If(read_only):
                    m.d.sync += converged.eq(0)
                    m.next = "REPORT"
                with m.Elif((code >= low) & (code <= high)):
                    m.d.sync += converged.eq(1)
                    m.next = "REPORT"
                with m.Elif(pulses == s.max_pulses):
                    m.d.sync += converged.eq(0)
                    m.next = "REPORT"
                with m.Else():
                    with m.If(pulsed & (self.cell.polarity == polarity)):
                        m.d.sync += self.cell.amplitude.eq(Mux(stepped > limit, limit, stepped))
                    with m.Else():
                        m.d.sync += self.cell.amplitude.eq(first_amplitude)
                    m.d.sync += [
                        self.cell.polarity.eq(polarity),
                        self.cell.width.eq(s.pulse_width),
                        self.cell.pulse.eq(1),
                        pulses.eq(pulses + 1),
                        pulsed.eq(1),
                        timer.eq(0),
                    ]
                    m.next = "PULSE"
            with m.State("PULSE"):
                m.d.comb += self.busy.eq(1)
                m.d.sync += timer.eq(timer + 1)
                with m.If(timer == s.pulse_width - 1):
                    m.d.sync += [timer.eq(0), self.cell.read.eq(1)]
                    m.next = "READ"
            with m.State("REPORT"):
                m.d.comb += [self.busy.eq(1), self.o_stream.valid.eq(1)]
                with m.If(self.o_stream.ready):
                    with m.If(last_col & last_row):
                        m.d.sync += self.done.eq(1)
                        m.next = "IDLE"
                    with m.Elif(last_col):
                        m.d.sync += [self.cell.col.eq(s.col_first),
                                     self.cell.row.eq(self.cell.row + 1)]
                        m.next = "FETCH"
                    with m.Else():
                        m.d.sync += self.cell.col.eq(self.cell.col + 1)
                        m.next = "FETCH"
        return m
