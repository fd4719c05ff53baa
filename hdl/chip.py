"""The chip top: the tiles, the sequencer that runs a program on them, and the datapath
between them (activation memory, MVM feeders, post-processing, mover)."""

from amaranth.back import verilog
from amaranth.hdl import ClockSignal, Instance, Module, ResetSignal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from cimtile.spec.chip_isa import WORD_BITS

from .chip_datapath import ChipDatapath
from .chip_sequencer import ChipSequencer, SequencerError
from .tile import Tile, tile_signature

__all__ = ["Chip", "connect_units", "TILE_STREAMS", "verilog_source", "TOP_NAME"]

TOP_NAME = "cim_chip"
#: The tile ports the datapath drives; the chip exposes each tile's others.
TILE_STREAMS = ("i_stream", "o_stream")


class Chip(wiring.Component):
    """A :class:`~cimtile.spec.chip_config.ChipConfig`'s chip: ``tiles`` copies of the
    tile (:class:`~.tile.Tile`), each fed and read by the datapath
    (:class:`~.chip_datapath.ChipDatapath`) as the sequencer
    (:class:`~.chip_sequencer.ChipSequencer`) commands.

    Each tile keeps its own analog-macro port, write-verify ports, run-time settings and
    (with spare columns) remap table: the chip's port ``tile<t>`` carries them all, as the
    tile names them. The host loads the program, the post-processing parameters and the
    images while the sequencer is idle, pulses ``start`` and reads the outputs once
    ``done`` rises.

    Members
    -------
    program_write : ``In(StructLayout({"en": 1, "addr": range(program_words), "data": 64}))``
        One instruction word a cycle into the instruction memory (ignored while ``busy``).
    param_write : ``In(StructLayout({"en", "addr", "data": param_layout(chip)}))``
        One output's multiplier and bias a cycle into the parameter memory.
    act_write : ``In(StructLayout({"en", "addr", "data"}))``
    act_read : ``In(StructLayout({"en", "addr"}))``
    act_data : ``Out(signed(out_bits))``
        The activation memory, one activation a cycle while the units are idle; a read's
        value is on ``act_data`` the cycle after.
    start : ``In(1)``
    busy, done : ``Out(1)``
    error : ``Out(SequencerError)``
    pc : ``Out(range(program_words))``
        The sequencer's (:class:`~.chip_sequencer.ChipSequencer`).
    tile<t> : ``Out(Signature(Tile members but i_stream, o_stream))`` for each tile

    Parameters
    ----------
    chip : ChipConfig
    tile_module : str, optional
        Instantiate each tile as this Verilog module (the tile's own top, converted once
        and given beside the chip's Verilog) instead of elaborating a copy per tile: a
        simulator then compiles the tile once, whatever the number of tiles.
    """

    def __init__(self, chip, *, tile_module=None):
        self.chip, self._tile_module = chip, tile_module
        c = chip.chip
        signature = tile_signature(chip.tile)
        self._tiles = [Tile(chip.tile) if tile_module is None else signature.create()
                       for _ in range(c.tiles)]
        self._sequencer = ChipSequencer(tiles=c.tiles, depth=c.program_words,
                                        buffers=c.result_buffers)
        self._datapath = ChipDatapath(chip, param_depth=c.param_words)
        tile_ports = wiring.Signature({
            name: member for name, member in signature.members.items()
            if name not in TILE_STREAMS})
        host = self._datapath.signature.members
        super().__init__({
            "program_write": In(data.StructLayout({
                "en": 1, "addr": range(c.program_words), "data": WORD_BITS})),
            "param_write": host["param_write"],
            "act_write": host["host_write"], "act_read": host["host_read"],
            "act_data": host["host_data"],
            "start": In(1), "busy": Out(1), "done": Out(1), "error": Out(SequencerError),
            "pc": Out(range(c.program_words)),
        } | {f"tile{t}": Out(tile_ports) for t in range(c.tiles)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.sequencer = seq = self._sequencer
        m.submodules.datapath = path = self._datapath
        connect_units(m, seq, path)
        m.d.comb += [
            seq.w_en.eq(self.program_write.en), seq.w_addr.eq(self.program_write.addr),
            seq.w_data.eq(self.program_write.data), seq.start.eq(self.start),
            self.busy.eq(seq.busy), self.done.eq(seq.done), self.error.eq(seq.error),
            self.pc.eq(seq.pc),
            path.param_write.eq(self.param_write), path.host_write.eq(self.act_write),
            path.host_read.eq(self.act_read), self.act_data.eq(path.host_data),
        ]
        for t, tile in enumerate(self._tiles):
            m.submodules[f"tile{t}"] = (tile if self._tile_module is None
                                        else self._instance(tile))
            wiring.connect(m, path.vector[t], tile.i_stream)
            wiring.connect(m, tile.o_stream, path.result[t])
            port = getattr(self, f"tile{t}")
            for name, member in port.signature.members.items():
                ours, theirs = getattr(port, name), getattr(tile, name)
                if not member.is_port:
                    wiring.connect(m, wiring.flipped(ours), theirs)
                elif member.flow == In:
                    m.d.comb += theirs.eq(ours)
                else:
                    m.d.comb += ours.eq(theirs)
        return m

    def _instance(self, tile):
        """An instance of the tile module with the ports of `tile` (an interface of the
        tile's signature), named as ``verilog.convert`` names a component's ports."""
        ports = {("i_" if member.flow == In else "o_") + "__".join(map(str, path)): value
                 for path, member, value in tile.signature.flatten(tile)}
        return Instance(self._tile_module, i_clk=ClockSignal(), i_rst=ResetSignal(), **ports)


def connect_units(m, sequencer, datapath):
    """Connect the command ports of `sequencer` to the units of `datapath`, the start of a
    run to the datapath's result buffers, and the units' completions back."""
    for ours, theirs in zip(sequencer.mvm, datapath.mvm):
        wiring.connect(m, ours, theirs)
    wiring.connect(m, sequencer.acc, datapath.acc)
    wiring.connect(m, sequencer.move, datapath.move)
    m.d.comb += [datapath.restart.eq(sequencer.restart),
                 sequencer.mvm_done.eq(datapath.mvm_done),
                 sequencer.acc_done.eq(datapath.acc_done),
                 sequencer.move_done.eq(datapath.move_done)]


def verilog_source(chip, tile_module=None):
    """Verilog text of the chip top (module ``cim_chip``) for `chip`, each tile a copy of
    its own or an instance of `tile_module` (see :class:`Chip`)."""
    return verilog.convert(Chip(chip, tile_module=tile_module), name=TOP_NAME,
                           emit_src=False)
