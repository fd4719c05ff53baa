"""The chip as an SoC peripheral: one AXI4-Lite register block and AXI4-Stream data around
the chip."""

from amaranth.hdl import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from cimtile.spec.chip_regmap import ErrorCause
from cimtile.spec.register_model import ADDR_WIDTH, DATA_WIDTH

from .analog_port import AnalogMacroSignature
from .axi_lite import AxiLiteSignature
from .axi_stream import AxiStreamSignature
from .chip import Chip
from .chip_registers import ChipRegisters, span_layout
from .chip_sequencer import SequencerError
from .stream_pack import CELL_LANE_LAYOUT, BeatsToLanes, LanesToBeats, lane_width

__all__ = ["ChipHost"]


class ChipHost(wiring.Component):
    """A chip (:class:`~.chip.Chip`) behind standard buses: the register map of
    :mod:`cimtile.spec.chip_regmap` on AXI4-Lite (docs/chip_registers.md), images and
    scores, target levels and per-cell results on AXI4-Stream.

    Streams are packed as the tile's host packs them (docs/host.md): little-endian, an
    activation (``out_bits``) in a lane of whole bytes, lanes dense from bit 0, the last
    beat zero-padded, TDATA ``data_width`` bits (the tile's ``host.data_width``).

    - ``s_axis_image``: an image is one frame of IMAGE_LEN activations, TLAST on the beat
      holding the last one, written into the activation memory from IMAGE_ADDR on, one a
      cycle. Its beats wait while the chip runs or sends scores. A beat with a data byte
      whose TKEEP is 0 is dropped from that lane on (STREAM_KEEP), TLAST early or missing
      ends the frame (STREAM_LAST), and an activation past the memory's end is dropped
      (ADDRESS); after an error the next beat starts a new image.
    - ``m_axis_scores``: the SCORE span, one frame, TLAST on its last beat, sent when a run
      ends with its HALT and on CTRL.scores.
    - ``s_axis_target`` and ``m_axis_cell``: the target levels and per-cell results of the
      tile TILE_SEL selects, packed as the tile host's.

    Members
    -------
    s_axil : ``In(AxiLiteSignature(12, 32))``
    s_axis_image, s_axis_target : ``In(AxiStreamSignature(data_width, keep=True))``
    m_axis_scores, m_axis_cell : ``Out(AxiStreamSignature(data_width, keep=True))``
        TKEEP all ones.
    irq : ``Out(1)``
    analog : ``Out(AnalogMacroSignature(...)).array(tiles)``
        Each tile's analog-macro port.
    """

    def __init__(self, chip):
        self.chip = chip
        tile, width = chip.tile, chip.tile.host.data_width
        super().__init__({
            "s_axil": In(AxiLiteSignature(addr_width=ADDR_WIDTH, data_width=DATA_WIDTH)),
            "s_axis_image": In(AxiStreamSignature(width, keep=True)),
            "m_axis_scores": Out(AxiStreamSignature(width, keep=True)),
            "s_axis_target": In(AxiStreamSignature(width, keep=True)),
            "m_axis_cell": Out(AxiStreamSignature(width, keep=True)),
            "irq": Out(1),
            "analog": Out(AnalogMacroSignature(
                rows=tile.tile.rows, cols_phys=tile.cols_phys, adc_bits=tile.tile.adc_bits,
                adc_shift_max=tile.adc_shift_max)).array(chip.chip.tiles),
        })

    def elaborate(self, platform):
        chip, c, width = self.chip, self.chip.chip, self.chip.tile.host.data_width
        m = Module()
        m.submodules.registers = regs = ChipRegisters(chip)
        m.submodules.chip = core = Chip(chip)
        m.submodules.unpack_image = unpack_image = BeatsToLanes(width, c.out_bits)
        m.submodules.pack_scores = pack_scores = LanesToBeats(
            width, unsigned(lane_width(c.out_bits)))
        m.submodules.unpack_target = unpack_target = BeatsToLanes(
            width, chip.tile.tile.bits_per_cell)
        m.submodules.pack_cell = pack_cell = LanesToBeats(width, CELL_LANE_LAYOUT)
        wiring.connect(m, wiring.flipped(self.s_axil), regs.bus)
        wiring.connect(m, wiring.flipped(self.s_axis_image), unpack_image.i_axis)
        wiring.connect(m, wiring.flipped(self.s_axis_target), unpack_target.i_axis)
        for packer, port in ((pack_scores, self.m_axis_scores), (pack_cell, self.m_axis_cell)):
            beats = packer.o_axis
            m.d.comb += [port.tdata.eq(beats.tdata), port.tkeep.eq(-1),
                         port.tlast.eq(beats.tlast), port.tvalid.eq(beats.tvalid),
                         beats.tready.eq(port.tready)]

        # A run that ends with its HALT sends its scores; until the reader starts, the
        # chip counts as sending, so that no command slips in between.
        done_before = Signal()
        m.d.sync += done_before.eq(core.done)
        run_done = core.done & ~done_before
        finished = run_done & (core.error == SequencerError.NONE)
        sending = Signal()
        running = core.busy
        m.d.comb += [
            core.program_write.eq(regs.program_write),
            core.param_write.eq(regs.param_write),
            core.start.eq(regs.start),
            regs.running.eq(running),
            regs.sending.eq(sending | finished | pack_scores.o_axis.tvalid),
            regs.seq_error.eq(core.error), regs.pc.eq(core.pc),
            regs.run_done.eq(run_done),
            regs.busy.eq(regs.running | regs.programming | regs.sending | regs.loading),
            self.irq.eq(regs.irq),
        ]
        image_error = self._image(m, core, regs, unpack_image, running | regs.sending)
        self._scores(m, core, regs, pack_scores, sending, finished)
        self._tiles(m, core, regs, unpack_target, pack_cell)

        tiles = [getattr(core, f"tile{t}") for t in range(c.tiles)]
        with m.If(unpack_image.keep_error | unpack_target.keep_error):
            m.d.comb += [regs.error.eq(1), regs.error_cause.eq(ErrorCause.STREAM_KEEP)]
        with m.Elif(unpack_image.last_error | unpack_target.last_error):
            m.d.comb += [regs.error.eq(1), regs.error_cause.eq(ErrorCause.STREAM_LAST)]
        with m.Elif(image_error):
            m.d.comb += [regs.error.eq(1), regs.error_cause.eq(ErrorCause.ADDRESS)]
        with m.Elif(Cat(p.prog_done & p.prog_error for p in tiles).any()):
            m.d.comb += [regs.error.eq(1), regs.error_cause.eq(ErrorCause.WV_SETTINGS)]
        with m.Elif(run_done & (core.error != SequencerError.NONE)):
            m.d.comb += [regs.error.eq(1), regs.error_cause.eq(ErrorCause.SEQUENCER)]
        return m

    def _image(self, m, core, regs, unpack, hold):
        """The image writer and the register port into the activation memory; returns
        the cycle's address error."""
        elements, lanes = self.chip.act_elements, unpack.o_stream
        position = Signal(range(elements + 1))
        address = Signal(18)
        last = Signal()
        take = Signal()
        m.d.comb += [
            address.eq(regs.image.addr + position),
            last.eq(position + 1 >= regs.image.length),
            unpack.last.eq(last),
            lanes.ready.eq(~hold & ~regs.act_write.en),
            take.eq(lanes.valid & lanes.ready),
            # From the first beat taken until the image's last activation is written.
            regs.loading.eq((position != 0) | lanes.valid),
        ]
        with m.If(regs.act_write.en):
            m.d.comb += core.act_write.eq(regs.act_write)
        with m.Else():
            m.d.comb += [core.act_write.en.eq(take & (address < elements)),
                         core.act_write.addr.eq(address),
                         core.act_write.data.eq(lanes.payload)]
        with m.If(take):
            m.d.sync += position.eq(Mux(last, 0, position + 1))
        with m.If(unpack.keep_error | unpack.last_error):
            m.d.sync += position.eq(0)
        return take & (address >= elements)

    def _scores(self, m, core, regs, pack, sending, finished):
        """The score reader, and the reads of ACT_DATA while it is idle."""
        c = self.chip.chip
        span = Signal(span_layout())
        index = Signal(range(self.chip.act_elements + 2))
        pending = Signal()              # an activation arrives this cycle
        lane = Signal(signed(lane_width(c.out_bits)))
        full, final = Signal(), Signal()
        i = pack.i_stream
        m.d.comb += [i.valid.eq(full), i.payload.lane.eq(lane), i.payload.last.eq(final)]
        with m.If(i.valid & i.ready):
            m.d.sync += full.eq(0)
            with m.If(final):
                m.d.sync += sending.eq(0)
        m.d.sync += pending.eq(0)
        with m.If(pending):
            m.d.sync += [lane.eq(core.act_data), full.eq(1),
                         final.eq(index == span.length)]
        with m.If(~sending & (finished | regs.send)):
            m.d.sync += [sending.eq(1), index.eq(0), span.eq(regs.scores)]

        # One activation every other cycle: a read is issued once the lane it fills is free.
        issue = sending & ~pending & (index < span.length) & (~full | i.ready)
        view_read, view_past = Signal(), Signal()
        with m.If(issue):
            m.d.comb += [core.act_read.en.eq(1), core.act_read.addr.eq(span.addr + index)]
            m.d.sync += [pending.eq(1), index.eq(index + 1)]
        with m.Elif(~core.busy):
            m.d.comb += [core.act_read.en.eq(1), core.act_read.addr.eq(regs.act_addr)]
        m.d.sync += [view_read.eq(~issue & ~core.busy),
                     view_past.eq(regs.act_addr >= self.chip.act_elements)]
        # The value read last cycle goes to the bus at once, so that ACT_DATA read right
        # after ACT_ADDR is written already gives the new address's activation.
        view, fresh = Signal.like(regs.act_view), Mux(view_past, 0, core.act_data)
        with m.If(view_read):
            m.d.sync += view.eq(fresh)
        m.d.comb += regs.act_view.eq(Mux(view_read, fresh, view))

    def _tiles(self, m, core, regs, unpack_target, pack_cell):
        """Each tile's settings, and the programming streams to and from the selected
        one."""
        chip = self.chip
        tiles = [getattr(core, f"tile{t}") for t in range(chip.chip.tiles)]
        targets, cells = unpack_target.o_stream, pack_cell.i_stream
        for t, port in enumerate(tiles):
            selected = regs.tile_sel == t
            m.d.comb += [
                port.in_bits.eq(regs.tile_settings[t].in_bits),
                port.adc_shift.eq(regs.tile_settings[t].adc_shift),
                port.prog_settings.eq(regs.wv_settings),
                port.prog_start.eq(regs.prog_start & selected),
                port.prog_read_only.eq(regs.prog_read_only),
                port.t_stream.payload.eq(targets.payload),
                port.t_stream.valid.eq(targets.valid & selected),
            ]
            if chip.tile.tile.spare_cols:
                m.d.comb += port.remap.eq(regs.remap[t])
            wiring.connect(m, port.analog, wiring.flipped(self.analog[t]))
            with m.If(selected):
                result = port.r_stream
                m.d.comb += [
                    targets.ready.eq(port.t_stream.ready),
                    unpack_target.last.eq(port.prog_fetch_last),
                    cells.payload.lane.pulses.eq(result.payload.pulses),
                    cells.payload.lane.converged.eq(result.payload.converged),
                    cells.payload.lane.code.eq(result.payload.code),
                    cells.payload.last.eq(result.payload.last),
                    cells.valid.eq(result.valid),
                    result.ready.eq(cells.ready),
                ]
        m.d.comb += [
            regs.programming.eq(Cat(p.prog_busy for p in tiles).any()
                                | pack_cell.o_axis.tvalid),
            regs.programmed.eq(Cat(p.prog_done for p in tiles).any()),
        ]
