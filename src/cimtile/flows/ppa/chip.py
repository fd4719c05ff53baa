"""Energy per image and area of a chip running a compiled program: its tiles and the chip
top's other blocks (:class:`~cimtile.hdl.chip.Chip`): the datapath's units, its
post-processing unit, its activation and parameter memories, and the sequencer.

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
- **Datapath.** :class:`~cimtile.hdl.chip_datapath.ChipDatapath` (with ``param_words`` of
  parameter memory) is synthesised to gate equivalents as :mod:`.area` synthesises a tile,
  cached the same way, and split by block: the post-processing unit, the activation
  memory (its banks and a read port per MVM unit and the mover), the parameter memory,
  and the rest (the MVM units, the ACC unit, the mover: ``datapath``). A memory of at
  least ``sram_min_bits`` bits is an SRAM macro, priced with the tile model's SRAM figures
  per bit read and written and leaking per bit; a smaller one is flip-flops among the
  gates. Switching is an assumption, not a measurement: every event switches
  :data:`EVENT_ACTIVITY` of the gate equivalents that carry it: the whole post-processing
  unit for each row block of partial sums it takes; one unit's share of the datapath's
  units (``tiles + 2`` of them) for each interconnect beat; one element's share of a
  memory's gates for each element read or written. Everything leaks over the image's
  cycles.
- **Sequencer.** :class:`ChipSequencer` with ``program_words`` of instruction memory,
  synthesised the same way; its memory is an SRAM macro when it has at least
  ``sram_min_bits`` bits (else flip-flops among its gates). Each instruction issued reads
  one word and switches :data:`EVENT_ACTIVITY` of the sequencer's gates (an assumption,
  as above); loading the program is once per program, not per image, and not counted.
  Logic and memory leak over the image's cycles.
- **The image's cycles.** Images overlap in runs of as many as the chip's memories hold
  (:mod:`cimtile.models.chip_batch`): an image's cycles are its run's over its images.
- **Memory accesses.** Every activation an MVM or MOVE reads and every one an ACC or MOVE
  writes, the host's image written and its scores read; every multiplier and bias an ACC
  reads.

Not counted: the chip's host interface, which has no RTL yet.
"""

import math
from dataclasses import dataclass

import numpy as np
from amaranth.back import verilog

from cimtile.hdl.chip_datapath import ChipDatapath
from cimtile.hdl.chip_sequencer import ChipSequencer
from cimtile.models.chip_golden import ProgramError, check_program, golden_tiles, run_chip
from cimtile.models.chip_batch import image_batch
from cimtile.spec.chip_isa import WORD_BITS, Opcode
from cimtile.tb.build.elaboration import elaborated

from .activity import compute_activity
from .area import gate_equivalents, synthesise, tile_area
from .digital import digital_activity, typical_toggles
from .energy import Energy, Item, combined, compute_energy
from .figures import figures

__all__ = ["EVENT_ACTIVITY", "DATAPATH_TOP", "SEQUENCER_TOP", "datapath_verilog",
           "sequencer_verilog", "BLOCKS", "block_ge", "ChipEvents", "chip_events",
           "tile_inputs", "ChipPpa", "chip_ppa"]

#: Gate-equivalent transitions per gate equivalent that carries an event: fresh random
#: operands flip each gate output with probability one half (glitches not counted).
EVENT_ACTIVITY = 0.5

DATAPATH_TOP, SEQUENCER_TOP = "chip_datapath", "chip_sequencer"
#: The datapath's blocks, by their submodule in :class:`ChipDatapath`; the rest of it is
#: ``datapath``.
BLOCKS = {"post_process": "post_process", "activation_memory": "activations",
          "parameter_memory": "params"}


def datapath_verilog(chip):
    """Verilog of the chip's datapath, with ``param_words`` of parameter memory."""
    datapath = ChipDatapath(chip, param_depth=chip.chip.param_words)
    return verilog.convert(datapath, name=DATAPATH_TOP, emit_src=False)


