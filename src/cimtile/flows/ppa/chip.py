"""Energy per image and area of a chip running a compiled program: its tiles, its
post-processing unit, its stream switch, its sequencer and its activation memory.

- **Tiles.** Every MVM is priced by the tile model (:func:`~.activity.compute_activity`,
  :func:`~.energy.compute_energy`) on the tile's own block of weights, seed and the very
  inputs the golden chip model fed it (:func:`tile_inputs`); the digital periphery's
  switching is the configuration's typical switching per vector
  (:func:`~.digital.typical_toggles`: measured once on random operands and cached), not
  simulated per tile. The tile model leaks a tile's gates and SRAM over its busy cycles;
  every tile, used or not, also leaks for the rest of the image's cycles
  (``tiles_idle_leakage``). A tile's area is the tile model's (:func:`~.area.tile_area`),
  host interface and input FIFO included: each tile keeps its registers, framing and FIFO
  as its port on the chip.
- **Post-processing unit and stream switch.** The RTL blocks (:class:`PostProcess` at the
  tile's columns and widths, :class:`StreamSwitch` at the chip's tiles and interconnect
  width) are synthesised to gate equivalents as :mod:`.area` synthesises a tile, cached the
  same way. Their switching is an assumption, not a measurement: every event switches
  :data:`EVENT_ACTIVITY` of the gate equivalents that carry it: the whole unit for each
  row block of partial sums it takes, one output's share of the switch for each beat it
  moves. Both leak over the image's cycles.
- **Sequencer.** :class:`ChipSequencer` with ``program_words`` of instruction memory,
  synthesised the same way; its memory is an SRAM macro when it has at least
  ``sram_min_bits`` bits (else flip-flops among its gates). Each instruction issued reads
  one word and switches :data:`EVENT_ACTIVITY` of the sequencer's gates (an assumption,
  as above); loading the program is once per program, not per image, and not counted.
  Logic and memory leak over the image's cycles.
- **Activation memory.** An SRAM macro of ``act_memory_bytes * 8`` bits (the datapath's
  :class:`~cimtile.hdl.span_memory.SpanMemory`), priced with the tile model's SRAM
  figures: every activation an MVM or MOVE reads and every one an ACC or MOVE writes, the
  host's image written and its scores read, each ``8 * element_bytes`` bits; it leaks over
  the image's cycles.

Not counted: the post-processing memory of multipliers and biases and the chip's host
interface, which have no RTL yet.
"""

import math
from dataclasses import dataclass

import numpy as np
from amaranth.back import verilog

from cimtile.hdl.chip_sequencer import ChipSequencer
from cimtile.hdl.chip_datapath import chip_post_process
from cimtile.hdl.stream_switch import StreamSwitch
from cimtile.models.chip_golden import ProgramError, check_program, golden_tiles, run_chip
from cimtile.models.chip_timing import schedule
from cimtile.spec.chip_isa import WORD_BITS, Opcode
from cimtile.tb.build.elaboration import elaborated

from .activity import compute_activity
from .area import gate_equivalents, synthesise, tile_area
from .digital import digital_activity, typical_toggles
from .energy import Energy, Item, combined, compute_energy
from .figures import figures

__all__ = ["EVENT_ACTIVITY", "POST_PROCESS_TOP", "SWITCH_TOP", "SEQUENCER_TOP",
           "post_process_verilog", "switch_verilog", "sequencer_verilog", "block_ge", "ChipEvents", "chip_events", "tile_inputs",
           "ChipPpa", "chip_ppa"]

#: Gate-equivalent transitions per gate equivalent that carries an event: fresh random
#: operands flip each gate output with probability one half (glitches not counted).
EVENT_ACTIVITY = 0.5

POST_PROCESS_TOP, SWITCH_TOP = "chip_post_process", "chip_stream_switch"
SEQUENCER_TOP = "chip_sequencer"


