"""The ``cimtile fpga`` command group: ``build`` (bitstream and report) and ``run`` (weights
and inputs through a board's UART bridge).

Errors end with one line on stderr, ``cimtile: error: <message>``: status 2 for unusable
input, including a design that does not fit the device (naming the resource), a serial port
that cannot be opened, where no bridge answers, or whose board was built for another config;
status 1 for a toolchain failure or missed timing (the bitstream and report are still
written then), a board that fails mid-run, or results that differ from the golden model
(written all the same).
"""

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

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


def _cmd_run(args):
    # The array loaders and atomic writes are the main CLI's, so that every command
    # validates and writes its files alike.
    from ..cli import (InputError, _AtomicWrites, _check_outputs, _load_inputs,
                       _load_weights, _stage_json)
    from ..config import load_config
    from ..golden import golden_mvm
    from .protocol import ProtocolError
    from .run import BoardError, BoardMismatch, connect, open_serial, run_weights

    config = load_config(args.config)
    if config.analog.physical:
        raise InputError("the FPGA's crossbar emulator is ideal; the config has "
                         "analog.model = \"physical\"")
    W = _load_weights(args.weights, config)
    X = _load_inputs(args.inputs, config)
    _check_outputs((args.out, "--out"), (args.report, "--report"))
    if args.baud <= 0:
        raise InputError(f"--baud must be positive, not {args.baud}")
    if not args.timeout > 0:
        raise InputError(f"--timeout must be positive, not {args.timeout}")
    import serial
    try:
        port = open_serial(args.port, args.baud, timeout=args.timeout)
    except (serial.SerialException, ValueError) as error:
        raise InputError(f"--port {args.port}: cannot open: {error}") from None
    with port:
        try:
            board = connect(port, config)
        except BoardMismatch as error:
            raise InputError(f"--port {args.port}: {error}") from None
        try:
            (Y,), _, report = run_weights(board, W, [X])
        except (BoardError, ProtocolError) as error:
            return _error(f"--port {args.port}: {error}", EXIT_FAILURE)
    mismatches = int(np.any(Y != golden_mvm(config, W, X), axis=1).sum())
    report |= {"port": args.port, "baud": args.baud, "golden_mismatches": mismatches}
    with _AtomicWrites() as writes:
        writes.stage(args.out, lambda file: np.save(file, Y.astype(np.int64)))
        if args.report is not None:
            _stage_json(writes, args.report, report)
    print(json.dumps(report, indent=2))
    if mismatches:
        return _error(f"{mismatches} of {len(X)} results differ from the golden model",
                      EXIT_FAILURE)
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

    p = group.add_parser("run", help="program weights into a board by write-verify, compute "
                         "the inputs there and save the results")
    p.add_argument("--port", required=True, metavar="DEV", help="serial port of the board "
                   "(e.g. /dev/ttyUSB1)")
    p.add_argument("--config", required=True, metavar="CFG.toml",
                   help="the config the bitstream was built from")
    p.add_argument("--weights", required=True, metavar="W.npy")
    p.add_argument("--inputs", required=True, metavar="X.npy")
    p.add_argument("--out", required=True, metavar="Y.npy")
    p.add_argument("--report", metavar="R.json", help="write the report as JSON")
    p.add_argument("--baud", type=int, default=115200, help="UART bit rate, as built "
                   "(default 115200)")
    p.add_argument("--timeout", type=float, default=2.0, metavar="S",
                   help="seconds to wait for each answer (default 2)")
    p.set_defaults(run=_cmd_run)
