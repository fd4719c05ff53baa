"""The ``cimtile fpga`` command group: ``build`` (bitstream and report, of a tile or with
``--chip`` of a chip) and ``run`` (weights and inputs through a board's UART bridge).

Errors end with one line on stderr, ``cimtile: error: <message>``: status 2 for unusable
input, including a design that does not fit the device (naming the resource), a serial port
that cannot be opened, where no bridge answers, or whose board was built for another config;
status 1 for a toolchain failure or missed timing (the bitstream and report are still
written then), a board that fails mid-run, or results that differ from the golden model
(written all the same).
"""

import shutil
import tempfile
from pathlib import Path

import numpy as np

from cimtile.spec.config import load_config
from cimtile.spec.files import (EXIT_FAILURE, InputError, OutputFiles, check_paths, load_inputs,
                                load_weights, path_arg, print_error)

from .options import integer
from .summary import add_json_option, print_report, stage_json
from .verdicts import exit_status, verdict_line

__all__ = ["add_commands", "TIMEOUT_MAX"]

#: The longest ``fpga run --timeout``, seconds: longer waits are a board that is gone.
TIMEOUT_MAX = 3600


def _build_rows(report, out):
    return [("bitstream", str(out / report["bitstream"]), ""),
            *[(resource.upper(), report[resource], f"of {report[resource + '_available']:,}")
              for resource in ("lut", "ff", "bram", "dsp")],
            ("build time", report["build_s"], "s")]


def _cmd_build(args):
    from cimtile.fpga.build import BOARDS, FitError, FpgaBuildError, build_bitstream
    from cimtile.fpga.toolchain import ToolchainError
    from cimtile.fpga.top import BoardTop

    inputs = [(args.config, "--config")]
    check_paths(inputs, directories=[(args.out, "--out")])
    if args.chip:
        from cimtile.fpga.chip_top import ChipBoardTop
        from cimtile.spec.chip_config import load_chip_config
        config, top, prefix = load_chip_config(args.config), ChipBoardTop, "cimchip"
    else:
        config, top, prefix = load_config(args.config), BoardTop, "cimtile"
    board = BOARDS[args.board]
    if args.baud <= 0 or board.clock_hz // args.baud < 4:
        raise InputError(f"--baud {args.baud}: the {board.name} clock "
                         f"({board.clock_hz / 1e6:g} MHz) needs at least 4 cycles per bit")
    out = Path(args.out)
    with tempfile.TemporaryDirectory(prefix="cimtile-fpga-") as build_dir:
        try:
            report = build_bitstream(board, top(config, baud=args.baud), build_dir)
        except FitError as error:
            raise InputError(f"{args.config}: {error}") from None
        except (FpgaBuildError, ToolchainError) as error:
            return print_error(error, EXIT_FAILURE)
        built = Path(report["bitstream"])
        bitstream = out / f"{prefix}_{board.name}{built.suffix}"
        report.update(bitstream=bitstream.name, config=str(args.config), baud=args.baud,
                      chip=args.chip)
        with OutputFiles(inputs) as outputs:
            outputs.directory(out, "--out")
            with open(built, "rb") as source:
                outputs.stage(bitstream, "--out",
                              lambda file: shutil.copyfileobj(source, file))
            stage_json(outputs, out / "report.json", "--out", report)
    timing = (f"timing {'' if report['timing_met'] else 'not '}met on {board.name}: "
              f"{report['fmax_mhz']} MHz achieved, {report['clock_mhz']} MHz needed")
    print_report(args, report, f"{'PASS' if report['timing_met'] else 'FAIL'}: {timing}",
                 _build_rows(report, out))
    return 0 if report["timing_met"] else print_error(timing, EXIT_FAILURE)


