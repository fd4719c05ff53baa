"""The tile top: input buffer, controller, wordline drive, ADC sequencing, column remap,
shift-and-add."""

from amaranth.back import verilog
from amaranth.hdl import Module, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .adc_sequencer import AdcSequencer
from .analog_port import AnalogMacroSignature
from .bitplane import BitPlaneSequencer
from .buffers import VectorBuffer
from .column_remap import ColumnRemap, remap_layout
from .controller import Controller
from .pipelined_controller import PipelinedController
from .sample_hold import SampleHold
from .shift_add import ShiftAdd
from .write_verify import RESULT_LAYOUT, WriteVerify, settings_layout

__all__ = ["Tile", "tile_signature", "verilog_source", "TOP_NAME"]

TOP_NAME = "cim_tile"


class Tile(wiring.Component):
    """One compute-in-memory tile's digital periphery, parameterised by a :class:`Config`.

    Members
    -------
    in_bits : ``In(range(1, in_bits + 1))``
        Run-time input precision: each element's low ``in_bits`` bits, in two's complement.
    adc_shift : ``In(range(adc_shift_max + 1))``
        Run-time ADC range select. Both settings must stay stable while any vector is in
        the tile (the host interface refuses to change them while busy).
    i_stream : ``In(stream.Signature(ArrayLayout(signed(in_bits), rows)))``
        Input vectors, one per transfer.
    o_stream : ``Out(stream.Signature(ArrayLayout(signed(result_width), cols)))``
        Result vectors, in input order.
    analog : ``Out(AnalogMacroSignature(...))``
        Port toward the crossbar and its ADCs.
    prog_settings : ``In(settings_layout(...))``
        Write-verify settings, latched at ``prog_start``.
    prog_start : ``In(1)``
        Start programming; taken only while no vector is computing, and holds off new
        vectors until programming ends.
    prog_read_only : ``In(1)``
        With ``prog_start``: read the rectangle back instead of programming it.
    prog_fetch_last : ``Out(1)``
        The target level being awaited is the rectangle's last.
    prog_busy, prog_done, prog_error : ``Out(1)``
        Write-verify status (``prog_error``: the last start had invalid settings).
    t_stream : ``In(stream.Signature(bits_per_cell))``
        Target levels, row-major over the programmed rectangle.
    r_stream : ``Out(stream.Signature(RESULT_LAYOUT))``
        Per-cell programming results, in the same order.
    remap : ``In(remap_layout(...))``
        Only with spare columns: the column remap table (see :class:`ColumnRemap`); stable
        while any vector is in the tile (the host interface refuses writes while busy).
    """

    def __init__(self, config):
        self.config = config
        super().__init__(tile_signature(config))

    def elaborate(self, platform):
        config, tile = self.config, self.config.tile
        m = Module()
        m.submodules.input_buffer = input_buffer = VectorBuffer(self.i_stream.payload.shape())
        if tile.pipeline:
            m.submodules.controller = controller = PipelinedController(
                in_bits=tile.in_bits, t_settle=config.timing.t_settle,
                conversion_cycles=config.conversion_cycles)
        else:
            m.submodules.controller = controller = Controller(
                in_bits=tile.in_bits, t_settle=config.timing.t_settle)
        m.submodules.bitplane = bitplane = BitPlaneSequencer(
            rows=tile.rows, in_bits=tile.in_bits)
        m.submodules.adc_sequencer = adc_sequencer = AdcSequencer(
            cols_phys=config.cols_phys, adc_bits=tile.adc_bits,
            cols_per_adc=tile.cols_per_adc, t_adc=config.timing.t_adc,
            per_step=config.timing.adc_per_step)
        m.submodules.shift_add = shift_add = ShiftAdd(
            cols=tile.cols, slices=config.slices, bits_per_cell=tile.bits_per_cell,
            adc_bits=tile.adc_bits, in_bits=tile.in_bits, adc_shift_max=config.adc_shift_max,
            result_width=config.result_width)
        m.submodules.output_buffer = output_buffer = VectorBuffer(
            self.o_stream.payload.shape())
        m.submodules.write_verify = write_verify = WriteVerify(
            rows=tile.rows, cols_phys=config.cols_phys, adc_bits=tile.adc_bits,
            bits_per_cell=tile.bits_per_cell,
            t_read=config.timing.t_settle + config.timing.t_adc)

        wiring.connect(m, wiring.flipped(self.i_stream), input_buffer.i_stream)
        wiring.connect(m, shift_add.o_stream, output_buffer.i_stream)
        wiring.connect(m, output_buffer.o_stream, wiring.flipped(self.o_stream))
        wiring.connect(m, wiring.flipped(self.t_stream), write_verify.i_stream)
        wiring.connect(m, write_verify.o_stream, wiring.flipped(self.r_stream))
        wiring.connect(m, write_verify.cell, wiring.flipped(self.analog.cell))

        # Computing and programming share the array: each waits for the other to finish.
        m.d.comb += [
            controller.planes.eq(self.in_bits),
            shift_add.adc_shift.eq(self.adc_shift),
            self.analog.adc_shift.eq(self.adc_shift),
            write_verify.settings.eq(self.prog_settings),
            write_verify.start.eq(self.prog_start & controller.idle),
            write_verify.read_only.eq(self.prog_read_only),
            self.prog_fetch_last.eq(write_verify.fetch_last),
            self.prog_busy.eq(write_verify.busy),
            self.prog_done.eq(write_verify.done),
            self.prog_error.eq(write_verify.error),
            controller.in_valid.eq(input_buffer.o_stream.valid & ~write_verify.busy
                                   & ~self.prog_start),
            input_buffer.o_stream.ready.eq(controller.load),
            bitplane.load.eq(controller.load),
            bitplane.vector.eq(input_buffer.o_stream.payload),
            bitplane.plane.eq(controller.plane),
            bitplane.drive.eq(controller.drive),
            self.analog.wl.eq(bitplane.wl),
            self.analog.sample.eq(controller.sample),
            controller.adc_done.eq(adc_sequencer.done),
            controller.acc_free.eq(~shift_add.o_stream.valid | shift_add.o_stream.ready),
            shift_add.en.eq(controller.acc_en),
            shift_add.plane.eq(controller.acc_plane),
            shift_add.first.eq(controller.acc_first),
            shift_add.last.eq(controller.acc_last),
        ]
        if tile.pipeline:
            # The ADCs convert the held codes while the macro answers the next plane.
            m.submodules.sample_hold = bank = SampleHold(
                cols_phys=config.cols_phys, adc_bits=tile.adc_bits)
            m.d.comb += [bank.sample.eq(controller.sample), bank.codes.eq(self.analog.codes),
                         adc_sequencer.start.eq(controller.convert),
                         adc_sequencer.codes.eq(bank.held)]
        else:
            m.d.comb += [adc_sequencer.start.eq(controller.sample),
                         adc_sequencer.codes.eq(self.analog.codes)]
        if tile.spare_cols:
            m.submodules.column_remap = remap = ColumnRemap(
                cols_data=config.cols_data, spare_cols=tile.spare_cols, adc_bits=tile.adc_bits)
            m.d.comb += [remap.table.eq(self.remap), remap.slots.eq(adc_sequencer.slots),
                         shift_add.slots.eq(remap.remapped)]
        else:
            m.d.comb += shift_add.slots.eq(adc_sequencer.slots)
        return m


