"""``cimtile program``: program the weights into the co-simulated tile by write-verify,
optionally repairing columns on spares, against the golden program-and-verify."""

import numpy as np

from cimtile.spec.config import load_config
from cimtile.spec.files import InputError, OutputFiles, check_paths, load_weights, path_arg

from .options import SEED_MAX, seed_type
from .summary import add_json_option, print_report, stage_json
from .verdicts import exit_status, verdict_line

__all__ = ["add_commands"]


def _rows(report):
    rows = [("cells", report["cells"], f"({report['converged']:,} converged, "
             f"{len(report['failed']):,} failed)"),
            ("pulses per cell", report["pulses_mean"], f"(at most {report['pulses_max']})"),
            ("total cycles", report["cycles_total"], ""),
            ("wall time", report["wall_s"], f"s (build {report['build_s']:.2f} s)"),
            ("energy per cell", report["energy"]["per_cell_pj"], "pJ")]
    if "repaired_columns" in report:
        rows += [("repaired columns", len(report["repaired_columns"]), ""),
                 ("spares used", len(report["spares_used"]), ""),
                 ("unrepaired cells", len(report["unrepaired_cells"]), "")]
    return rows


def _cmd_program(args):
    from cimtile.flows.program_report import plot_programming, program_weights
    from cimtile.flows.programmed_state import load_faults
    from cimtile.spec.mapping import weight_levels
    inputs = [(args.config, "--config"), (args.weights, "--weights"),
              (args.faults, "--faults")]
    check_paths(inputs, [(args.report, "--report"), (args.plot, "--plot"),
                         (args.state, "--state")])
    cfg = load_config(args.config)
    if args.repair and not cfg.tile.spare_cols:
        raise InputError(f"{args.config}: --repair needs spare columns ([tile] spare_cols "
                         ">= 1)")
    levels = weight_levels(load_weights(args.weights, cfg), cfg)
    shape = (cfg.tile.rows, cfg.cols_phys)
    faults = (np.zeros(shape, np.int64) if args.faults is None
              else load_faults(args.faults, cfg))
    done = program_weights(cfg, levels, faults, seed=args.seed, drive=args.drive,
                           with_repair=args.repair, verbose=args.verbose)
    with OutputFiles(inputs) as outputs:
        stage_json(outputs, args.report, "--report", done.report)
        if args.plot is not None:
            outputs.stage(args.plot, "--plot", lambda file: plot_programming(
                file, cfg, *done.plotted, done.window))
        if args.state is not None:
            outputs.stage(args.state, "--state", lambda file: np.savez(
                file, conductance=done.conductance, window=np.array(done.window),
                remap=done.remap))
    print_report(args, done.report, verdict_line(done.verdict), _rows(done.report))
    return exit_status(done.verdict)


def add_commands(commands):
    """Add ``program`` to the ``cimtile`` subparsers ``commands``."""
    p = commands.add_parser("program", help="program the weights into the co-simulated "
                            "tile by write-verify")
    p.add_argument("--config", type=path_arg, required=True, metavar="CFG.toml")
    p.add_argument("--weights", type=path_arg, required=True, metavar="W.npy")
    p.add_argument("--faults", type=path_arg, metavar="F.npy",
                   help="stuck-at map (rows, cols_phys): 0 healthy, 1 stuck at g_min, 2 stuck "
                   "at g_max")
    p.add_argument("--report", type=path_arg, required=True, metavar="R.json")
    add_json_option(p)
    p.add_argument("--plot", type=path_arg, metavar="P.png",
                   help="pulse histogram and target-vs-programmed conductance")
    p.add_argument("--state", type=path_arg, metavar="S.npz",
                   help="programmed conductances, for cimtile sim --programmed")
    p.add_argument("--seed", type=seed_type(SEED_MAX), default=0, help="device model "
                   f"seed, 0..{SEED_MAX} (default 0)")
    p.add_argument("--drive", choices=("bulk", "vip"), default="bulk",
                   help="bulk: targets, cell results and the device's answers cross into the "
                   "simulator in bulk, every request checked in RTL (default); vip: "
                   "cocotbext-axi drives every beat and the device model answers every read "
                   "and pulse from Python (same results, same cycles)")
    p.add_argument("--repair", action="store_true", help="repair the columns with failed "
                   "cells on spare columns (needs [tile] spare_cols): reports "
                   "repaired_columns, spares_used and unrepaired_cells")
    p.add_argument("-v", "--verbose", action="store_true", help="show the cocotb log")
    p.set_defaults(run=_cmd_program)
