"""The chip as a simulated design: the tile's Verilog, converted once, the chip top
instantiating it for every tile, and around the chip the rings that program its tiles.

Programming a tile cell by cell from Python would wake the testbench for every target,
verify read, pulse and result. Here, as in the tile's bulk top (:mod:`.bulk_top`), each
tile's write-verify runs against committed Verilog parts (``verilog/bulk_*.v``) that the
testbench fills and drains a ring half at a time:

- a target player (``bulk_player``) drives the tile's ``t_stream`` (ring files
  ``bulk_target<t>_*.bin``);
- a cell queue (``bulk_cell_queue``) holds every verify read and pulse the golden
  program-and-verify says the tile must make, checks each request as the tile makes it and
  answers the reads (``bulk_cell<t>_*.bin``; ``bulk__cell<t>_error`` on the first
  difference);
- a result recorder (``bulk_recorder``) takes the tile's ``r_stream`` (dumped to
  ``bulk_result<t>_*.hex``).

Ring entries are numbered from reset and never rebased (every base is 0). The chip's other
ports (the host's, each tile's analog sample port and settings) are the top's own, and
``bulk__cycle`` counts cycles from reset.
"""

from dataclasses import dataclass

from ..build.sim_top import Design, Port, signature_ports
from .bulk_layout import Layout
from .bulk_top import BULK_FILES, Part, module_text

__all__ = ["ChipRings", "CHIP_RINGS", "TOP", "chip_ports", "target_fields_of", "result_fields_of",
           "chip_bulk_ports", "chip_bulk_verilog", "CHIP_DESIGN"]

TOP = "cim_chip_bulk"
#: The tile ports the rings take over.
_RINGED = ("t_stream__", "r_stream__", "analog__cell__")
_PARTS = ("bulk_ring.v", "bulk_player.v", "bulk_recorder.v", "bulk_cell_queue.v")


@dataclass(frozen=True)
class ChipRings:
    """Half sizes of each tile's programming rings, in entries: a tile of 32 x 384 cells
    programs in about 100,000 reads and pulses, so its cell queue is refilled a few times
    per pass."""
    target_half: int = 16384
    cell_half: int = 65536
    result_half: int = 16384


CHIP_RINGS = ChipRings()


def chip_ports(chip):
    """The ports of the chip top of `chip` (a :class:`~cimtile.spec.chip_config.ChipConfig`)."""
    from cimtile.hdl.chip import Chip
    return signature_ports(Chip(chip))


def target_fields_of(cfg):
    """(name, width) of a target player entry of a tile of `cfg`: a level."""
    return [("tdata", cfg.tile.bits_per_cell), ("tkeep", 1), ("tlast", 1)]


def result_fields_of(cfg):
    """(name, width) of a result recorder entry: a cell's result and its cycle."""
    from cimtile.hdl.write_verify import RESULT_LAYOUT
    return [("tdata", RESULT_LAYOUT.size), ("tkeep", 1), ("tlast", 1), ("cycle", 32)]


def _offsets(fields):
    offsets, width = Layout.offsets(fields)
    return width, {f"{name.upper()}_AT": at for name, (at, _) in offsets.items()}


def _ring_in(prefix, used):
    return {port: Port(f"bulk__{prefix}_{port}", direction, width) for port, direction, width in
            (("count", "input", 32), ("load0", "input", 1), ("load1", "input", 1),
             (used, "output", 32), ("hungry", "output", 1))}


