"""Co-simulation of the board core in Verilator, driven over its serial lines by the host
code of ``cimtile fpga run`` (see :mod:`cimtile.fpga.board_tb`): in the simulation's own
process (:func:`simulate_board`), or from another through a pseudo-terminal
(:func:`board_on_pty`)."""

import contextlib
import functools
import json
import shutil
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from ..tb.build.sim_top import Design
from ..tb.transport.exchange import SimulationError, run_testbench
from .top import CORE_TOP, core_ports, core_verilog

__all__ = ["simulate_board", "board_on_pty"]

TB_MODULE = "cimtile.fpga.board_tb"


def _core(divisor, timeout):
    """The board core with `divisor` cycles per UART bit as the simulated design."""
    return Design(CORE_TOP, (functools.partial(core_verilog, divisor=divisor, timeout=timeout),),
                  functools.partial(core_ports, divisor=divisor, timeout=timeout))


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
    top = _core(divisor, timeout)
    out, build_s, wall_s = run_testbench(cfg, TB_MODULE, stimulus, top=top, verbose=verbose)
    out["report"] = json.loads(str(out["report"]))
    return out, build_s, wall_s


@contextlib.contextmanager
def board_on_pty(cfg, *, divisor=8, timeout=4096, start_timeout=600.0):
    """The simulated board core of ``cfg`` behind a pseudo-terminal, for serial clients
    such as ``cimtile fpga run --port``.

    The simulation runs in a thread for as long as the ``with`` block lasts.

    Yields
    ------
    str
        The pseudo-terminal's path.

    Raises
    ------
    SimulationError
        The simulation ended with an error, or did not offer its terminal within
        ``start_timeout`` seconds (it builds first if needed).
    """
    folder = Path(tempfile.mkdtemp(prefix="cimtile-board-pty-"))
    top = _core(divisor, timeout)
    failure = []

    def simulate():
        try:
            run_testbench(cfg, TB_MODULE, {"divisor": np.array(divisor),
                                           "pty_folder": np.array(str(folder))}, top=top)
        except Exception as error:      # re-raised in the caller's thread
            failure.append(error)

    thread = threading.Thread(target=simulate, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not (folder / "port").exists():
        if failure or not thread.is_alive() or time.monotonic() > deadline:
            (folder / "stop").touch()
            thread.join()
            raise (failure[0] if failure
                   else SimulationError("the simulated board offered no terminal"))
        time.sleep(0.1)
    try:
        yield (folder / "port").read_text()
    finally:
        (folder / "stop").touch()
        thread.join()
        shutil.rmtree(folder, ignore_errors=True)
    if failure:
        raise failure[0]
