"""A synthesizable stand-in for the analog macro: the ideal crossbar and ADCs in logic.

On an FPGA (and in an all-RTL simulation) the crossbar cannot be analog, so this component
answers the analog-macro port with exactly the codes of the arithmetic contract's ideal
mode (docs/architecture.md): integer column counts, then round half up at
``2**adc_shift`` and clip at ``2**adc_bits - 1``.

Timing. Cell levels sit in one memory (block RAM) whose word holds ``rows_per_cycle`` rows
of the ``n_adcs`` columns one conversion step reads (ADC ``a``'s column
``a * cols_per_adc + k`` for conversion ``k``). The wordlines are sampled when ``sample``
is high; from then on, one word a cycle, conversion 0's columns are summed over all rows,
then conversion 1's, and so on. A conversion's codes are ready ``chunks + 1`` cycles after
the previous one's (``chunks = ceil(rows / rows_per_cycle)``), just before the ADC
sequencer latches them at the end of cycle ``(k + 1) * t_adc - 1`` after ``sample``. So the
emulator needs ``chunks <= t_adc - 2``: it sums ``rows_per_cycle = ceil(rows / (t_adc - 2))``
rows a cycle, and its adders and memory word grow as ``rows * n_adcs / (t_adc - 2)``. A
1024-row array with ``t_adc = 3`` sums whole columns in one cycle; ``t_adc < 3`` cannot be
served. ``t_settle`` is not used: codes depend only on the wordlines at ``sample``.

Programming. Cell pulses move a level one step, a SET pulse up and a RESET pulse down
(saturating at 0 and ``max_level``), whatever their amplitude and width; a verify read
answers ``target_code(level)``, one cycle after ``read`` (the write-verify engine latches
it ``t_settle + t_adc >= 2`` cycles after). Write-verify therefore converges in
``|target - level|`` pulses per cell. Levels can also be written directly, a row of one
conversion's columns per cycle, through ``l_stream``. Reset leaves the levels alone, as it
would a non-volatile array.

The periphery must not overlap requests: a plane's ``sample``, cell accesses and loads
each find the memory to themselves (the tile computes and programs in turn).
"""

import math

from amaranth.hdl import Cat, Const, Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In

from cimtile.spec.config import ConfigError

from .analog_port import AnalogMacroSignature, Polarity
from .write_verify import target_code

__all__ = ["CrossbarEmulator", "load_layout", "emulator_geometry", "PIPELINE_CYCLES"]

#: Cycles of every conversion's budget that the pipeline itself takes: the memory read and
#: the code register.
PIPELINE_CYCLES = 2


def load_layout(config):
    """Payload of ``l_stream``: the levels of `row` in the columns conversion `conversion`
    reads, ``levels[a]`` for physical column ``a * cols_per_adc + conversion`` (entries past
    the last column are ignored)."""
    tile = config.tile
    return data.StructLayout({
        "row": range(tile.rows),
        "conversion": range(tile.cols_per_adc),
        "levels": data.ArrayLayout(unsigned(tile.bits_per_cell), config.n_adcs),
    })


def emulator_geometry(config, rows_per_cycle=None):
    """``(rows_per_cycle, chunks)`` the emulator of `config` uses.

    Raises
    ------
    ConfigError
        If ``timing.t_adc`` is too short for the memory and code pipeline, or for the
        requested `rows_per_cycle`, or the tile is pipelined, or its ADCs complete more
        than one conversion a step.
    """
    if config.tile.pipeline:
        # Its codes are ready conversion by conversion, not in the sample's cycle, so the
        # sample-and-hold bank of a pipelined tile would take the previous plane's.
        raise ConfigError("tile.pipeline must be false for the crossbar emulator, which "
                          "answers each conversion as the ADCs reach it, not at the sample")
    if config.timing.adc_per_step != 1:
        raise ConfigError(f"timing.adc_per_step must be 1 for the crossbar emulator, which "
                          f"answers one conversion per ADC at a time, not "
                          f"{config.timing.adc_per_step}")
    rows, t_adc = config.tile.rows, config.timing.t_adc
    budget = t_adc - PIPELINE_CYCLES
    if budget < 1:
        raise ConfigError(f"timing.t_adc must be at least {PIPELINE_CYCLES + 1} for the "
                          f"crossbar emulator (memory read and code register take "
                          f"{PIPELINE_CYCLES} cycles of each conversion), not {t_adc}")
    if rows_per_cycle is None:
        rows_per_cycle = math.ceil(rows / min(budget, rows))
    elif type(rows_per_cycle) is not int or not 1 <= rows_per_cycle <= rows:
        raise ValueError(f"rows_per_cycle must be an integer in 1..{rows}, "
                         f"not {rows_per_cycle!r}")
    chunks = math.ceil(rows / rows_per_cycle)
    if chunks > budget:
        raise ConfigError(f"timing.t_adc must be at least {chunks + PIPELINE_CYCLES} for the "
                          f"crossbar emulator summing {rows_per_cycle} of {rows} rows a "
                          f"cycle, not {t_adc}")
    return rows_per_cycle, chunks


