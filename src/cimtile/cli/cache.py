"""The ``cimtile cache`` command group: ``info`` (entries, sizes, last use, total and cap of
the build cache: Verilator builds and syntheses) and ``clear`` (remove every entry no
process is using).

An unusable cache root or size cap (``$CIMTILE_CACHE``, ``$CIMTILE_CACHE_MAX_MB``) ends with
one line on stderr, ``cimtile: error: <message>``, and status 2. An entry ``clear`` could
not remove gets a line of its own on stderr, and the status is 1.
"""

import sys
import time

from cimtile.tb.build.cache import CacheError, cache_clear, cache_info, cache_root

__all__ = ["add_commands"]

EXIT_FAILURE = 1
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
        print(f"  {entry.path.relative_to(info.root)}  {_megabytes(entry.size):>10}  last "
              f"used {last_use}{partial}")


def _cmd_clear(args):
    removed, kept, failed = cache_clear()
    report = [f"removed {_entries(len(removed))} "
              f"({_megabytes(sum(entry.size for entry in removed))})"]
    if kept:
        report.append(f"kept {len(kept)} in use")
    if failed:
        report.append(f"could not remove {len(failed)} "
                      f"({_megabytes(sum(entry.size for entry, _ in failed))})")
    print(f"{cache_root()}: {'; '.join(report)}")
    for entry, reason in failed:
        print(f"cimtile: error: could not remove {entry.path}: {reason}", file=sys.stderr)
    return EXIT_FAILURE if failed else 0


def _reporting_errors(command):
    def run(args):
        try:
            return command(args) or 0
        except CacheError as error:
            print(f"cimtile: error: {error}", file=sys.stderr)
            return EXIT_BAD_INPUT
    return run


def add_commands(commands):
    """Add the ``cache`` group to the ``cimtile`` subparsers ``commands``."""
    cache = commands.add_parser("cache", help="the build cache (Verilator builds, syntheses): "
                                "list or clear it")
    group = cache.add_subparsers(dest="cache_command", required=True, metavar="COMMAND",
                                 parser_class=type(cache))
    p = group.add_parser("info", help="entries (builds and syntheses) with their size and "
                         "last use, the total and the cap ($CIMTILE_CACHE_MAX_MB)")
    p.set_defaults(run=_reporting_errors(_cmd_info))
    p = group.add_parser("clear", help="remove every entry that no simulation or build is "
                         "using")
    p.set_defaults(run=_reporting_errors(_cmd_clear))