def _switch_ports(chip):
    """Inputs, outputs and routes of the chip's stream switch: every tile's results, the
    activation memory's read port and the post-processing unit's outputs in; every tile's
    inputs, the post-processing unit's input and the memory's write port out; one route
    per destination."""
    ports = chip.chip.tiles + 2
    return ports, ports, ports


def post_process_verilog(chip):
    """Verilog of the chip's post-processing unit: one lane per tile column, partial sums
    of the tile's result width."""
    return verilog.convert(chip_post_process(chip), name=POST_PROCESS_TOP, emit_src=False)


def switch_verilog(chip):
    """Verilog of the chip's stream switch (:func:`_switch_ports`)."""
    inputs, outputs, routes = _switch_ports(chip)
    switch = StreamSwitch(inputs=inputs, outputs=outputs,
                          data_width=chip.chip.interconnect_width, routes=routes)
    return verilog.convert(switch, name=SWITCH_TOP, emit_src=False)


def sequencer_verilog(chip):
    """Verilog of the chip's sequencer: its tiles, ``program_words`` of instructions."""
    sequencer = ChipSequencer(tiles=chip.chip.tiles, depth=chip.chip.program_words)
    return verilog.convert(sequencer, name=SEQUENCER_TOP, emit_src=False)


def block_ge(chip):
    """``(ge, macro_bits)``: gate equivalents of the post-processing unit, the stream switch
    and the sequencer, synthesised (and cached) as :func:`~.area.tile_area` synthesises a
    tile, and the bits of each one's memories left as SRAM macros (the sequencer's
    instruction memory, if large enough)."""
    ge, macro_bits = {}, {}
    for name, source, top in (("post_process", post_process_verilog, POST_PROCESS_TOP),
                              ("stream_switch", switch_verilog, SWITCH_TOP),
                              ("sequencer", sequencer_verilog, SEQUENCER_TOP)):
        netlist = synthesise(elaborated(source, chip), top, chip.tile.ppa.sram_min_bits)
        ge[name] = sum(gate_equivalents(cells) for cells in netlist.cells.values())
        macro_bits[name] = sum(netlist.sram_bits.values())
    return ge, macro_bits


@dataclass(frozen=True)
class ChipEvents:
    """What one image's program does outside the tiles, counted from its instructions.

    Members
    -------
    sram_reads, sram_writes : int
        Activations read from and written to the activation memory: MVM inputs, MOVE
        sources and the scores the host reads; ACC outputs, MOVE destinations and the
        image the host writes.
    switch_beats : int
        Beats the stream switch moves: an MVM's inputs, an ACC's partial sums from each of
        its tiles and its outputs, a MOVE's values (:mod:`cimtile.models.chip_timing`).
    row_blocks : int
        Partial-sum transfers into the post-processing unit: an ACC's tiles.
    macs : int
        Multiply-accumulates of the network: each ACC's outputs times the inputs of the
        MVMs whose results it adds.
    """
    sram_reads: int
    sram_writes: int
    switch_beats: int
    row_blocks: int
    macs: int


def chip_events(chip, program, instructions):
    """The :class:`ChipEvents` of `program`'s decoded `instructions` on `chip`."""
    out_bits, result_width = chip.chip.out_bits, chip.tile.result_width
    reads, writes = program.output_length, program.input_length
    beats = blocks = macs = 0
    inputs = {}
    for ins in instructions:
        if ins.op is Opcode.MVM:
            reads += ins["length"]
            beats += chip.beats(ins["length"], out_bits)
            inputs[ins["tile"]] = ins["length"]
        elif ins.op is Opcode.ACC:
            tiles = range(ins["tile"], ins["tile"] + ins["count"])
            writes += ins["length"]
            beats += (ins["count"] * chip.beats(ins["length"], result_width)
                      + chip.beats(ins["length"], out_bits))
            blocks += ins["count"]
            macs += ins["length"] * sum(inputs.pop(tile) for tile in tiles)
        elif ins.op is Opcode.MOVE:
            reads += ins["length"]
            writes += ins["length"]
            beats += chip.beats(ins["length"], out_bits)
    return ChipEvents(reads, writes, beats, blocks, macs)