def _tree_sum(terms):
    """Sum with a balanced adder tree: log depth instead of a chain."""
    while len(terms) > 1:
        terms = [terms[i] + terms[i + 1] if i + 1 < len(terms) else terms[i]
                 for i in range(0, len(terms), 2)]
    return terms[0]


class CrossbarEmulator(wiring.Component):
    """Ideal crossbar and ADCs behind the analog-macro port, in synthesizable logic.

    Parameters
    ----------
    config : Config
        Geometry, resolutions and ``t_adc``; the ``[analog]`` table is ignored (the
        emulator is always ideal).
    rows_per_cycle : int, optional
        Rows summed per cycle; default the fewest that meet the ADC timing.

    Members
    -------
    analog : ``In(AnalogMacroSignature(...))``
        The port the tile's ``analog`` connects to.
    l_stream : ``In(stream.Signature(load_layout(config)))``
        Direct level writes; ``ready`` is always high (one write a cycle). Not
        ``always_ready``, so that the stream can be a top-level port.

    Raises
    ------
    ConfigError
        If ``timing.t_adc`` is too short (see the module documentation).
    """

    def __init__(self, config, *, rows_per_cycle=None):
        self.config = config
        self.rows_per_cycle, self.chunks = emulator_geometry(config, rows_per_cycle)
        tile = config.tile
        super().__init__({
            "analog": In(AnalogMacroSignature(
                rows=tile.rows, cols_phys=config.cols_phys, adc_bits=tile.adc_bits,
                adc_shift_max=config.adc_shift_max)),
            "l_stream": In(stream.Signature(load_layout(config))),
        })

    def _adc(self, count, shift):
        """Ideal ADC: floor(count / 2**shift + 1/2), clipped at the largest code."""
        rounded = ((count << 1) + (Const(1, 1) << shift)) >> (shift + 1)
        return Mux(rounded > self.config.max_code, self.config.max_code, rounded)

    def elaborate(self, platform):
        cfg, tile = self.config, self.config.tile
        R, chunks, n_adcs, cpa = self.rows_per_cycle, self.chunks, cfg.n_adcs, tile.cols_per_adc
        lanes, depth = R * n_adcs, cpa * chunks
        port, cell, load = self.analog, self.analog.cell, self.l_stream
        m = Module()
        m.d.comb += load.ready.eq(1)

        # Word (conversion k, chunk c) at address k * chunks + c; lane i * n_adcs + a holds
        # row c * R + i of physical column a * cpa + k.
        m.submodules.cells = cells = Memory(
            shape=data.ArrayLayout(unsigned(tile.bits_per_cell), lanes), depth=depth, init=[])
        write = cells.write_port()
        # A pulse's write lands as the next request may already read the same word.
        read = cells.read_port(transparent_for=(write,))

        # Plane sequencing: the address counts words in conversion-major order.
        busy = Signal()
        addr = Signal(range(depth))
        chunk = Signal(range(chunks))
        group = Signal(range(cpa))
        compute = port.sample | busy
        now_addr = Mux(port.sample, 0, addr)
        now_chunk = Mux(port.sample, 0, chunk)
        now_group = Mux(port.sample, 0, group)
        wrap = now_chunk == chunks - 1
        with m.If(compute):
            m.d.sync += [
                addr.eq(now_addr + 1),
                chunk.eq(Mux(wrap, 0, now_chunk + 1)),
                group.eq(Mux(wrap, now_group + 1, now_group)),
                busy.eq(now_addr != depth - 1),
            ]

        # Single-cell and load addressing.
        cell_addr = (cell.col % cpa) * chunks + cell.row // R
        cell_lane = (cell.row % R) * n_adcs + cell.col // cpa
        load_addr = load.payload.conversion * chunks + load.payload.row // R
        m.d.comb += read.addr.eq(Mux(compute, now_addr,
                                     Mux(cell.read | cell.pulse, cell_addr, load_addr)))

        # Everything the read data is combined with, one cycle later.
        d_compute, d_first, d_last = Signal(), Signal(), Signal()
        d_group = Signal(range(cpa))
        d_read, d_pulse, d_load = Signal(), Signal(), Signal()
        d_polarity = Signal(Polarity)
        d_addr = Signal(range(depth))
        d_lane = Signal(range(lanes))
        d_lane_row = Signal(range(R))
        d_levels = Signal.like(load.payload.levels)
        m.d.sync += [
            d_compute.eq(compute),
            d_first.eq(now_chunk == 0),
            d_last.eq(wrap),
            d_group.eq(now_group),
            d_read.eq(cell.read),
            d_pulse.eq(cell.pulse),
            d_load.eq(load.valid & ~cell.pulse),
            d_polarity.eq(cell.polarity),
            d_addr.eq(read.addr),
            d_lane.eq(cell_lane),
            d_lane_row.eq(load.payload.row % R),
            d_levels.eq(load.payload.levels),
        ]

        # Column counts: the wordlines of the current chunk rotate into the low R bits.
        wl = Signal(chunks * R, reset_less=True)
        with m.If(d_compute):
            m.d.sync += wl.eq(Cat(wl[R:], wl[:R]))
        with m.If(port.sample):
            m.d.sync += wl.eq(port.wl)
        count_shape = range(tile.rows * cfg.max_level + 1)
        codes = Signal.like(port.codes, reset_less=True)
        m.d.comb += port.codes.eq(codes)
        converted = []
        for a in range(n_adcs):
            acc = Signal(count_shape, reset_less=True)
            partial = _tree_sum([Mux(wl[i], read.data[i * n_adcs + a], 0) for i in range(R)])
            total = Mux(d_first, 0, acc) + partial
            with m.If(d_compute):
                m.d.sync += acc.eq(total)
            converted.append(self._adc(total, port.adc_shift))
        with m.If(d_compute & d_last):
            with m.Switch(d_group):
                for k in range(cpa):
                    with m.Case(k):
                        m.d.sync += [codes[a * cpa + k].eq(converted[a])
                                     for a in range(n_adcs) if a * cpa + k < cfg.cols_phys]

        # Cell access: the addressed level, one step up or down, and its verify code.
        level = Signal(tile.bits_per_cell)
        m.d.comb += level.eq(read.data[d_lane])
        stepped = Signal(tile.bits_per_cell)
        m.d.comb += stepped.eq(Mux(d_polarity == Polarity.SET,
                                   Mux(level == cfg.max_level, level, level + 1),
                                   Mux(level == 0, level, level - 1)))
        level_code = Signal(tile.adc_bits)
        with m.Switch(level):
            for value in range(cfg.max_level + 1):
                with m.Case(value):
                    m.d.comb += level_code.eq(target_code(
                        value, bits_per_cell=tile.bits_per_cell, adc_bits=tile.adc_bits))
        held_code = Signal(tile.adc_bits)
        with m.If(d_read):
            m.d.sync += held_code.eq(level_code)
        m.d.comb += cell.read_code.eq(Mux(d_read, level_code, held_code))

        # Writes are read-modify-write of one word: the pulsed lane, or a loaded row. Masks
        # over the whole word, not a multiplexer per lane, keep the logic (and Verilator's
        # evaluation of it every cycle) small.
        bpc, width = tile.bits_per_cell, lanes * tile.bits_per_cell
        row_width = n_adcs * bpc
        lane_mask = (Const((1 << bpc) - 1, width) << (d_lane * bpc))[:width]
        row_mask = (Const((1 << row_width) - 1, width) << (d_lane_row * row_width))[:width]
        mask = Mux(d_pulse, lane_mask, row_mask)
        new = Mux(d_pulse, stepped.replicate(lanes), d_levels.as_value().replicate(R))
        m.d.comb += [
            write.addr.eq(d_addr),
            write.en.eq(d_pulse | d_load),
            write.data.eq((read.data.as_value() & ~mask) | (new & mask)),
        ]
        return m
