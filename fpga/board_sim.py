"""Co-simulation of the board core in Verilator, driven over its serial lines by the host
code of ``cimtile fpga run`` (see :mod:`cimtile.fpga.board_tb`)."""

import json

import numpy as np

from ..tb.runner import run_testbench
from .top import CORE_TOP, core_verilog

__all__ = ["simulate_board"]

TB_MODULE = "cimtile.fpga.board_tb"


def simulate_board(cfg, W, batches, *, divisor=8, timeout=4096, verbose=False):
    """Run the board session of :func:`cimtile.fpga.board_tb.session` on the core of
    ``cfg`` with ``divisor`` cycles per UART bit: weights ``W`` programmed by
    write-verify, then each input batch of ``batches`` computed.

    Returns
    -------
    (dict, float, float)
        What the host read (arrays; ``report`` decoded from JSON), the build time (0 when
        cached) and the wall time.
    """
    stimulus = {"divisor": np.array(divisor), "W": np.asarray(W, np.int64),
                "batches": np.array(len(batches))}
    stimulus |= {f"X{i}": np.asarray(X, np.int64) for i, X in enumerate(batches)}
    top = (lambda config: core_verilog(config, divisor=divisor, timeout=timeout), CORE_TOP)
    out, build_s, wall_s = run_testbench(cfg, TB_MODULE, stimulus, top=top, verbose=verbose)
    out["report"] = json.loads(str(out["report"]))
    return out, build_s, wall_s