def tile_signature(config):
    """The signature of the tile of `config` (see :class:`Tile`'s members)."""
    tile = config.tile
    return wiring.Signature({
        "in_bits": In(range(1, tile.in_bits + 1), init=tile.in_bits),
        "adc_shift": In(range(config.adc_shift_max + 1), init=tile.adc_shift),
        "i_stream": In(stream.Signature(
            data.ArrayLayout(signed(tile.in_bits), tile.rows))),
        "o_stream": Out(stream.Signature(
            data.ArrayLayout(signed(config.result_width), tile.cols))),
        "analog": Out(AnalogMacroSignature(
            rows=tile.rows, cols_phys=config.cols_phys, adc_bits=tile.adc_bits,
            adc_shift_max=config.adc_shift_max)),
        "prog_settings": In(settings_layout(
            rows=tile.rows, cols_phys=config.cols_phys, adc_bits=tile.adc_bits)),
        "prog_start": In(1),
        "prog_read_only": In(1),
        "prog_fetch_last": Out(1),
        "prog_busy": Out(1),
        "prog_done": Out(1),
        "prog_error": Out(1),
        "t_stream": In(stream.Signature(tile.bits_per_cell)),
        "r_stream": Out(stream.Signature(RESULT_LAYOUT)),
    } | ({"remap": In(remap_layout(cols_data=config.cols_data, spare_cols=tile.spare_cols))}
         if tile.spare_cols else {}))


def verilog_source(config):
    """Verilog text of the tile top (module ``cim_tile``) for ``config``."""
    return verilog.convert(Tile(config), name=TOP_NAME, emit_src=False)
