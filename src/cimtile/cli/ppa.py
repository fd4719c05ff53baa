"""The ``cimtile ppa`` command: area, energy per MVM, TOPS/W, latency and throughput of a
configuration on a representative random workload, co-simulated.

Bad input exits with status 2 and one line; a co-simulation that differs from the golden
model, or a failed build or synthesis, with status 1 (the report is written first in the
first case).
"""

from cimtile.spec.config import load_config
from cimtile.spec.files import InputError, OutputFiles, check_paths, path_arg

from .options import SEED_MAX, integer, seed_type
from .summary import add_json_option, print_report, stage_json
from .verdicts import exit_status, verdict_line

__all__ = ["add_commands", "PPA_VECTORS_MAX"]

#: The most random vectors ``ppa --n`` co-simulates: a workload, not a benchmark.
PPA_VECTORS_MAX = 10_000


def _cmd_ppa(args):
    from cimtile.flows.ppa.report import plot_ppa, ppa_text, ppa_workload
    inputs = [(args.config, "--config")]
    check_paths(inputs, [(args.report, "--report"), (args.plot, "--plot")])
    if not 1 <= args.n <= PPA_VECTORS_MAX:
        raise InputError(f"--n must be in 1..{PPA_VECTORS_MAX}, not {args.n}")
    cfg = load_config(args.config)
    report, verdict = ppa_workload(cfg, args.n, seed=args.seed, drive=args.drive,
                                   verbose=args.verbose)
    report |= {"config": str(args.config)}
    with OutputFiles(inputs) as outputs:
        if args.report is not None:
            stage_json(outputs, args.report, "--report", report)
        if args.plot is not None:
            png = plot_ppa(report)
            outputs.stage(args.plot, "--plot", lambda file: file.write(png))
    # The figures come with their breakdowns, laid out by ppa_text.
    print_report(args, report, f"{verdict_line(verdict)}\n{ppa_text(report)}", [])
    return exit_status(verdict)


def add_commands(commands):
    """Register ``ppa`` on the ``cimtile`` subcommand parser `commands`."""
    p = commands.add_parser("ppa", help="area, energy per MVM, TOPS/W, latency and "
                            "throughput on a random workload")
    p.add_argument("--config", type=path_arg, required=True, metavar="CFG.toml")
    p.add_argument("--report", type=path_arg, metavar="R.json", help="write every figure "
                   "and breakdown as JSON")
    add_json_option(p)
    p.add_argument("--plot", type=path_arg, metavar="P.png", help="stacked energy and area "
                   "breakdowns")
    p.add_argument("--n", type=integer, default=64, help="random vectors to co-simulate, "
                   f"1..{PPA_VECTORS_MAX} (default 64)")
    p.add_argument("--seed", type=seed_type(), default=0, help="workload and analog model "
                   f"seed, 0..{SEED_MAX} (default 0)")
    p.add_argument("--drive", choices=("bulk", "vip"), default="bulk",
                   help="co-simulation drive (see cimtile sim)")
    p.add_argument("-v", "--verbose", action="store_true", help="show the cocotb log")
    p.set_defaults(run=_cmd_ppa)