def sequencer_verilog(chip):
    """Verilog of the chip's sequencer: its tiles, ``program_words`` of instructions."""
    sequencer = ChipSequencer(tiles=chip.chip.tiles, depth=chip.chip.program_words,
                              buffers=chip.chip.result_buffers)
    return verilog.convert(sequencer, name=SEQUENCER_TOP, emit_src=False)


def _within(module, name):
    return module == name or module.startswith(f"{name}.")


def _block_of(module):
    """The block a synthesised module belongs to: the sequencer, a block of
    :data:`BLOCKS`, or the rest of the datapath."""
    if _within(module, SEQUENCER_TOP):
        return "sequencer"
    return next((block for block, name in BLOCKS.items()
                 if _within(module, f"{DATAPATH_TOP}.{name}")), "datapath")


def block_ge(chip):
    """``(ge, macro_bits)``: gate equivalents of the datapath's blocks (:data:`BLOCKS` and
    the rest, ``datapath``) and of the sequencer, synthesised (and cached) as
    :func:`~.area.tile_area` synthesises a tile, and the bits of each one's memories left
    as SRAM macros."""
    ge = dict.fromkeys([*BLOCKS, "datapath", "sequencer"], 0.0)
    macro_bits = dict.fromkeys(ge, 0)
    for source, top in ((datapath_verilog, DATAPATH_TOP), (sequencer_verilog, SEQUENCER_TOP)):
        netlist = synthesise(elaborated(source, chip), top, chip.tile.ppa.sram_min_bits)
        for module, cells in netlist.cells.items():
            ge[_block_of(module)] += gate_equivalents(cells)
        for name, bits in netlist.sram_bits.items():
            macro_bits[_block_of(name.partition("/")[0])] += bits
    return ge, macro_bits


@dataclass(frozen=True)
class ChipEvents:
    """What one image's program does outside the tiles, counted from its instructions.

    Members
    -------
    act_reads, act_writes : int
        Activations read from and written to the activation memory: MVM inputs, MOVE
        sources and the scores the host reads; ACC outputs, MOVE destinations and the
        image the host writes.
    param_reads : int
        Multipliers and biases the ACCs read (one pair per output).
    beats : int
        Interconnect beats the datapath's units move: an MVM's inputs, an ACC's partial
        sums from each of its tiles and its outputs, a MOVE's values
        (:mod:`cimtile.models.chip_timing`).
    row_blocks : int
        Partial-sum transfers into the post-processing unit: an ACC's tiles.
    macs : int
        Multiply-accumulates of the network: each ACC's outputs times the inputs of the
        MVMs whose results it adds.
    """
    act_reads: int
    act_writes: int
    param_reads: int
    beats: int
    row_blocks: int
    macs: int