def _tile_parts(chip, t, rings, names):
    """The rings of tile `t`; `names` are the chip's port names (a cell port of no bits is
    absent, and tied to zero)."""
    tile, layout = f"tile{t}__", Layout.of(chip.tile)
    cell = {port: f"{tile}analog__cell__{port}" for port in
            ("read", "pulse", "polarity", "amplitude", "width", "row", "col", "read_code")}
    cell = {port: net if net in names else "1'b0" for port, net in cell.items()}
    stream = lambda name: {f"{p}": f"{tile}{name}__{q}" for p, q in      # noqa: E731
                           (("valid", "valid"), ("ready", "ready"), ("data", "payload"))}
    target_w, target_at = _offsets(target_fields_of(chip.tile))
    result_w, result_at = _offsets(result_fields_of(chip.tile))
    cell_offsets, cell_w = Layout.offsets(layout.cell_fields)
    sizes = dict(layout.cell_fields)
    common = {"clk": "clk", "rst": "rst"}
    return [
        Part("bulk_player", f"target{t}",
             {"HALF": rings.target_half, "DATA_W": chip.tile.tile.bits_per_cell, "KEEP_W": 1,
              "BEAT_W": target_w, **target_at, "NAME": f"bulk_target{t}"},
             common | {"pause_on": "1'b0", "pause": "1'b0", "base": "32'd0", "keep": "",
                       "last": ""} | stream("t_stream"),
             _ring_in(f"target{t}", "sent")),
        Part("bulk_cell_queue", f"cell{t}",
             {"HALF": rings.cell_half, "ENTRY_W": cell_w,
              "REQUEST_W": cell_offsets["code"][0], "ROW_W": sizes["row"],
              "COL_W": sizes["col"], "AMPLITUDE_W": sizes["amplitude"],
              "WIDTH_W": sizes["width"], "ADC_BITS": sizes["code"],
              **{f"{name.upper()}_AT": at for name, (at, _) in cell_offsets.items()},
              "NAME": f"bulk_cell{t}"},
             common | {"cycle": "bulk__cycle", "base": "32'd0"} | cell,
             _ring_in(f"cell{t}", "used") | {
                 port: Port(f"bulk__cell{t}_{port}", "output", width) for port, width in (
                     ("error", 1), ("error_kind", 2), ("error_index", 32),
                     ("error_cycle", 32), ("error_seen", cell_offsets["code"][0]),
                     ("error_expected", cell_offsets["code"][0]))}),
        Part("bulk_recorder", f"result{t}",
             {"HALF": rings.result_half, "DATA_W": result_fields_of(chip.tile)[0][1], "KEEP_W": 1,
              "OUT_W": result_w, **result_at, "NAME": f"bulk_result{t}"},
             common | {"cycle": "bulk__cycle", "pause_on": "1'b0", "pause": "1'b0",
                       "base": "32'd0", "keep": "1'b1", "last": "1'b0", "frames": "",
                       "frame_end": ""} | stream("r_stream"),
             {port: Port(f"bulk__result{t}_{port}", direction, width)
              for port, direction, width in (("drained", "input", 32), ("dump0", "input", 1),
                                             ("dump1", "input", 1), ("full", "output", 1),
                                             ("taken", "output", 32))}),
    ]


def _top(chip, rings):
    """``(ports, wires, parts)`` of the chip's simulated top."""
    inner = chip_ports(chip)
    names = {port.name for port in inner}
    parts = [part for t in range(chip.chip.tiles) for part in _tile_parts(chip, t, rings, names)]
    ringed = [port for port in inner if any(port.name.startswith(f"tile{t}__{prefix}")
                                            for t in range(chip.chip.tiles)
                                            for prefix in _RINGED)]
    ports = [port for port in inner if port not in ringed]
    ports += [Port("bulk__cycle", "output", 32)]
    ports += [top for part in parts for top in part.own.values()]
    chip_part = Part("cim_chip", "chip", {}, {port.name: port.name for port in inner}, {})
    return ports, ringed, [chip_part, *parts]


def chip_bulk_ports(chip, rings=CHIP_RINGS):
    """The ports of the chip's simulated top (module ``cim_chip_bulk``)."""
    return _top(chip, rings)[0]


def chip_bulk_verilog(chip, rings=CHIP_RINGS):
    """Verilog of the chip's simulated top (module ``cim_chip_bulk``): the chip (module
    ``cim_chip``) and each tile's programming rings."""
    ports, wires, parts = _top(chip, rings)
    return module_text(TOP, ports, wires, parts, [
        "  reg [31:0] cycle_r;",
        "  always @(posedge clk) cycle_r <= rst ? 32'd0 : cycle_r + 32'd1;",
        "  assign bulk__cycle = cycle_r;"])


def _tile_verilog(chip):
    from cimtile.hdl.tile import verilog_source
    return verilog_source(chip.tile)


def _chip_verilog(chip):
    from cimtile.hdl.chip import verilog_source
    from cimtile.hdl.tile import TOP_NAME
    return verilog_source(chip, tile_module=TOP_NAME)


#: The chip's simulated top, each tile's analog sample port answered by the testbench.
CHIP_DESIGN = Design(TOP, (_tile_verilog, _chip_verilog, chip_bulk_verilog), chip_bulk_ports,
                     tuple(path for path in BULK_FILES if path.name in _PARTS))
