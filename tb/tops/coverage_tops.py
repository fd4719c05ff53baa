"""The simulated tops of both drive modes with the coverage monitor in their checked top.

The checked host top with the monitor has the same ports as without it, so either drive
mode's top takes its Verilog as its checked-top source; the bulk top instantiates the
checked host top by its module name, from whichever source is beside it.
"""

import functools

from .bulk_top import bulk_design
from .host_top import checked_design, simulation_verilog

__all__ = ["COVERAGE_SOURCE", "DESIGNS", "COVERAGE_TOPS"]

#: The checked host top's Verilog with the coverage monitor.
COVERAGE_SOURCE = functools.partial(simulation_verilog, coverage=True)
#: The simulated top of each drive mode around a given checked-top source.
DESIGNS = {"vip": checked_design, "bulk": bulk_design}
#: The simulated top of each drive mode, as :func:`cimtile.tb.runs.host_runner.play` takes
#: them, with the coverage monitor.
COVERAGE_TOPS = {drive: design(COVERAGE_SOURCE) for drive, design in DESIGNS.items()}