def chip_events(chip, program, instructions):
    """The :class:`ChipEvents` of `program`'s decoded `instructions` on `chip`."""
    out_bits, result_width = chip.chip.out_bits, chip.tile.result_width
    reads, writes = program.output_length, program.input_length
    params = beats = blocks = macs = 0
    inputs = {}
    for ins in instructions:
        if ins.op is Opcode.MVM:
            reads += ins["length"]
            beats += chip.beats(ins["length"], out_bits)
            inputs[ins["tile"]] = ins["length"]
        elif ins.op is Opcode.ACC:
            tiles = range(ins["tile"], ins["tile"] + ins["count"])
            writes += ins["length"]
            params += ins["length"]
            beats += (ins["count"] * chip.beats(ins["length"], result_width)
                      + chip.beats(ins["length"], out_bits))
            blocks += ins["count"]
            macs += ins["length"] * sum(inputs.pop(tile) for tile in tiles)
        elif ins.op is Opcode.MOVE:
            reads += ins["length"]
            writes += ins["length"]
            beats += chip.beats(ins["length"], out_bits)
    return ChipEvents(reads, writes, params, beats, blocks, macs)


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
        Area (um2) by part: ``tiles`` (all of them), ``datapath``, ``post_process``,
        ``activation_memory``, ``parameter_memory``, ``sequencer`` and
        ``instruction_memory``, each block's gates and SRAM macros together.
    ge : dict
        Gate equivalents of those blocks (:func:`block_ge`).
    macro_bits : dict
        Bits of their SRAM macros.
    events : ChipEvents
    cycles_per_image : float
        A run's cycles over its images.
    images_per_s : float
    """
    energy: Energy
    tile_energy: Energy
    area: dict
    ge: dict
    macro_bits: dict
    events: ChipEvents
    cycles_per_image: float
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
                "ge": dict(self.ge), "sram_bits": dict(self.macro_bits)}
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


def _memory_items(name, reads, writes, bits, elements, ge, macro_bits, fig):
    """A memory's access energy: per bit read and written of its SRAM macros, and one
    element's share of its gates switching per element read or written."""
    sram = bool(macro_bits[name])
    return [Item.of(f"{name}_read", reads * bits * sram, "bits read", fig.sram_read_pj),
            Item.of(f"{name}_write", writes * bits * sram, "bits written", fig.sram_write_pj),
            Item.of(f"{name}_switching", (reads + writes) * EVENT_ACTIVITY * ge[name] / elements,
                    "gate-equivalent transitions", fig.ge_toggle_pj)]


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
    batch = image_batch(chip, program)
    cycles = batch.timing.cycles / batch.images
    tiles, busy, area = _tile_mvms(chip, program, inputs)
    mvms = sum(len(X) for X in inputs.values()) / images
    tile_leak = area.ge * fig.ge_leak_cycle_pj + sum(area.sram_bits.values()) \
        * fig.sram_leak_cycle_pj
    ge, macro_bits = block_ge(chip)
    per_image = Energy(tuple(Item(item.name, item.count / images, item.unit, item.pj_per,
                                  item.pj / images) for item in tiles.items))
    units = chip.chip.tiles + 2
    param_bits = chip.chip.mult_bits + chip.chip.bias_bits
    items = [
        Item("tiles_mvm", mvms, "MVMs", per_image.total_pj / mvms if mvms else 0.0,
             per_image.total_pj),
        Item.of("tiles_idle_leakage", chip.chip.tiles * cycles - busy / images,
                "tile cycles not computing", tile_leak),
        Item.of("post_process_switching",
                events.row_blocks * EVENT_ACTIVITY * ge["post_process"],
                "gate-equivalent transitions", fig.ge_toggle_pj),
        Item.of("datapath_switching", events.beats * EVENT_ACTIVITY * ge["datapath"] / units,
                "gate-equivalent transitions", fig.ge_toggle_pj),
        *_memory_items("activation_memory", events.act_reads, events.act_writes,
                       chip.chip.out_bits, chip.act_elements, ge, macro_bits, fig),
        *_memory_items("parameter_memory", events.param_reads, 0, param_bits,
                       chip.chip.param_words, ge, macro_bits, fig),
        Item.of("sequencer_switching", len(instructions) * EVENT_ACTIVITY * ge["sequencer"],
                "gate-equivalent transitions", fig.ge_toggle_pj),
        Item.of("instruction_memory_read",
                len(instructions) * WORD_BITS * bool(macro_bits["sequencer"]), "bits read",
                fig.sram_read_pj),
        *(Item.of(f"{block}_leakage", ge[block] * cycles, "gate-equivalent cycles",
                  fig.ge_leak_cycle_pj) for block in ge),
        *(Item.of("instruction_memory_leakage" if block == "sequencer"
                  else f"{block}_sram_leakage", macro_bits[block] * cycles, "bit cycles",
                  fig.sram_leak_cycle_pj) for block in ge),
    ]
    items = tuple(item for item in items if item.count)
    parts = {"tiles": chip.chip.tiles * area.total_um2}
    parts |= {block: ge[block] * fig.ge_um2 for block in ("datapath", *BLOCKS, "sequencer")}
    for block in BLOCKS:
        parts[block] += macro_bits[block] * fig.sram_bit_um2
    parts["instruction_memory"] = macro_bits["sequencer"] * fig.sram_bit_um2
    return ChipPpa(Energy(items), per_image, parts, ge, macro_bits, events, cycles,
                   chip.clock_mhz * 1e6 / max(cycles, 1))
