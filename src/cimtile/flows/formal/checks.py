"""The property sets, the configurations ``make formal`` checks, and the runner.

Every check elaborates one harness for a config, hands its RTLIL to SymbiYosys and prints one
line, ``PASS|FAIL  <set>  depth N  (bmc|prove|cover)  <seconds> s``. A failure is followed by
the rules that broke (or the covers no trace reached) and a cycle table of the signals they
involve, read from the counterexample VCD, whose path is printed; the work directory is
kept.
"""

import dataclasses
import sys
from dataclasses import dataclass, field
from pathlib import Path

from amaranth.back import rtlil

from cimtile.spec.config import reference_config
from cimtile.spec.config_tables import HostConfig, TimingConfig

from .harness import (TOP, DatapathHarness, HostHarness, RegistersHarness, SequencerHarness,
                      TileHarness, TileLatencyHarness)
from .sby import check_cells, run_sby
from .trace import TraceError, cycle_table, read_vcd

__all__ = ["PropertySet", "PROPERTY_SETS", "DEPTH_FACTOR", "max_depth", "CheckResult",
           "formal_configs", "run_check", "run_checks"]


def _compute(config):
    """Cycles of the analog schedule of one vector at the tile's largest precision: its
    result latency less the 4 cycles of buffers and commands around it."""
    return config.result_latency - 4


@dataclass(frozen=True)
class PropertySet:
    """A harness and how deep each mode looks by default.

    Attributes
    ----------
    name : str
    harness : type
        A :class:`~.harness.Harness` subclass.
    doc : str
    depths : dict of str to callable
        Mode -> function of the config giving the depth (for ``prove``, the induction
        length); the modes a set is checked in.
    of_the_tile : bool
        The set checks the tile configuration it is given. One that does not (the chip
        sequencer, the chip datapath) runs only when named, and once in ``make formal``.
    """
    name: str
    harness: type
    doc: str
    depths: dict
    of_the_tile: bool = True

    def depth(self, config, mode):
        return self.depths[mode](config)


PROPERTY_SETS = {s.name: s for s in (
    PropertySet("axi_lite", RegistersHarness, "AXI4-Lite register block",
                {"bmc": lambda c: 16, "prove": lambda c: 4, "cover": lambda c: 8}),
    # Covers need a vector to cross the host and its result to be stalled, or a read-back
    # to send a cell result, with a soft reset on the way; the bounded checks look a few
    # vectors further, as deep as a run of minutes allows on the small configs.
    PropertySet("host_streams", HostHarness, "cim_host: AXI4-Lite and every AXI4-Stream port",
                {"bmc": lambda c: _compute(c) + 24, "cover": lambda c: _compute(c) + 16}),
    PropertySet("tile", TileHarness, "tile core: results, analog port, write-verify",
                {"bmc": lambda c: _compute(c) + 20, "cover": lambda c: _compute(c) + 16}),
    PropertySet("tile_latency", TileLatencyHarness, "tile core: result latency",
                {"bmc": lambda c: 2 * c.result_latency + 4,
                 "cover": lambda c: 2 * c.result_latency + 4}),
    # Two words written, a start, and an instruction issued against one in flight; each
    # step deeper roughly doubles the solver's time (free 64-bit words, 16-bit spans).
    PropertySet("chip_sequencer", SequencerHarness,
                "chip sequencer: no command issues while a hazard is open",
                {"bmc": lambda c: 8, "cover": lambda c: 10}, of_the_tile=False),
    # Every cover is reached by step 7 (an ACC of two tiles); the bounded check looks at
    # a few commands of every unit back to back, each step deeper about 1.3 times slower.
    PropertySet("chip_datapath", DatapathHarness,
                "chip datapath: every command answered once and on time, vectors keep the "
                "stream rules", {"bmc": lambda c: 20, "cover": lambda c: 10},
                of_the_tile=False),
)}


#: How many times the deepest default a chosen depth may be: a few vectors more than the
#: defaults look at, while a mistyped depth, which would unroll for days, is refused.
DEPTH_FACTOR = 4


def max_depth(config):
    """The deepest bounded check or cover allowed for `config`: :data:`DEPTH_FACTOR` times
    the deepest default of any property set (induction lengths aside)."""
    return DEPTH_FACTOR * max(pset.depth(config, mode) for pset in PROPERTY_SETS.values()
                              for mode in pset.depths if mode != "prove")


def _small(tile, *, t_settle, t_adc, adc_per_step=1):
    cfg = reference_config().replace(**({"pipeline": False} | tile))
    timing = TimingConfig(t_settle=t_settle, t_adc=t_adc, adc_per_step=adc_per_step)
    return dataclasses.replace(cfg, timing=timing, host=HostConfig(data_width=32))


#: The sliced tile: weight slices and two ADCs of four columns each.
_SLICED = dict(rows=3, cols=2, in_bits=2, w_bits=3, bits_per_cell=1, adc_bits=2,
               adc_shift=0, cols_per_adc=4)