def tile_inputs(chip, program, X):
    """``(outputs, inputs)``: the golden chip model's outputs for the integer images `X`,
    and ``{tile: (MVMs, rows) array}`` of the inputs it fed each tile.

    Raises
    ------
    ProgramError
        As :func:`~cimtile.models.chip_golden.run_chip`.
    """
    golden = golden_tiles(chip, program)
    fed = {}

    def mvm(tile, x):
        fed.setdefault(tile, []).append(x)
        return golden(tile, x)

    outputs, _ = run_chip(chip, program, X, mvm)
    return outputs, {tile: np.concatenate(xs) for tile, xs in sorted(fed.items())}


@dataclass(frozen=True)
class ChipPpa:
    """Energy of one image (averaged over a batch) and area of a chip.

    Members
    -------
    energy : Energy
        Items per image; ``total_pj`` is the energy per image.
    tile_energy : Energy
        The tiles' MVMs per image, by the tile model's items.
    area : dict
        Area (um2) by part: ``tiles`` (all of them), ``post_process``, ``stream_switch``,
        ``sequencer``, ``instruction_memory``, ``activation_memory``.
    ge : dict
        Gate equivalents of the post-processing unit, the stream switch and the sequencer.
    events : ChipEvents
    cycles_per_image : int
    images_per_s : float
    """
    energy: Energy
    tile_energy: Energy
    area: dict
    ge: dict
    events: ChipEvents
    cycles_per_image: int
    images_per_s: float

    @property
    def tops_per_w(self):
        """Two operations per multiply-accumulate of the network, per pJ."""
        return 2 * self.events.macs / self.energy.total_pj

    def sections(self):
        """``(energy, area)`` sections of ``cimtile compile --report``."""
        per_item = {item.name: item.as_dict() for item in self.energy.items}
        tiles = {item.name: item.pj for item in self.tile_energy.items}
        energy = {"per_image_pj": self.energy.total_pj, "tops_per_w": self.tops_per_w,
                  "macs_per_image": self.events.macs, "images_per_s": self.images_per_s,
                  "cycles_per_image": self.cycles_per_image, "breakdown": per_item,
                  "tiles_mvm_breakdown_pj": tiles}
        area = {"total_um2": math.fsum(self.area.values()), "parts_um2": dict(self.area),
                "ge": dict(self.ge)}
        return energy, area


def _tile_mvms(chip, program, inputs):
    """Energies of each tile's MVMs on its recorded inputs, and their busy cycles."""
    cfg = chip.tile
    area = tile_area(cfg)
    toggles = typical_toggles(cfg)
    energies, busy = [], 0
    for tile, X in inputs.items():
        activity = compute_activity(cfg, program.weights[tile], X,
                                    seed=int(program.seeds[tile]))
        energies.append(compute_energy(cfg, activity, digital_activity(area, toggles,
                                                                       activity.mvms)))
        busy += activity.busy_cycles
    return combined(energies), busy, area


def _check_inputs(chip, instructions, inputs, images):
    """Refuse inputs that are not those of `images` images run through `instructions`."""
    if not isinstance(images, int) or images < 1:
        raise ValueError(f"images must be a positive integer, not {images!r}")
    rows = chip.tile.tile.rows
    mvms = {}
    for ins in instructions:
        if ins.op is Opcode.MVM:
            mvms[ins["tile"]] = mvms.get(ins["tile"], 0) + images
    for tile in sorted(set(mvms) | set(inputs)):
        shape = np.shape(inputs.get(tile, np.zeros((0, rows))))
        if shape != (mvms.get(tile, 0), rows):
            raise ProgramError(f"the inputs of tile {tile} are shaped {shape}; the program's "
                               f"MVMs on it over {images} images take "
                               f"({mvms.get(tile, 0)}, {rows})")


