"""``cimtile sweep``: golden-model error over a grid of parameter values, as CSV and plots,
with co-simulated spot checks (``--cosim``) and energy, area and speed (``--ppa``)."""

from pathlib import Path

from cimtile.spec.config import load_config
from cimtile.spec.files import InputError, OutputFiles, check_paths, path_arg

from .options import MAX_VECTORS, SEED_MAX, add_cluster_options, integer, seed_type
from .summary import add_json_option, print_report, stage_json
from .verdicts import exit_status, verdict_line

__all__ = ["add_commands"]


def _summary(out, files, rows, verdicts):
    """The report (the files written and the spot checks' verdicts), its first line and
    its figures."""
    paths = [str(out / name) for name in files]
    report = {"points": len(rows), "csv": paths[0], "plots": paths[1:]}
    first = f"sweep of {len(rows)} points (no co-simulated spot checks)"
    if verdicts:
        golden, sweep = verdicts
        report |= golden.report("cosim_golden") | {"cosim_equals_sweep": sweep.ok}
        first = verdict_line(*verdicts)
    figures = [("points", len(rows), ""), ("table", paths[0], ""),
               ("plots", len(paths) - 1, f"in {out}")]
    return report, first, figures


def _cmd_sweep(args):
    from cimtile.flows.engine import EngineError, progress_bar
    from cimtile.flows.sweep import SweepError, parse_param, run_sweep, sweep_files, sweep_points
    inputs = [(args.config, "--config")]
    check_paths(inputs, [(args.report, "--report")], directories=[(args.out, "--out")])
    if not 1 <= args.n <= MAX_VECTORS:
        raise InputError(f"--n must be in 1..{MAX_VECTORS}, not {args.n}")
    cfg = load_config(args.config)
    try:
        params = [parse_param(spec) for spec in args.param]
        points = sweep_points(cfg, params)
    except SweepError as error:
        raise InputError(str(error)) from None
    keys = [key for key, _ in params]
    with progress_bar("sweep", len(points)) as advance:
        try:
            rows, verdicts = run_sweep(points, n=args.n, seed=args.seed, cosim=args.cosim,
                                       workers=args.workers, scheduler=args.scheduler,
                                       dashboard=args.dashboard, progress=advance)
        except EngineError as error:
            raise InputError(str(error)) from None
    files = sweep_files(rows, points, keys, ppa=args.ppa, n=args.n, seed=args.seed)
    out = Path(args.out)
    report, first, figures = _summary(out, files, rows, verdicts)
    with OutputFiles(inputs) as outputs:
        outputs.directory(out, "--out")
        for name, data in files.items():
            outputs.stage(out / name, "--out", lambda file, data=data: file.write(data))
        if args.report is not None:
            stage_json(outputs, args.report, "--report", report)
    print_report(args, report, first, figures)
    return exit_status(*verdicts)


def add_commands(commands):
    """Add ``sweep`` to the ``cimtile`` subparsers ``commands``."""
    p = commands.add_parser("sweep", help="golden-model error over a grid of parameter "
                            "values: CSV and plots")
    p.add_argument("--config", type=path_arg, required=True, metavar="CFG.toml")
    p.add_argument("--param", required=True, action="append", metavar="TABLE.KEY=V1,V2,...",
                   help="a swept key and its values (repeat for a grid), e.g. "
                   "analog.read_noise=0,0.01,0.02")
    p.add_argument("--out", type=path_arg, required=True, metavar="DIR",
                   help="directory for sweep.csv and error_vs_KEY.png (created if needed)")
    p.add_argument("--report", type=path_arg, metavar="R.json",
                   help="write the report (files written, spot checks) as JSON")
    add_json_option(p)
    p.add_argument("--cosim", action="store_true", help="also co-simulate a few vectors of "
                   "every point and check them against the golden model")
    p.add_argument("--ppa", action="store_true", help="also energy per MVM, TOPS/W, area, "
                   "MVM time and GOPS/s/mm2 of every point (each distinct tile synthesised "
                   "once), plotted in ppa_vs_KEY.png, error_vs_energy.png and pareto.png")
    p.add_argument("--n", type=integer, default=256, help="random input vectors per point, "
                   f"1..{MAX_VECTORS} (default 256)")
    p.add_argument("--seed", type=seed_type(SEED_MAX), default=0, help="data and analog "
                   f"model seed, 0..{SEED_MAX} (default 0)")
    add_cluster_options(p, min_workers=0)
    p.set_defaults(run=_cmd_sweep)