def formal_configs():
    """The configurations ``make formal`` checks, by name: the smallest tile, and one with
    weight slices and several shared ADCs, each also pipelined (the minimal one's drive
    sets the pace, the sliced one's conversions); and the sliced tile pipelined with ADCs
    converting three columns a step of two cycles, so a plane takes a step of three and a
    short step of one, and the conversions set the pace."""
    configs = {
        "minimal": _small(dict(rows=2, cols=1, in_bits=2, w_bits=2, bits_per_cell=1,
                               adc_bits=2, adc_shift=0, cols_per_adc=1),
                          t_settle=1, t_adc=1),
        "sliced": _small(_SLICED, t_settle=2, t_adc=1),
    }
    stepped = _small(_SLICED | {"pipeline": True}, t_settle=1, t_adc=2, adc_per_step=3)
    return (configs | {f"{name}_pipelined": config.replace(pipeline=True)
                       for name, config in configs.items()}
            | {"stepped_pipelined": stepped})


@dataclass
class CheckResult:
    """The outcome of one check.

    Attributes
    ----------
    name, mode : str
    depth : int
    status : str
        SymbiYosys's verdict: ``PASS``, ``FAIL``, ``UNKNOWN`` or ``ERROR``.
    seconds : float
    failed, unreached : list of :class:`~cimtile.hdl.properties.rules.Rule`
    trace : Path or None
        The counterexample VCD.
    table : str
        Cycle table of the failed rules' signals ("" without a trace).
    directory : Path
    skipped : list of str
        Assertions left out of a ``prove`` (checked from reset only).
    """
    name: str
    mode: str
    depth: int
    status: str
    seconds: float
    directory: Path
    failed: list = field(default_factory=list)
    unreached: list = field(default_factory=list)
    trace: Path = None
    table: str = ""
    skipped: list = field(default_factory=list)

    @property
    def passed(self):
        return self.status == "PASS"

    def line(self):
        return (f"{'PASS' if self.passed else 'FAIL'}  {self.name}  depth {self.depth}  "
                f"({self.mode})  {self.seconds:.1f} s")

    def details(self):
        """What failed, the cycle table and where the trace is; "" for a pass."""
        if self.passed:
            return ""
        out = []
        if self.mode == "prove" and self.status != "FAIL":
            out.append(f"  induction at depth {self.depth} is inconclusive ({self.status}); "
                       "the trace starts from a state that may be unreachable")
        out += [f"  broken: {r.name}: {r.text}" for r in self.failed]
        out += [f"  not reached within depth {self.depth}: {r.name}: {r.text}"
                for r in self.unreached]
        if self.table:
            out.append("\n".join("    " + line for line in self.table.splitlines()))
        if self.trace is not None:
            out.append(f"  trace: {self.trace}")
        if not (self.failed or self.unreached or self.trace):
            out.append(f"  SymbiYosys says {self.status}; see {self.directory / 'sby.log'}")
        return "\n".join(out)


def run_check(config, pset, mode, depth, directory, *, timeout=None):
    """Check the property set `pset` for `config` in `mode` to `depth` in `directory`.

    Raises
    ------
    FormalToolError
        If SymbiYosys cannot run or gives no verdict.
    """
    harness = pset.harness(config, prove=mode == "prove")
    text = rtlil.convert(harness, name=TOP, ports=[])
    rules = {rule.signal: rule for rule in harness.rules.rules}
    cells = check_cells(text)
    run = run_sby(directory, text, top=TOP, mode=mode, depth=depth, timeout=timeout)
    result = CheckResult(pset.name, mode, depth, run.status, run.seconds, run.directory,
                         skipped=list(harness.rules.skipped))
    result.failed = [rules[cells[c]] for c in run.failed if cells.get(c) in rules]
    result.unreached = [rules[cells[c]] for c in run.unreached if cells.get(c) in rules]
    if result.passed:
        return result
    result.trace = run.counterexample
    if result.trace is not None:
        names = list(harness.rules.context)
        for rule in result.failed:
            names += list(rule.involved) + [rule.signal]
        try:
            result.table = cycle_table(read_vcd(result.trace), names)
        except TraceError as error:
            result.table = str(error)
    return result


def run_checks(config, *, sets=None, modes=("bmc", "cover"), depth=None, out="build/formal",
               timeout=None, stream=None):
    """Run every mode of every property set (by name; default every one that checks the
    tile) that has it, printing a line per check and the details of each failure; return
    the results.

    Parameters
    ----------
    depth : int or None
        Depth of every ``bmc`` and ``cover`` check; None for each set's default. A ``prove``
        keeps its set's induction length.
    out : path
        Work directory; each check gets ``<out>/<set>_<mode>``.
    stream : file
        Where the lines go (default: standard output).
    """
    stream = sys.stdout if stream is None else stream
    results = []
    for name in sets or [n for n, pset in PROPERTY_SETS.items() if pset.of_the_tile]:
        pset = PROPERTY_SETS[name]
        for mode in modes:
            if mode not in pset.depths:
                continue
            n = depth if depth is not None and mode != "prove" else pset.depth(config, mode)
            result = run_check(config, pset, mode, n, Path(out) / f"{name}_{mode}",
                               timeout=timeout)
            print(result.line(), file=stream, flush=True)
            if not result.passed:
                print(result.details(), file=stream, flush=True)
            results.append(result)
    return results
