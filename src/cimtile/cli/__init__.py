"""The ``cimtile`` command: Verilog generation, golden model, co-simulation, benchmark,
parameter sweeps, demo.

Every command is a module of this package with ``add_commands(subparsers)``; this module
builds the parser from them and runs :func:`main`.

Bad input (arguments, configuration, weights, inputs, unreadable files, outputs that cannot
be written or that name an input) ends with exit status 2 and one line on stderr,
``cimtile: error: <message>``, naming the option, field or file; it is refused before any
work starts. Outputs are written atomically once everything has succeeded, so a failed run
leaves nothing behind. A failed build or simulation ends with status 1; so does a
co-simulation whose results differ from the golden model, after writing them and the report.
An interrupt (SIGINT) ends with status 130 and ``cimtile: interrupted``, SIGTERM with 143 and
``cimtile: terminated``, leaving no output either.

A command with a report prints a short summary, its verdict first; ``--json`` prints the
whole report as JSON instead, the JSON ``--report FILE`` writes.
"""

import argparse

from cimtile.flows.process_tree import exit_status_on_interrupt
from cimtile.spec.config import ConfigError
from cimtile.spec.files import EXIT_BAD_INPUT, EXIT_FAILURE, InputError, print_error
from cimtile.spec.mapping import DataError
from cimtile.tb.build.build import BuildError
from cimtile.tb.transport.exchange import SimulationError

from . import (bench, cache, chip, formal, fpga, generate, golden, network, ppa, program,
               regress, sim, sweep)
from .options import MAX_VECTORS, SEED_MAX

__all__ = ["main", "MAX_VECTORS", "SEED_MAX"]

#: The command modules, in the order ``cimtile --help`` lists their commands.
COMMANDS = (generate, golden, sim, program, bench, sweep, network, chip, fpga, cache, formal,
            regress, ppa)


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise InputError(f"{message} (see {self.prog} --help)")


def _parser():
    parser = _Parser(prog="cimtile", description="Memristive compute-in-memory tile: RTL "
                     "generation, golden model and co-simulation.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                     parser_class=_Parser)
    for module in COMMANDS:
        module.add_commands(commands)
    return parser


def main(argv=None):
    """Run the ``cimtile`` command line; return the exit status."""
    return exit_status_on_interrupt("cimtile", lambda: _run(argv))


def _run(argv):
    try:
        args = _parser().parse_args(argv)
        return args.run(args) or 0
    except (InputError, ConfigError, DataError) as error:
        return print_error(error, EXIT_BAD_INPUT)
    except (BuildError, SimulationError) as error:
        return print_error(error, EXIT_FAILURE)
