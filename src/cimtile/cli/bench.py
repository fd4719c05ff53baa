"""``cimtile bench``: co-simulation speed against its C++ ceiling, the all-RTL emulator and
the golden model; over tile sizes with ``--sizes``; peak memory of ``cimtile sim`` with
``--memory``."""

import json
import re
import sys

from cimtile.spec.config import load_config, reference_config
from cimtile.spec.files import EXIT_FAILURE, InputError, OutputFiles, check_paths, path_arg

from .options import MAX_VECTORS, integer
from .summary import add_json_option, print_report, stage_json
from .verdicts import exit_status, verdict_line

__all__ = ["add_commands"]

#: The longest run ``bench --memory`` measures.
MAX_STREAMED = 10_000_000


def _progress(row):
    print(json.dumps(row), file=sys.stderr)


def _speed_rows(report):
    rows = [("co-simulation", report["cosim_mvm_per_s"], "MVM/s (bulk drive)"),
            ("VIP drive", report["vip_mvm_per_s"], "MVM/s"),
            ("ceiling", report["ceiling_mvm_per_s"], "MVM/s (C++ main)"),
            ("co-simulation / ceiling", report["cosim_to_ceiling"], "")]
    if "emulator_mvm_per_s" in report:
        rows.append(("all-RTL emulator", report["emulator_mvm_per_s"], "MVM/s"))
    if "ideal_mvm_per_s" in report:
        rows += [("ideal model", report["ideal_mvm_per_s"], "MVM/s"),
                 ("bit plane", report["plane_us"], "us (macro request)")]
    return rows + [("golden model", report["golden_mvm_per_s"], "MVM/s"),
                   ("wake-ups per MVM", report["wakeups_per_mvm"], "")]


def _size_rows(report):
    return [(f"{row['rows']} x {row['cols']}", row["bulk_mvm_per_s"],
             f"MVM/s (ceiling {row['ceiling_mvm_per_s']:,.0f}, VIP "
             f"{row['vip_mvm_per_s']:,.0f})") for row in report["sizes"]]


def _memory_rows(report):
    return [(f"{run['vectors']:,} vectors", run["peak_mb"],
             f"MB peak ({run['wall_s']} s, status {run['status']})")
            for run in report["runs"]] + [("last peak / first", report["peak_ratio"], "")]


def _memory_lengths(text):
    if not re.fullmatch(r"[0-9]+(,[0-9]+)*", text):
        raise InputError(f"--memory must be vector counts separated by commas, not {text!r}")
    lengths = [int(n) for n in text.split(",")]
    if any(not 1 <= n <= MAX_STREAMED for n in lengths):
        raise InputError(f"--memory: every count must be in 1..{MAX_STREAMED}")
    return lengths


def _finish(args, report, first, rows):
    with OutputFiles([(args.config, "--config")]) as outputs:
        if args.report is not None:
            stage_json(outputs, args.report, "--report", report)
    print_report(args, report, first, rows)


def _cmd_bench(args):
    from cimtile.flows.bench import VIP_BENCH_MVMS, bench_report, size_table
    from cimtile.flows.sweep import config_with
    check_paths([(args.config, "--config")], [(args.report, "--report")])
    if not 2 <= args.mvms <= MAX_VECTORS:
        raise InputError(f"--mvms must be in 2..{MAX_VECTORS}, not {args.mvms}")
    cfg = reference_config() if args.config is None else load_config(args.config)
    if args.analog is not None:
        cfg = config_with(cfg, {"analog.model": args.analog})
    if args.memory is not None:
        from cimtile.flows.memory_bench import memory_report
        from cimtile.spec.config import REFERENCE_CONFIG
        lengths = _memory_lengths(args.memory)
        report = memory_report(cfg, args.config or REFERENCE_CONFIG, lengths, _progress)
        failed = [run for run in report["runs"] if run["status"]]
        first = (f"FAIL: {len(failed)} of {len(report['runs'])} runs failed" if failed
                 else f"PASS: {len(report['runs'])} runs")
        _finish(args, report, first, _memory_rows(report))
        return EXIT_FAILURE if failed else 0
    if args.sizes:
        rows, verdict = size_table(cfg, args.mvms, min(args.mvms, VIP_BENCH_MVMS),
                                   progress=_progress)
        report = {"analog": cfg.analog.model, "mvms": args.mvms, "sizes": rows}
        _finish(args, report, verdict_line(verdict), _size_rows(report))
        return exit_status(verdict)
    report, verdict = bench_report(cfg, args.mvms, verbose=args.verbose)
    _finish(args, report, verdict_line(verdict), _speed_rows(report))
    return exit_status(verdict)


def add_commands(commands):
    """Add ``bench`` to the ``cimtile`` subparsers ``commands``."""
    p = commands.add_parser("bench", help="co-simulation against its C++ ceiling, all-RTL "
                            "emulator and golden-model speed")
    p.add_argument("--config", type=path_arg, metavar="CFG.toml",
                   help="default: the reference tile")
    p.add_argument("--mvms", type=integer, default=4000, help="vectors to co-simulate, "
                   f"2..{MAX_VECTORS} (default 4000)")
    p.add_argument("--analog", choices=("ideal", "physical"), help="analog model (default: "
                   "the config's); physical also co-simulates the ideal one for comparison "
                   "and times single bit-plane requests")
    p.add_argument("--sizes", action="store_true", help="tabulate build time, MVM/s and "
                   "cycles/s per drive and of the ceiling, and Python wake-ups per MVM over "
                   "tile sizes from 128 x 16 to 1024 x 256 (minutes: two builds per size)")
    p.add_argument("--memory", metavar="N1,N2,...", help="peak memory of the process tree "
                   "of cimtile sim on N1, N2, ... random vectors streamed from a file, and "
                   "the last peak over the first")
    p.add_argument("--report", type=path_arg, metavar="R.json",
                   help="write the report as JSON")
    add_json_option(p)
    p.add_argument("-v", "--verbose", action="store_true", help="show the cocotb log")
    p.set_defaults(run=_cmd_bench)
