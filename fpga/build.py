"""Bitstream builds through amaranth-boards platforms and the YoWASP toolchain, with a
resource and timing report parsed from Yosys and nextpnr."""

import dataclasses
import json
import re
import subprocess
import time
from pathlib import Path

from amaranth.vendor import LatticeECP5Platform
from amaranth_boards.icebreaker import ICEBreakerPlatform
from amaranth_boards.ulx3s import ULX3S_85F_Platform

from .toolchain import tool_environment

__all__ = ["Board", "BOARDS", "FpgaBuildError", "FitError", "build_bitstream",
           "parse_utilisation"]


class _ULX3S85FPlatform(ULX3S_85F_Platform):
    """The ULX3S 85F without openFPGALoader among the build's required tools: loading the
    bitstream is a separate step (``openFPGALoader -b ulx3s``), not part of the build."""

    @property
    def required_tools(self):
        return LatticeECP5Platform.required_tools.fget(self)


@dataclasses.dataclass(frozen=True)
class Board:
    """A supported board: its platform, toolchain and the nextpnr cell types that count as
    LUTs, flip-flops, block RAMs and DSPs.

    ``ff`` is None where nextpnr has no separate flip-flop cell (iCE40 logic cells hold a
    LUT and a flip-flop); the flip-flops are then counted in Yosys's statistics, by cell
    type prefix ``ff_prefix``.
    """

    name: str
    platform: type
    tools: tuple
    bitstream: str
    lut: str
    ff: str | None
    ff_prefix: str
    bram: str
    dsp: str

    @property
    def device(self):
        return self.platform.device

    @property
    def clock_hz(self):
        platform = self.platform()
        return platform.default_clk_frequency


BOARDS = {
    "icebreaker": Board("icebreaker", ICEBreakerPlatform,
                        ("yosys", "nextpnr-ice40", "icepack"), "bin",
                        lut="ICESTORM_LC", ff=None, ff_prefix="SB_DFF",
                        bram="ICESTORM_RAM", dsp="ICESTORM_DSP"),
    "ulx3s-85f": Board("ulx3s-85f", _ULX3S85FPlatform,
                       ("yosys", "nextpnr-ecp5", "ecppack"), "bit",
                       lut="TRELLIS_COMB", ff="TRELLIS_FF", ff_prefix="TRELLIS_FF",
                       bram="DP16KD", dsp="MULT18X18D"),
}

# What a nextpnr cell type is, for error messages.
_RESOURCE_NAMES = {
    "ICESTORM_LC": "logic cells", "ICESTORM_RAM": "block RAMs", "ICESTORM_DSP": "DSPs",
    "ICESTORM_SPRAM": "SPRAMs", "SB_IO": "I/O pins", "TRELLIS_COMB": "LUTs",
    "TRELLIS_FF": "flip-flops", "DP16KD": "block RAMs", "MULT18X18D": "DSPs",
    "TRELLIS_IO": "I/O pins",
}


class FpgaBuildError(RuntimeError):
    """A toolchain step failed; the message is the tool's first error line."""


class FitError(FpgaBuildError):
    """The design needs more of a resource than the device has; the message names it."""


_UTIL_LINE = re.compile(r"^Info:\s+(\w+):\s+(\d+)/\s*(\d+)\s+\d+%", re.MULTILINE)


def parse_utilisation(log):
    """``{cell type: (used, available)}`` from the last utilisation table in a nextpnr log."""
    util = {}
    for name, used, available in _UTIL_LINE.findall(log):
        util[name] = (int(used), int(available))
    return util


def _yosys_cell_counts(rpt):
    """``{cell type: count}`` of the last statistics block in a Yosys log."""
    block = rpt.rsplit("Printing statistics.", 1)[-1]
    counts = {}
    for count, cell in re.findall(r"^\s+(\d+)\s+(\$?\w+)\s*$", block, re.MULTILINE):
        counts.setdefault(cell, int(count))
    return counts


def _first_error(*logs):
    for log in logs:
        for line in log.splitlines():
            if line.startswith("ERROR:"):
                return line[len("ERROR:"):].strip()
    return None


def _read(path):
    return path.read_text(errors="replace") if path.exists() else ""


def build_bitstream(board, top, build_dir, *, name="cimtile", seed=1):
    """Synthesise, place and route ``top`` for ``board`` in ``build_dir``.

    Timing failures do not stop the build: the report says whether timing was met.

    Returns
    -------
    report : dict
        ``board``, ``device``, ``lut``/``ff``/``bram``/``dsp`` used (and ``*_available``),
        ``fmax_mhz``, ``clock_mhz``, ``timing_met``, ``elaborate_s`` (Amaranth to RTLIL),
        ``build_s`` (synthesis, place and route, packing) and ``bitstream`` (path).

    Raises
    ------
    FitError
        A resource is over-used; the message names the device, resource and counts.
    FpgaBuildError
        Any other toolchain failure.
    """
    build_dir = Path(build_dir)
    platform = board.platform()
    start = time.monotonic()
    plan = platform.build(top, name=name, do_build=False,
                          nextpnr_opts=f"--report {name}.report.json --seed {seed} "
                                       "--timing-allow-fail")
    plan.extract(build_dir)
    elaborate_s = time.monotonic() - start
    start = time.monotonic()
    proc = subprocess.run(["sh", f"{plan.script}.sh"], cwd=build_dir,
                          env=tool_environment(board.tools),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    build_s = time.monotonic() - start
    (build_dir / f"{name}.log").write_text(proc.stdout)
    pnr_log, synth_log = _read(build_dir / f"{name}.tim"), _read(build_dir / f"{name}.rpt")
    util = parse_utilisation(pnr_log)
    over = [(cell, used, available) for cell, (used, available) in util.items()
            if used > available]
    if over:
        cell, used, available = over[0]
        raise FitError(f"design does not fit {board.device}: {used} "
                       f"{_RESOURCE_NAMES.get(cell, cell)} ({cell}) needed, "
                       f"{available} available")
    if proc.returncode != 0:
        error = _first_error(pnr_log, synth_log, proc.stdout) or proc.stdout.strip()[-300:]
        raise FpgaBuildError(f"{board.name} build failed: {error}")

    report = json.loads((build_dir / f"{name}.report.json").read_text())
    util = {cell: (v["used"], v["available"]) for cell, v in report["utilization"].items()}
    if board.ff is None:
        cells = _yosys_cell_counts(synth_log)
        ff = (sum(n for cell, n in cells.items() if cell.startswith(board.ff_prefix)),
              util[board.lut][1])
    else:
        ff = util[board.ff]
    # One clock domain: the board clock.
    (fmax,) = report["fmax"].values()
    clock_mhz = board.clock_hz / 1e6
    return {
        "board": board.name,
        "device": board.device,
        "lut": util[board.lut][0], "lut_available": util[board.lut][1],
        "ff": ff[0], "ff_available": ff[1],
        "bram": util[board.bram][0], "bram_available": util[board.bram][1],
        "dsp": util[board.dsp][0], "dsp_available": util[board.dsp][1],
        "fmax_mhz": round(fmax["achieved"], 2),
        "clock_mhz": round(clock_mhz, 3),
        "timing_met": fmax["achieved"] >= clock_mhz,
        "elaborate_s": round(elaborate_s, 1),
        "build_s": round(build_s, 1),
        "bitstream": str(build_dir / f"{name}.{board.bitstream}"),
    }
