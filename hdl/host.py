"""The tile as an SoC peripheral: AXI4-Lite registers and AXI4-Stream data around the tile."""

from amaranth.back import verilog
from amaranth.hdl import Cat, Module, ResetInserter
from amaranth.lib import fifo, wiring
from amaranth.lib.wiring import In, Out

from cimtile.spec.regmap import ErrorCause, Mode

from .analog_port import AnalogMacroSignature
from .axi_lite import AxiLiteSignature
from .axi_stream import AxiStreamSignature
from .output_framer import OutputFramer
from .registers import Registers
from .stream_pack import (CELL_LANE_LAYOUT, BeatsToLanes, BeatsToVectors, LanesToBeats,
                          VectorsToBeats)
from .tile import Tile

__all__ = ["HostTile", "host_verilog", "HOST_TOP"]

HOST_TOP = "cim_host"
#: Result vectors in flight inside the tile at most: input buffer, bit-plane sequencer,
#: shift-and-add, output buffer (pipelined two more, in the ADC slots and the bank). The
#: batch-end flags of those vectors wait in a FIFO this deep.
_IN_FLIGHT = 8


class HostTile(wiring.Component):
    """A tile behind standard buses: the register map of :mod:`cimtile.spec.regmap` on AXI4-Lite,
    input vectors, results, target levels and per-cell results on AXI4-Stream.

    The packing of every stream and the meaning of every register are in docs/host.md and
    docs/registers.md. A soft reset (``CTRL.soft_reset``) returns the datapath to idle and
    closes any open output frame without cutting an item (see :class:`OutputFramer`).

    Members
    -------
    s_axil : ``In(AxiLiteSignature(12, 32))``
    s_axis_in : ``In(AxiStreamSignature(data_width, keep=True))``
    m_axis_out : ``Out(AxiStreamSignature(data_width, keep=True))``
    s_axis_target : ``In(AxiStreamSignature(data_width, keep=True))``
    m_axis_cell : ``Out(AxiStreamSignature(data_width, keep=True))``
    irq : ``Out(1)``
    analog : ``Out(AnalogMacroSignature(...))``
    """

    def __init__(self, config):
        self.config = config
        tile, width = config.tile, config.host.data_width
        super().__init__({
            "s_axil": In(AxiLiteSignature(addr_width=12, data_width=32)),
            "s_axis_in": In(AxiStreamSignature(width, keep=True)),
            "m_axis_out": Out(AxiStreamSignature(width, keep=True)),
            "s_axis_target": In(AxiStreamSignature(width, keep=True)),
            "m_axis_cell": Out(AxiStreamSignature(width, keep=True)),
            "irq": Out(1),
            "analog": Out(AnalogMacroSignature(
                rows=tile.rows, cols_phys=config.cols_phys, adc_bits=tile.adc_bits,
                adc_shift_max=config.adc_shift_max)),
        })

    def elaborate(self, platform):
        config, tile, width = self.config, self.config.tile, self.config.host.data_width
        m = Module()
        m.submodules.registers = regs = Registers(config)
        wiring.connect(m, wiring.flipped(self.s_axil), regs.bus)
        soft = regs.soft_reset

        # Datapath blocks return to idle on a soft reset; the output framers decide when
        # their producers may.
        unpack_in = BeatsToVectors(width, tile.in_bits, tile.rows, signed=True)
        input_fifo = fifo.SyncFIFOBuffered(width=width + width // 8 + 1,
                                           depth=config.host.input_fifo_vectors * unpack_in.beats)
        core = Tile(config)
        batch_ends = fifo.SyncFIFO(width=1, depth=_IN_FLIGHT)
        unpack_target = BeatsToLanes(width, tile.bits_per_cell)
        for name, block in [("input_fifo", input_fifo), ("unpack_in", unpack_in),
                            ("tile", core), ("batch_ends", batch_ends),
                            ("unpack_target", unpack_target)]:
            m.submodules[name] = ResetInserter(soft)(block)
        pack_out = VectorsToBeats(width, config.result_width, tile.cols)
        m.submodules.out_framer = out_framer = OutputFramer(data_width=width,
                                                            beats_per_item=pack_out.beats)
        m.submodules.pack_out = ResetInserter(out_framer.hold_reset)(pack_out)
        m.submodules.cell_framer = cell_framer = OutputFramer(data_width=width,
                                                              beats_per_item=1)
        pack_cell = LanesToBeats(width, CELL_LANE_LAYOUT)
        m.submodules.pack_cell = ResetInserter(cell_framer.hold_reset)(pack_cell)

        # Input vectors: port -> FIFO (a batch arrives in bursts) -> vectors -> tile.
        i = self.s_axis_in
        m.d.comb += [
            input_fifo.w_data.eq(Cat(i.tdata, i.tkeep, i.tlast)),
            input_fifo.w_en.eq(i.tvalid),
            i.tready.eq(input_fifo.w_rdy),
            unpack_in.i_axis.tdata.eq(input_fifo.r_data[:width]),
            unpack_in.i_axis.tkeep.eq(input_fifo.r_data[width:width + width // 8]),
            unpack_in.i_axis.tlast.eq(input_fifo.r_data[-1]),
            unpack_in.i_axis.tvalid.eq(input_fifo.r_rdy),
            input_fifo.r_en.eq(unpack_in.i_axis.tready),
        ]
        # Each vector's batch-end flag waits beside the tile and rejoins its result.
        m.d.comb += [
            core.i_stream.payload.eq(unpack_in.o_stream.payload.vector),
            core.i_stream.valid.eq(unpack_in.o_stream.valid & batch_ends.w_rdy),
            unpack_in.o_stream.ready.eq(core.i_stream.ready & batch_ends.w_rdy),
            batch_ends.w_data.eq(unpack_in.o_stream.payload.last),
            batch_ends.w_en.eq(core.i_stream.valid & core.i_stream.ready),
            pack_out.i_stream.payload.vector.eq(core.o_stream.payload),
            pack_out.i_stream.payload.last.eq(batch_ends.r_data),
            pack_out.i_stream.valid.eq(core.o_stream.valid),
            core.o_stream.ready.eq(pack_out.i_stream.ready),
            batch_ends.r_en.eq(core.o_stream.valid & core.o_stream.ready),
        ]
        self._join(m, pack_out.o_axis, out_framer.i)
        wiring.connect(m, out_framer.o, wiring.flipped(self.m_axis_out))

        # Programming: target levels in, per-cell results out.
        wiring.connect(m, wiring.flipped(self.s_axis_target), unpack_target.i_axis)
        m.d.comb += [
            core.t_stream.payload.eq(unpack_target.o_stream.payload),
            core.t_stream.valid.eq(unpack_target.o_stream.valid),
            unpack_target.o_stream.ready.eq(core.t_stream.ready),
            unpack_target.last.eq(core.prog_fetch_last),
            pack_cell.i_stream.payload.lane.pulses.eq(core.r_stream.payload.pulses),
            pack_cell.i_stream.payload.lane.converged.eq(core.r_stream.payload.converged),
            pack_cell.i_stream.payload.lane.code.eq(core.r_stream.payload.code),
            pack_cell.i_stream.payload.last.eq(core.r_stream.payload.last),
            pack_cell.i_stream.valid.eq(core.r_stream.valid),
            core.r_stream.ready.eq(pack_cell.i_stream.ready),
        ]
        self._join(m, pack_cell.o_axis, cell_framer.i)
        wiring.connect(m, cell_framer.o, wiring.flipped(self.m_axis_cell))

        wiring.connect(m, core.analog, wiring.flipped(self.analog))

        # Settings, commands and events.
        m.d.comb += [
            core.in_bits.eq(regs.settings.in_bits),
            core.adc_shift.eq(regs.settings.adc_shift),
            core.prog_settings.eq(regs.wv_settings),
            core.prog_start.eq(regs.start),
            core.prog_read_only.eq(regs.settings.mode == Mode.READ_BACK),
            out_framer.soft_reset.eq(soft),
            cell_framer.soft_reset.eq(soft),
            regs.busy.eq(input_fifo.r_rdy | unpack_in.o_stream.valid | batch_ends.r_rdy
                         | pack_out.o_axis.tvalid | core.prog_busy | pack_cell.o_axis.tvalid
                         | out_framer.closing | cell_framer.closing),
            regs.done.eq((self.m_axis_out.tvalid & self.m_axis_out.tready
                          & self.m_axis_out.tlast) | core.prog_done),
            regs.mvm_done.eq(core.o_stream.valid & core.o_stream.ready),
            regs.pulse.eq(core.analog.cell.pulse),
            self.irq.eq(regs.irq),
        ]
        if tile.spare_cols:
            m.d.comb += core.remap.eq(regs.remap)
        with m.If(unpack_in.keep_error | unpack_target.keep_error):
            m.d.comb += [regs.error.eq(1), regs.error_cause.eq(ErrorCause.STREAM_KEEP)]
        with m.Elif(unpack_in.last_error | unpack_target.last_error):
            m.d.comb += [regs.error.eq(1), regs.error_cause.eq(ErrorCause.STREAM_LAST)]
        with m.Elif(core.prog_done & core.prog_error):
            m.d.comb += [regs.error.eq(1), regs.error_cause.eq(ErrorCause.WV_SETTINGS)]
        return m


    @staticmethod
    def _join(m, producer, framer):
        """A stream without TKEEP into a framer: all its bytes are data."""
        m.d.comb += [
            framer.tdata.eq(producer.tdata),
            framer.tkeep.eq(-1),
            framer.tlast.eq(producer.tlast),
            framer.tvalid.eq(producer.tvalid),
            producer.tready.eq(framer.tready),
        ]


def host_verilog(config):
    """Verilog text of the host top (module ``cim_host``) for `config`."""
    return verilog.convert(HostTile(config), name=HOST_TOP, emit_src=False)
