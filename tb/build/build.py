"""Build the simulated design with Verilator, through the build cache of :mod:`.cache`.

A design (:class:`.sim_top.Design`) is the Verilog its sources generate, the committed
Verilog files it instantiates and its ports, from which the simulation top
(:mod:`.sim_top`) that clocks it is written. A build is keyed by a hash of all that Verilog
text, committed files' bytes included, and the build flags, so equal configurations share
one build, and a complete, undamaged build is reused without calling Verilator at all.
Verilator, make and the compilers run as :mod:`.verilator` runs them; if this process is
interrupted while they run, a partial build is removed.
"""

import contextlib
import functools
import hashlib
import subprocess
import tempfile
from pathlib import Path

from . import cache
from .elaboration import elaborated
from .sim_top import CLOCK_PERIOD_NS, TOPLEVEL, control_file, simulation_top, tile_design
from .verilator import (FAST_FLAGS, MAKE_VARIABLES, BuildError, build_errors,
                        get_runner, verilator_bin, verilator_on_path)

__all__ = ["LINT_WAIVERS", "BuildError", "build", "building", "lint", "waves_format",
           "generate_verilog", "design_sources", "cosim_main"]

#: Verilator warnings waived for the generated Verilog, each with the reason it is safe.
#: Every other warning stays fatal, so a new class of problem fails the build.
LINT_WAIVERS = {
    "-Wno-WIDTHEXPAND": "Amaranth leaves zero- and sign-extension of narrower operands to "
                        "Verilog's context-width rules; its IR widths are exact",
    "-Wno-WIDTHTRUNC": "Amaranth assigns wide expressions (sums, shifts) to narrower "
                       "signals, truncating on purpose as its semantics define",
    "-Wno-CASEINCOMPLETE": "Amaranth FSMs decode only the encodings of their states; the "
                           "other codes of the state register are unreachable",
    "-Wno-ALWNEVER": "Yosys writes a constant driven into part of a signal (the unused lanes "
                     "of a memory's write port) as an `always @*` that reads nothing; "
                     "Verilator settles it to the constant like any combinational logic",
    "-Wno-PINMISSING": "Amaranth leaves a zero-width signal (an ADC range select of no bits) "
                       "unconnected on an instance; every other pin of an instance is "
                       "generated from the same signature as the module's ports",
    "-Wno-ASCRANGE": "Amaranth declares zero-width signals (e.g. a counter for one cycle) "
                     "as [-1:0] wires that nothing reads",
}

# The cocotb runner marks every signal public (to let tests probe internals), which stops
# Verilator optimising them. The testbench only touches the top-level ports, so a control
# file makes only those public: marking the whole top module public instead
# (--public-depth 1) keeps every wire of the flattened design, and the model runs three to
# four times slower.
_PORTS_ONLY = ["--no-public-flat-rw"]
_CONTROL_FILE = "ports.vlt"
# The simulator's C++ main (in place of cocotb's), which toggles the clock.
_MAIN = Path(__file__).with_name("cosim_main.cpp")
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
    return ([*_PORTS_ONLY, *LINT_WAIVERS]
            + (_TRACE_FLAGS[waves] if waves else []))


def _build_key(sources, flags):
    import cocotb
    import cocotb_tools.config
    h = hashlib.sha256()
    # The executable links cocotb's libraries by absolute path.
    for part in (*sources, *flags, *map("=".join, MAKE_VARIABLES.items()), *FAST_FLAGS,
                 cocotb.__version__, str(cocotb_tools.config.libs_dir),
                 verilator_bin()):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:20]


@functools.lru_cache(maxsize=16)
def generate_verilog(verilog_source, cfg):
    # A process often builds one configuration several times (scenarios, waveform builds);
    # other processes read the text the first one elaborated.
    return elaborated(verilog_source, cfg)


def design_sources(design, cfg):
    """``(verilog, files, ports)`` of `design` for `cfg`: its generated Verilog with the
    simulation top (:func:`.sim_top.simulation_top`), ``(path, text)`` of each committed
    file it instantiates, and its ports."""
    ports = design.ports(cfg)
    texts = [generate_verilog(source, cfg) for source in design.sources]
    top = simulation_top(ports, design.module)
    files = [(Path(path), Path(path).read_text()) for path in design.files]
    return "\n".join([*texts, top]), files, ports


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
    top : Design, optional
        Another design in place of the tile (:func:`.sim_top.tile_design`), which the
        simulation top clocks.

    Raises
    ------
    BuildError
        If Verilator or the C++ compiler fails (the message holds their errors).
    cache.CacheError
        If the cache root or its size cap is unusable (bad input).
    """
    design = top or tile_design()
    verilator_on_path()
    verilog, files, ports = design_sources(design, cfg)
    control = control_file(ports)
    main = cosim_main(design)
    flags = _build_flags(waves)
    fill = functools.partial(_build_into, verilog=verilog, control=control, main=main,
                             files=[path for path, _ in files], flags=flags, waves=waves)
    sources = (verilog, control, main, *(f"{path.name}\0{text}" for path, text in files))
    with cache.holding(_build_key(sources, flags), fill, binary=TOPLEVEL,
                       marker={"flags": flags}) as result:
        yield result


def build(cfg, *, waves=None, top=None):
    """Return ``(build_dir, build_s)`` for the tile of `cfg`, building it if not cached.

    Arguments, result and errors as for :func:`building`; the build is not held afterwards.
    """
    with building(cfg, waves=waves, top=top) as result:
        return result


def cosim_main(design):
    """The C++ main of `design`'s simulator: ``cosim_main.cpp`` after the lines that define
    its clock period and, if `design` has them, its attention and free-run ports (named as
    Verilator names them in C++, ``__`` escaped)."""
    names = dict(zip(("COSIM_ATTENTION", "COSIM_FREE_RUN"), design.attention))
    defines = [f"#define COSIM_PERIOD {CLOCK_PERIOD_NS * 1000}",  # in the 1 ps precision
               *(f"#define {name} {port.replace('__', '___05F')}"
                 for name, port in names.items())]
    return "\n".join([*defines, _MAIN.read_text()])


def _build_into(work, *, verilog, control, main, files, flags, waves):
    """Run Verilator and the C++ build in the empty directory `work`: of `verilog` (the
    generated Verilog and the simulation top), the committed `files` it instantiates, the
    `control` file and the C++ `main`."""
    if waves == "fst":
        _check_fst_support()
    source = work / f"{TOPLEVEL}.v"
    control_path = work / _CONTROL_FILE
    source.write_text(verilog)
    control_path.write_text(control)
    main_path = work / "cosim_main.cpp"
    main_path.write_text(main)
    log = work / "build.log"
    runner = get_runner()
    runner.main = main_path
    try:
        runner.build(sources=[control_path, source, *files], hdl_toplevel=TOPLEVEL,
                     build_dir=work, build_args=flags, waves=bool(waves),
                     timescale=("1ns", "1ps"), log_file=log)
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
