"""Build the bulk top with the plain C++ main of ``ceiling_main.cpp``, through the cache.

The ceiling build verilates the co-simulation's bulk top (the same Verilog, rings and
checkers) with the co-simulation's flags less what only cocotb needs: no ``--vpi``, no
public ports (the control file that marks them is for VPI) and no cocotb library; the
compiler flags (``-O2`` and the rest of :func:`cimtile.tb.build.verilator.make_variables`) are the
same, and Verilator's runtime is linked from its own cache entry as in every build. The
clock is the simulation top's port, toggled by the C++ loop as the co-simulation's main
toggles it.

Entries are keyed like the co-simulation's, from the Verilog (the committed files' bytes
included), the C++ main and the flags, under keys of their own (``ceiling-<hash>``).
"""

import contextlib
import functools
import hashlib
import os
from pathlib import Path

from ..build import cache
from ..build.build import LINT_WAIVERS, design_sources
from ..build.sim_top import TOPLEVEL
from ..build.verilator import (FAST_FLAGS, MAKE_VARIABLES, BuildError,
                               build_errors, get_runner, make_variables, make_with_runtime,
                               verilator_bin, verilator_on_path)
from ..tops.bulk_top import bulk_design

__all__ = ["MAIN", "building_ceiling"]

#: The C++ main, copied into every build as ``sim_main.cpp``.
MAIN = Path(__file__).with_name("ceiling_main.cpp")
#: Verilator's flags beyond those naming the files and the top.
_FLAGS = [*LINT_WAIVERS, "--timescale", "1ns/1ps"]


def _key(sources, flags):
    h = hashlib.sha256()
    for part in (*sources, *flags, *map("=".join, MAKE_VARIABLES.items()), *FAST_FLAGS,
                 verilator_bin()):
        h.update(part.encode())
        h.update(b"\0")
    return f"ceiling-{h.hexdigest()[:20]}"


@contextlib.contextmanager
def building_ceiling(cfg):
    """Build the ceiling simulator of `cfg`'s bulk top if it is not cached, and hold it.

    Yields ``(binary, build_s)``: the simulator's path and the build time (0 when cached),
    as :func:`cimtile.tb.build.build.building` does.

    Raises
    ------
    BuildError
        If Verilator or the C++ compiler fails.
    cache.CacheError
        If the cache root or its size cap is unusable.
    """
    verilator_on_path()
    # The co-simulation's Verilog (and rings), elaborated once for both in a process.
    verilog, files, _ = design_sources(bulk_design(), cfg)
    main, flags = MAIN.read_text(), _FLAGS
    fill = functools.partial(_build_into, verilog=verilog, main=main,
                             files=[path for path, _ in files], flags=flags)
    sources = (verilog, main, *(f"{path.name}\0{text}" for path, text in files))
    with cache.holding(_key(sources, flags), fill, binary=TOPLEVEL,
                       marker={"flags": flags, "main": MAIN.name}) as (entry, build_s):
        yield entry / TOPLEVEL, build_s


def _build_into(work, *, verilog, main, files, flags):
    """Verilate `verilog` (the generated Verilog and the simulation top), the committed
    `files` it instantiates and the C++ `main` with `flags`, and compile them in `work`."""
    source, main_path, log = work / f"{TOPLEVEL}.v", work / "sim_main.cpp", work / "build.log"
    source.write_text(verilog)
    main_path.write_text(main)
    runner = get_runner()
    # The cocotb runner fills its environment when it builds; these commands run outside it.
    runner.env = dict(os.environ)
    verilate = ["verilator", "-cc", "--exe", "-Mdir", str(work), "--top-module", TOPLEVEL,
                "--prefix", "Vtop", "-o", TOPLEVEL, *flags, str(main_path), str(source),
                *map(str, files)]
    make = ["make", "-j", str(os.cpu_count() or 1), "-C", str(work), "-f", "Vtop.mk",
            "VM_TRACE=0", *make_variables()]
    try:
        with open(log, "w") as stdout:
            runner.run(verilate, work, stdout)
            make_with_runtime(runner, make, work, stdout)
    except RuntimeError as error:
        if runner.interrupted:
            raise
        raise BuildError(f"Verilator build of the ceiling failed ({error}):\n"
                         f"{build_errors(log)}") from None
    if not (work / TOPLEVEL).is_file():
        raise BuildError(f"the ceiling build left no simulator ({TOPLEVEL}):\n"
                         f"{build_errors(log)}")
