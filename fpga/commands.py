"""The ``cimtile fpga`` command group: ``build`` (bitstream and report) and ``run`` (weights
and inputs through a board's UART bridge).

Errors end with one line on stderr, ``cimtile: error: <message>``: status 2 for unusable
input, including a design that does not fit the device (naming the resource), status 1 for
a toolchain failure or missed timing (the bitstream and report are still written then).
"""

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

__all__ = ["add_commands"]

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


def _error(message, status):
    print(f"cimtile: error: {message}", file=sys.stderr)
    return status


def _publish(src, dst):
    """Copy ``src`` next to ``dst`` and rename it into place, so ``dst`` is whole or
    absent."""
    tmp = dst.with_name(f".{dst.name}.tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def _cmd_build(args):
    from ..config import load_config
    from .build import BOARDS, FitError, FpgaBuildError, build_bitstream
    from .toolchain import ToolchainError
    from .top import BoardTop

    config = load_config(args.config)
    board = BOARDS[args.board]
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        return _error(f"{out}: --out must be a directory", EXIT_BAD_INPUT)
    if args.baud <= 0 or board.clock_hz // args.baud < 4:
        return _error(f"--baud {args.baud}: the {board.name} clock "
                      f"({board.clock_hz / 1e6:g} MHz) needs at least 4 cycles per bit",
                      EXIT_BAD_INPUT)
    with tempfile.TemporaryDirectory(prefix="cimtile-fpga-") as build_dir:
        try:
            report = build_bitstream(board, BoardTop(config, baud=args.baud), build_dir)
        except FitError as error:
            return _error(f"{args.config}: {error}", EXIT_BAD_INPUT)
        except (FpgaBuildError, ToolchainError) as error:
            return _error(str(error), EXIT_FAILURE)
        out.mkdir(parents=True, exist_ok=True)
        bitstream = out / f"cimtile_{board.name}{Path(report['bitstream']).suffix}"
        _publish(report["bitstream"], bitstream)
    report.update(bitstream=bitstream.name, config=str(args.config), baud=args.baud)
    tmp = out / ".report.json.tmp"
    tmp.write_text(json.dumps(report, indent=2) + "\n")
    os.replace(tmp, out / "report.json")
    print(json.dumps(report, indent=2))
    if not report["timing_met"]:
        return _error(f"timing not met on {board.name}: {report['fmax_mhz']} MHz achieved, "
                      f"{report['clock_mhz']} MHz needed", EXIT_FAILURE)
    return 0


def add_commands(commands):
    """Add the ``fpga`` group to the ``cimtile`` subparsers ``commands``."""
    from .build import BOARDS

    fpga = commands.add_parser("fpga", help="FPGA prototype: bitstreams and board runs")
    group = fpga.add_subparsers(dest="fpga_command", required=True, metavar="COMMAND",
                                parser_class=type(fpga))

    p = group.add_parser("build", help="build the bitstream of the tile with the crossbar "
                         "emulator and UART bridge")
    p.add_argument("--board", required=True, choices=sorted(BOARDS))
    p.add_argument("--config", required=True, metavar="CFG.toml")
    p.add_argument("--out", required=True, metavar="DIR", help="directory for the "
                   "bitstream and report.json (created if needed)")
    p.add_argument("--baud", type=int, default=115200, help="UART bit rate "
                   "(default 115200)")
    p.set_defaults(run=_cmd_build)