def _cmd_run(args):
    from cimtile.models.golden import golden_verdict
    from cimtile.fpga.protocol import ProtocolError
    from cimtile.fpga.run import BoardError, BoardMismatch, connect, open_serial, run_weights

    inputs = [(args.config, "--config"), (args.weights, "--weights"),
              (args.inputs, "--inputs")]
    check_paths(inputs, [(args.out, "--out"), (args.report, "--report")])
    if args.baud <= 0:
        raise InputError(f"--baud must be positive, not {args.baud}")
    if not args.timeout > 0:
        raise InputError(f"--timeout must be positive, not {args.timeout}")
    if not args.timeout <= TIMEOUT_MAX:
        raise InputError(f"--timeout must be at most {TIMEOUT_MAX} seconds, not "
                         f"{args.timeout}")
    config = load_config(args.config)
    if config.analog.physical:
        raise InputError("the FPGA's crossbar emulator is ideal; the config has "
                         "analog.model = \"physical\"")
    W = load_weights(args.weights, config)
    X = load_inputs(args.inputs, config)
    import serial
    try:
        port = open_serial(args.port, args.baud, timeout=args.timeout)
    except (serial.SerialException, ValueError, OverflowError) as error:
        raise InputError(f"--port {args.port}: cannot open: {error}") from None
    with port:
        try:
            board = connect(port, config)
        except BoardMismatch as error:
            raise InputError(f"--port {args.port}: {error}") from None
        try:
            (Y,), _, report = run_weights(board, W, [X])
        except (BoardError, ProtocolError) as error:
            return print_error(f"--port {args.port}: {error}", EXIT_FAILURE)
    verdict = golden_verdict(config, W, X, Y, remap=report.get("remap"))
    report |= {"port": args.port, "baud": args.baud, **verdict.report()}
    with OutputFiles(inputs) as outputs:
        outputs.stage(args.out, "--out", lambda file: np.save(file, Y.astype(np.int64)))
        if args.report is not None:
            stage_json(outputs, args.report, "--report", report)
    print_report(args, report, verdict_line(verdict), [
        ("cells programmed", report["cells"], f"in {report['program_s']} s"),
        ("vectors", report["vectors"], f"in {report['compute_s']} s"),
        ("speed", report["mvm_per_s"], "MVM/s")])
    return exit_status(verdict)


def add_commands(commands):
    """Add the ``fpga`` group to the ``cimtile`` subparsers ``commands``."""
    from cimtile.fpga.build import BOARDS

    fpga = commands.add_parser("fpga", help="FPGA prototype: bitstreams and board runs")
    group = fpga.add_subparsers(dest="fpga_command", required=True, metavar="COMMAND",
                                parser_class=type(fpga))

    p = group.add_parser("build", help="build the bitstream of the tile (or, with --chip, "
                         "the chip) with the crossbar emulator and UART bridge")
    p.add_argument("--board", required=True, choices=sorted(BOARDS))
    p.add_argument("--config", type=path_arg, required=True, metavar="CFG.toml",
                   help="the tile's config, or with --chip the chip's")
    p.add_argument("--chip", action="store_true", help="build the chip host "
                   "(docs/chip_host.md) of the chip config CFG.toml, a crossbar emulator "
                   "per tile")
    p.add_argument("--out", type=path_arg, required=True, metavar="DIR",
                   help="directory for the bitstream and report.json (created if needed)")
    p.add_argument("--baud", type=integer, default=115200, help="UART bit rate "
                   "(default 115200)")
    add_json_option(p)
    p.set_defaults(run=_cmd_build)

    p = group.add_parser("run", help="program weights into a board by write-verify, compute "
                         "the inputs there and save the results")
    p.add_argument("--port", type=path_arg, required=True, metavar="DEV",
                   help="serial port of the board (e.g. /dev/ttyUSB1)")
    p.add_argument("--config", type=path_arg, required=True, metavar="CFG.toml",
                   help="the config the bitstream was built from")
    p.add_argument("--weights", type=path_arg, required=True, metavar="W.npy")
    p.add_argument("--inputs", type=path_arg, required=True, metavar="X.npy")
    p.add_argument("--out", type=path_arg, required=True, metavar="Y.npy")
    p.add_argument("--report", type=path_arg, metavar="R.json",
                   help="write the report as JSON")
    add_json_option(p)
    p.add_argument("--baud", type=integer, default=115200, help="UART bit rate, as built "
                   "(default 115200)")
    p.add_argument("--timeout", type=float, default=2.0, metavar="S",
                   help=f"seconds to wait for each answer, at most {TIMEOUT_MAX} "
                   "(default 2)")
    p.set_defaults(run=_cmd_run)
