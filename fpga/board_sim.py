"""Co-simulation of the board core in Verilator, driven over its serial lines by the host
code of ``cimtile fpga run`` (see :mod:`cimtile.fpga.board_tb`)."""

import numpy as np

from ..tb.runner import run_testbench
from .top import CORE_TOP, core_verilog

__all__ = ["simulate_board"]

TB_MODULE = "cimtile.fpga.board_tb"


def simulate_board(cfg, *, divisor=8, timeout=4096, verbose=False):
    """Run the board test on the core of ``cfg`` with ``divisor`` cycles per UART bit.

    Returns
    -------
    (dict of str to numpy.ndarray, float, float)
        What the host read, the build time (0 when cached) and the wall time.
    """
    top = (lambda config: core_verilog(config, divisor=divisor, timeout=timeout), CORE_TOP)
    return run_testbench(cfg, TB_MODULE, {"divisor": np.array(divisor)}, top=top,
                         verbose=verbose)
