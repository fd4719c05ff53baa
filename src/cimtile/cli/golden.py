"""``cimtile golden``: the results of the golden model, and with ``--report`` or ``--json``
their error against ``X @ W``."""

import numpy as np

from cimtile.spec.config import load_config
from cimtile.spec.files import OutputFiles, check_paths, load_inputs, load_weights, path_arg

from .options import SEED_MAX, seed_type
from .summary import add_json_option, error_rows, print_report, stage_json

__all__ = ["add_commands"]


def _cmd_golden(args):
    from cimtile.flows.batch import golden_batch
    inputs = [(args.config, "--config"), (args.weights, "--weights"),
              (args.inputs, "--inputs")]
    check_paths(inputs, [(args.out, "--out"), (args.report, "--report")])
    cfg = load_config(args.config)
    W = load_weights(args.weights, cfg)
    X = load_inputs(args.inputs, cfg)
    Y, report = golden_batch(cfg, W, X, args.seed)
    with OutputFiles(inputs) as outputs:
        outputs.stage(args.out, "--out", lambda file: np.save(file, Y))
        if args.report is not None:
            stage_json(outputs, args.report, "--report", report)
    if args.report is not None or args.json:
        print_report(args, report, f"golden model: {report['mvms']} vectors in "
                     f"{report['wall_s']} s", error_rows(report))


def add_commands(commands):
    """Add ``golden`` to the ``cimtile`` subparsers ``commands``."""
    p = commands.add_parser("golden", help="results of the golden model")
    p.add_argument("--config", type=path_arg, required=True, metavar="CFG.toml")
    p.add_argument("--weights", type=path_arg, required=True, metavar="W.npy")
    p.add_argument("--inputs", type=path_arg, required=True, metavar="X.npy")
    p.add_argument("--out", type=path_arg, required=True, metavar="Y.npy")
    p.add_argument("--seed", type=seed_type(SEED_MAX), default=0, help="analog model "
                   f"seed, 0..{SEED_MAX} (default 0)")
    p.add_argument("--report", type=path_arg, metavar="R.json",
                   help="write the error against X @ W as JSON (and print its summary)")
    add_json_option(p)
    p.set_defaults(run=_cmd_golden)
