"""Option types of the ``cimtile`` commands: every number checked, with its range, when the
command line is parsed.

Each type raises :class:`argparse.ArgumentTypeError` with the allowed range, which the
command line turns into one line naming the option (exit status 2), before any work.
"""

import argparse
import math

__all__ = ["MAX_VECTORS", "MAX_WORKERS", "SEED_MAX", "add_cluster_options", "bounded_int",
           "integer", "seconds", "seed_type"]

#: The largest seed: the simulator receives it as an int64.
SEED_MAX = 2**63 - 1
#: The most random vectors ``bench --mvms`` and ``sweep --n`` make: their int64 operands
#: stay under a gigabyte even for the largest tile (1024 rows).
MAX_VECTORS = 100_000
#: Processes a local Dask cluster may start.
MAX_WORKERS = 64
#: The longest time budget, seconds (a week).
MAX_SECONDS = 7 * 24 * 3600


def integer(text):
    """An integer written in ASCII digits with an optional sign (``int`` would also take
    ``'٣'``, ``'1_0'`` or spaces)."""
    digits = text[1:] if text[:1] in "+-" else text
    if not (digits.isascii() and digits.isdigit()):
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}")
    return int(text)


def bounded_int(low, high):
    """An :func:`integer` option in ``low..high``."""
    def parse(text):
        value = integer(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be in {low}..{high}, not {value}")
        return value
    return parse


def seed_type(limit=SEED_MAX):
    """A seed in ``0..limit``."""
    return bounded_int(0, limit)


def seconds(text):
    """A finite, positive number of seconds up to :data:`MAX_SECONDS`."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number of seconds: {text!r}") from None
    if not (math.isfinite(value) and 0 < value <= MAX_SECONDS):
        raise argparse.ArgumentTypeError(f"must be a number of seconds in (0, {MAX_SECONDS}], "
                                         f"not {text!r}")
    return value


def _address(text):
    from cimtile.flows.engine import check_address
    try:
        return check_address(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_cluster_options(parser, *, min_workers):
    """``--workers``, ``--scheduler`` and ``--dashboard`` of a command that runs on Dask."""
    parser.add_argument("--workers", type=bounded_int(min_workers, MAX_WORKERS), default=2,
                        metavar="N", help=f"processes of the local Dask cluster, "
                        f"{min_workers}..{MAX_WORKERS} (default 2"
                        + ("; 0 runs the jobs here)" if min_workers == 0 else ")"))
    parser.add_argument("--scheduler", type=_address, default=None, metavar="ADDRESS",
                        help="an existing Dask scheduler ([tcp://]HOST:PORT) instead")
    parser.add_argument("--dashboard", type=_address, nargs="?", const="127.0.0.1:8787",
                        default=None, metavar="ADDRESS", help="serve the local cluster's "
                        "dashboard (default address 127.0.0.1:8787; another port if taken)")

