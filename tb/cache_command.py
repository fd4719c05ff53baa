"""The ``cimtile cache`` command group: ``info`` (entries, sizes, last use, total and cap of
the Verilator build cache) and ``clear`` (remove every entry no process is using).

An unusable cache root or size cap (``$CIMTILE_CACHE``, ``$CIMTILE_CACHE_MAX_MB``) ends with
one line on stderr, ``cimtile: error: <message>``, and status 2.
"""

import sys
import time

from .cache import CacheError, cache_clear, cache_info, cache_root

__all__ = ["add_commands"]

EXIT_BAD_INPUT = 2


def _megabytes(size):
    return f"{size / (1 << 20):.1f} MB"


def _entries(count):
    return f"{count} entr{'y' if count == 1 else 'ies'}"


def _cmd_info(args):
    info = cache_info()
    print(f"{info.root}: {_entries(len(info.entries))}, {_megabytes(info.total)} of "
          f"{_megabytes(info.cap)}")
    for entry in info.entries:
        last_use = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(entry.last_use))
        partial = "" if entry.complete else "  partial"
        print(f"  {entry.path.name}  {_megabytes(entry.size):>10}  last used {last_use}"
              f"{partial}")


def _cmd_clear(args):
    removed, kept = cache_clear()
    in_use = f"; kept {len(kept)} in use" if kept else ""
    print(f"{cache_root()}: removed {_entries(len(removed))} "
          f"({_megabytes(sum(entry.size for entry in removed))}){in_use}")


def _reporting_errors(command):
    def run(args):
        try:
            command(args)
        except CacheError as error:
            print(f"cimtile: error: {error}", file=sys.stderr)
            return EXIT_BAD_INPUT
        return 0
    return run


def add_commands(commands):
    """Add the ``cache`` group to the ``cimtile`` subparsers ``commands``."""
    cache = commands.add_parser("cache", help="the Verilator build cache: list or clear it")
    group = cache.add_subparsers(dest="cache_command", required=True, metavar="COMMAND",
                                 parser_class=type(cache))
    p = group.add_parser("info", help="entries with their size and last use, the total and "
                         "the cap ($CIMTILE_CACHE_MAX_MB)")
    p.set_defaults(run=_reporting_errors(_cmd_info))
    p = group.add_parser("clear", help="remove every entry that no simulation or build is "
                         "using")
    p.set_defaults(run=_reporting_errors(_cmd_clear))