def chip_ppa(chip, program, inputs, images):
    """The :class:`ChipPpa` of `program` on `chip` over `images` images whose tiles took
    `inputs` (``{tile: (MVMs, rows)}``, as :func:`tile_inputs` records them).

    Raises
    ------
    ProgramError
        If the program does not suit the chip
        (:func:`~cimtile.models.chip_golden.check_program`), or `inputs` are not what its
        MVMs take over `images` images (a tile's vectors or their width differ).
    ValueError
        If `images` is not a positive integer.
    """
    instructions = check_program(chip, program)
    _check_inputs(chip, instructions, inputs, images)
    fig = figures(chip.tile)
    events = chip_events(chip, program, instructions)
    cycles = schedule(chip, instructions).cycles
    tiles, busy, area = _tile_mvms(chip, program, inputs)
    mvms = sum(len(X) for X in inputs.values()) / images
    tile_leak = area.ge * fig.ge_leak_cycle_pj + sum(area.sram_bits.values()) \
        * fig.sram_leak_cycle_pj
    ge, macro_bits = block_ge(chip)
    program_bits = macro_bits["sequencer"]
    switch_share = ge["stream_switch"] / _switch_ports(chip)[1]
    act_bits = 8 * chip.element_bytes
    memory_bits = 8 * chip.chip.act_memory_bytes
    per_image = Energy(tuple(Item(item.name, item.count / images, item.unit, item.pj_per,
                                  item.pj / images) for item in tiles.items))
    items = (
        Item("tiles_mvm", mvms, "MVMs", per_image.total_pj / mvms if mvms else 0.0,
             per_image.total_pj),
        Item.of("tiles_idle_leakage", chip.chip.tiles * cycles - busy / images,
                "tile cycles not computing", tile_leak),
        Item.of("post_process_switching",
                events.row_blocks * EVENT_ACTIVITY * ge["post_process"],
                "gate-equivalent transitions", fig.ge_toggle_pj),
        Item.of("post_process_leakage", ge["post_process"] * cycles, "gate-equivalent cycles",
                fig.ge_leak_cycle_pj),
        Item.of("stream_switch_switching",
                events.switch_beats * EVENT_ACTIVITY * switch_share,
                "gate-equivalent transitions", fig.ge_toggle_pj),
        Item.of("stream_switch_leakage", ge["stream_switch"] * cycles,
                "gate-equivalent cycles", fig.ge_leak_cycle_pj),
        Item.of("sequencer_switching", len(instructions) * EVENT_ACTIVITY * ge["sequencer"],
                "gate-equivalent transitions", fig.ge_toggle_pj),
        Item.of("sequencer_leakage", ge["sequencer"] * cycles, "gate-equivalent cycles",
                fig.ge_leak_cycle_pj),
        Item.of("instruction_memory_read", len(instructions) * WORD_BITS * bool(program_bits),
                "bits read", fig.sram_read_pj),
        Item.of("instruction_memory_leakage", program_bits * cycles, "bit cycles",
                fig.sram_leak_cycle_pj),
        Item.of("activation_memory_read", events.sram_reads * act_bits, "bits read",
                fig.sram_read_pj),
        Item.of("activation_memory_write", events.sram_writes * act_bits, "bits written",
                fig.sram_write_pj),
        Item.of("activation_memory_leakage", memory_bits * cycles, "bit cycles",
                fig.sram_leak_cycle_pj),
    )
    parts = {"tiles": chip.chip.tiles * area.total_um2,
             "post_process": ge["post_process"] * fig.ge_um2,
             "stream_switch": ge["stream_switch"] * fig.ge_um2,
             "sequencer": ge["sequencer"] * fig.ge_um2,
             "instruction_memory": program_bits * fig.sram_bit_um2,
             "activation_memory": memory_bits * fig.sram_bit_um2}
    return ChipPpa(Energy(items), per_image, parts, ge, events, cycles,
                   chip.clock_mhz * 1e6 / max(cycles, 1))
