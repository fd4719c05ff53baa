"""``cimtile formal``: the formal checks on a user's configuration.

Prints one line per check (see :mod:`.checks`), and after a failure the broken rules, a
cycle table and the path of the counterexample trace. Errors end with one line on stderr,
``cimtile: error: <message>``: status 2 for unusable input (the configuration, ``--depth``,
``--out``), status 1 for a property that fails or a tool that cannot run.
"""

import sys
from pathlib import Path

__all__ = ["add_commands", "EXIT_FAILURE", "EXIT_BAD_INPUT"]

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


def _error(message, status):
    print(f"cimtile: error: {message}", file=sys.stderr)
    return status


def _cmd_formal(args):
    from ..config import load_config
    from .checks import run_checks
    from .sby import FormalToolError

    config = load_config(args.config)
    if args.depth is not None and args.depth < 1:
        return _error(f"--depth must be a positive integer, not {args.depth}", EXIT_BAD_INPUT)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        return _error(f"{out}: --out must be a directory", EXIT_BAD_INPUT)
    modes = ("bmc", "prove", "cover") if args.prove else ("bmc", "cover")
    try:
        results = run_checks(config, sets=args.set, modes=modes, depth=args.depth, out=out)
    except FormalToolError as error:
        return _error(str(error), EXIT_FAILURE)
    failed = [r for r in results if not r.passed]
    if failed:
        return _error(f"{len(failed)} of {len(results)} formal checks failed: "
                      + ", ".join(f"{r.name} ({r.mode})" for r in failed), EXIT_FAILURE)
    return 0


def add_commands(commands):
    """Add the ``formal`` command to the ``cimtile`` subparsers ``commands``."""
    from .checks import PROPERTY_SETS

    p = commands.add_parser("formal", help="formal checks of the RTL with SymbiYosys: AXI "
                            "protocol rules of every port, tile invariants")
    p.add_argument("--config", required=True, metavar="CFG.toml")
    p.add_argument("--depth", type=int, metavar="N", help="steps of every bounded check and "
                   "cover (default: each property set's own, from the config's timing)")
    p.add_argument("--prove", action="store_true", help="also prove the AXI4-Lite register "
                   "block by k-induction (unbounded)")
    p.add_argument("--set", action="append", choices=sorted(PROPERTY_SETS), metavar="NAME",
                   help="check only this property set (repeat for several): "
                   + ", ".join(PROPERTY_SETS))
    p.add_argument("--out", default="build/formal", metavar="DIR", help="work directory; "
                   "counterexample traces are kept there (default build/formal)")
    p.set_defaults(run=_cmd_formal)
