"""``cimtile verilog`` and ``cimtile regmap``: the tile's Verilog, and its or a chip host's
register map as Markdown or a C header, generated from a configuration."""

from cimtile.spec.config import load_config
from cimtile.spec.files import OutputFiles, check_paths, path_arg

__all__ = ["add_commands"]


def _cmd_verilog(args):
    from cimtile.hdl.host import host_verilog
    from cimtile.hdl.tile import verilog_source
    inputs = [(args.config, "--config")]
    check_paths(inputs, [(args.output, "-o")])
    cfg = load_config(args.config)
    text = (host_verilog if args.top == "host" else verilog_source)(cfg)
    with OutputFiles(inputs) as outputs:
        outputs.stage(args.output, "-o", lambda file: file.write(text.encode()))


def _cmd_regmap(args):
    inputs = [(args.config, "--config")]
    check_paths(inputs, [(args.out, "--out")])
    if args.chip:
        from cimtile.spec.chip_config import load_chip_config
        from cimtile.spec.chip_regmap_docs import c_header, markdown
        cfg = load_chip_config(args.config)
    else:
        from cimtile.spec.regmap import c_header, markdown
        cfg = load_config(args.config)
    text = {"md": markdown, "c": c_header}[args.format](cfg)
    with OutputFiles(inputs) as outputs:
        outputs.stage(args.out, "--out", lambda file: file.write(text.encode()))


def add_commands(commands):
    """Add ``verilog`` and ``regmap`` to the ``cimtile`` subparsers ``commands``."""
    p = commands.add_parser("verilog", help="write the tile's Verilog")
    p.add_argument("--config", type=path_arg, required=True, metavar="CFG.toml")
    p.add_argument("-o", "--output", type=path_arg, required=True, metavar="tile.v")
    p.add_argument("--top", choices=("host", "tile"), default="host",
                   help="host: the tile behind AXI4-Lite and AXI4-Stream (module cim_host, "
                   "default); tile: the bare tile core (module cim_tile)")
    p.set_defaults(run=_cmd_verilog)

    p = commands.add_parser("regmap", help="the host register map as Markdown or a C header")
    p.add_argument("--config", type=path_arg, required=True, metavar="CFG.toml")
    p.add_argument("--format", required=True, choices=("md", "c"))
    p.add_argument("--out", type=path_arg, required=True, metavar="FILE")
    p.add_argument("--chip", action="store_true", help="--config is a chip: the chip host's "
                   "register map (docs/chip_registers.md, docs/cimtile_chip_regs.h are the "
                   "demo chip's)")
    p.set_defaults(run=_cmd_regmap)
