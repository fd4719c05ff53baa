"""Run a cocotb testbench on a cached build, exchanging data with it through files.

Data crosses the process boundary as ``.npz`` files: the stimulus goes in through a path
in the simulator's environment (``$CIMTILE_TB_IN``), and the testbench writes its results
to another (``$CIMTILE_TB_OUT``). Both live in a temporary directory (``cimtile-sim-*``
under ``$TMPDIR``), removed after the run, or when this process is interrupted (the
simulator, in a process group of its own, is killed then); a failed run keeps its log there.
"""

import dataclasses
import json
import shutil
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np

from ..build.build import building, waves_format
from ..build.sim_top import TOPLEVEL
from ..build.verilator import get_runner
from ..build.cache import verify

__all__ = ["ENV_IN", "ENV_OUT", "SimulationError", "run_testbench"]

#: Environment variables naming the stimulus and results files of a testbench.
ENV_IN = "CIMTILE_TB_IN"
ENV_OUT = "CIMTILE_TB_OUT"


class SimulationError(RuntimeError):
    """The co-simulation failed; the message carries the testbench's error.

    Members
    -------
    abnormal : bool
        The simulator ended without a test's verdict (a crash, not a failed check).
    """

    def __init__(self, message, *, abnormal=False):
        super().__init__(message)
        self.abnormal = abnormal


# Simulator environment (a variable already set in this process wins):
# - cocotb rewrites the asserts of every module imported in the simulator by default
#   (amaranth, numpy, scipy...), which costs seconds per run when the rewritten modules
#   cannot be cached; only the testbench modules need it;
# - the analog model multiplies one plane at a time, too little work for BLAS threads,
#   whose spinning would take CPU from the single-threaded simulation.
_SIM_ENV = {
    "COCOTB_ANSI_OUTPUT": "0",
    "COCOTB_REWRITE_ASSERTION_FILES": "*_tb.py",
    "OPENBLAS_NUM_THREADS": "1",
}


def _tail(path, lines=15):
    try:
        text = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(text[-lines:])


def _failure_message(results_xml, log):
    """``(message, verdict)``: the failures a test reported (``verdict`` true), else the
    log's tail."""
    messages = []
    try:
        root = ElementTree.parse(results_xml).getroot()
    except (OSError, ElementTree.ParseError):
        root = None
    if root is not None:
        for element in root.iter():
            if element.tag in ("failure", "error"):
                kind = element.get("type")
                text = element.get("message") or ""
                messages.append(f"{kind}: {text}" if kind else text)
    verdict = bool(messages)
    if not verdict:
        messages.append("simulation terminated abnormally:\n" + _tail(log))
    return "; ".join(messages) + f" (log: {log})", verdict


def run_testbench(cfg, test_module, stimulus, *, waves=None, verbose=False, top=None):
    """Run a cocotb test module on the (cached) build of the tile of `cfg`.

    The test module finds `stimulus`, plus ``config`` (the JSON of `cfg`), in the ``.npz``
    file named by ``$CIMTILE_TB_IN``, and writes its results to the one named by
    ``$CIMTILE_TB_OUT``.

    Parameters
    ----------
    cfg : Config
    test_module : str
        Dotted name of the cocotb test module.
    stimulus : dict of str to array-like
    waves : path, optional
        Record a waveform there, FST or VCD by the file name (uses a separate, traced
        build).
    verbose : bool
        Show cocotb's log on the terminal instead of keeping it in a file.
    top : Design, optional
        Another simulated design, as for :func:`cimtile.tb.build.build.building`.

    Returns
    -------
    (dict of str to numpy.ndarray, float, float)
        The results, the build time (0 when cached) and the simulation's wall time.

    Raises
    ------
    BuildError
    SimulationError
        If a test failed or the simulator ended abnormally; the message holds the failure
        and the path of the kept log.
    """
    # A simulator that dies without a test's verdict may be a damaged build whose size and
    # time still match: its hash is checked again, and a damaged build is rebuilt once.
    for attempt in range(2):
        with building(cfg, waves=None if waves is None else waves_format(waves),
                      top=top) as (build_dir, build_s):
            work = Path(tempfile.mkdtemp(prefix="cimtile-sim-"))
            try:
                out, wall_s = _exchange(cfg, test_module, stimulus, build_dir, work, waves,
                                        verbose)
            except SimulationError as error:
                if error.abnormal and attempt == 0 and verify(build_dir) is not None:
                    shutil.rmtree(work, ignore_errors=True)
                    continue
                raise
            except BaseException:
                shutil.rmtree(work, ignore_errors=True)
                raise
        shutil.rmtree(work, ignore_errors=True)
        return out, build_s, wall_s


def _exchange(cfg, test_module, stimulus, build_dir, work, waves, verbose):
    """Write the stimulus into `work`, run the simulator there and return its results and
    wall time."""
    stimulus_file, results, log = work / "stimulus.npz", work / "results.npz", work / "sim.log"
    np.savez(stimulus_file, config=np.array(json.dumps(dataclasses.asdict(cfg))), **stimulus)
    test_args = ["--trace-file", str(Path(waves).resolve())] if waves is not None else []
    runner = get_runner()
    start = time.perf_counter()
    try:
        runner.test(test_module=test_module, hdl_toplevel=TOPLEVEL, hdl_toplevel_lang="verilog",
                    build_dir=build_dir, test_dir=work, results_xml=str(work / "results.xml"),
                    extra_env={ENV_IN: str(stimulus_file), ENV_OUT: str(results),
                               **_SIM_ENV},
                    waves=waves is not None, test_args=test_args,
                    log_file=None if verbose else log)
        failed = False
    except (RuntimeError, SystemExit):
        if runner.interrupted:
            raise
        failed = True
    wall_s = time.perf_counter() - start
    if not failed:
        from cocotb_tools.check_results import get_results
        try:
            failed = get_results(work / "results.xml")[1] > 0
        except RuntimeError:
            failed = True
    if failed or not results.is_file():
        message, verdict = _failure_message(work / "results.xml", log)
        raise SimulationError(message, abnormal=not verdict)
    with np.load(results) as data:
        return {name: data[name] for name in data.files}, wall_s
