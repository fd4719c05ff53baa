"""``cimtile formal``: the formal checks on a user's configuration.

Prints one line per check (see :mod:`.checks`), and after a failure the broken rules, a
cycle table and the path of the counterexample trace. Errors end with one line on stderr,
``cimtile: error: <message>``: status 2 for unusable input (the configuration, ``--depth``,
``--out``), refused before any tool runs; status 1 for a property that fails or a tool that
cannot run. ``--depth`` is bounded by :func:`~.checks.max_depth`, so that a mistyped depth
is refused rather than unrolled for days. An interrupted run ends every tool process it
started and removes their temporary files (see :func:`~.sby.run_sby`).
"""

from pathlib import Path

from cimtile.spec.config import load_config
from cimtile.spec.files import EXIT_FAILURE, InputError, check_paths, path_arg, print_error

__all__ = ["add_commands"]


def _cmd_formal(args):
    from cimtile.flows.formal.checks import DEPTH_FACTOR, max_depth, run_checks
    from cimtile.flows.formal.sby import FormalToolError

    check_paths([(args.config, "--config")], directories=[(args.out, "--out")])
    config = load_config(args.config)
    limit = max_depth(config)
    if args.depth is not None and not 1 <= args.depth <= limit:
        raise InputError(f"--depth must be in 1..{limit} for this configuration "
                         f"({DEPTH_FACTOR} times its deepest default check), not {args.depth}")
    modes = ("bmc", "prove", "cover") if args.prove else ("bmc", "cover")
    try:
        results = run_checks(config, sets=args.set, modes=modes, depth=args.depth,
                             out=Path(args.out))
    except FormalToolError as error:
        return print_error(error, EXIT_FAILURE)
    failed = [r for r in results if not r.passed]
    if failed:
        return print_error(f"{len(failed)} of {len(results)} formal checks failed: "
                           + ", ".join(f"{r.name} ({r.mode})" for r in failed), EXIT_FAILURE)
    return 0


def add_commands(commands):
    """Add the ``formal`` command to the ``cimtile`` subparsers ``commands``."""
    from cimtile.flows.formal.checks import DEPTH_FACTOR, PROPERTY_SETS

    p = commands.add_parser("formal", help="formal checks of the RTL with SymbiYosys: AXI "
                            "protocol rules of every port, tile invariants")
    p.add_argument("--config", type=path_arg, required=True, metavar="CFG.toml")
    p.add_argument("--depth", type=int, metavar="N", help="steps of every bounded check and "
                   "cover (default: each property set's own, from the config's timing; at "
                   f"most {DEPTH_FACTOR} times the deepest of those)")
    p.add_argument("--prove", action="store_true", help="also prove the AXI4-Lite register "
                   "block by k-induction (unbounded)")
    p.add_argument("--set", action="append", choices=sorted(PROPERTY_SETS), metavar="NAME",
                   help="check only this property set (repeat for several): "
                   + ", ".join(PROPERTY_SETS))
    p.add_argument("--out", type=path_arg, default="build/formal", metavar="DIR",
                   help="work directory; counterexample traces are kept there (default "
                   "build/formal)")
    p.set_defaults(run=_cmd_formal)
