"""Check a played scenario against its expectations, and run one regression seed.

:func:`check` compares every answer that has an expectation (register responses and
values, error causes, results against the golden model, prefixes of cut batches, interrupt
levels, write-verify outcomes) and returns the first difference as one short line: the
operation, the first differing index and both values, never a whole array.
:func:`run_seed` plays a seed's scenario with the coverage monitor read out and returns
everything a regression needs to merge and report, as plain data that crosses processes.
"""

import os
import tempfile
import time
import traceback

import numpy as np

from cimtile.models.verdict import compare
from cimtile.spec.regmap import register

from ..build.build import BuildError
from ..tops.coverage_bins import declare_bins, unpack_counts
from ..tops.coverage_tops import COVERAGE_TOPS
from ..transport.exchange import SimulationError
from ..runs.host_runner import play
from ..tops.mutants import mutated_top
from .random_scenario import scenario

__all__ = ["check", "first_difference", "run_seed", "repro_command", "declared_bins"]

_STATUS = register("STATUS")


def first_difference(got, expected):
    """One line naming the first place `got` differs from `expected` (arrays), or None: the
    :class:`~cimtile.models.verdict.Verdict`'s place and values."""
    got, expected = np.asarray(got), np.asarray(expected)
    verdict = compare("expectation", got, expected)
    if verdict.ok:
        return None
    if got.shape != expected.shape:
        return (f"{len(got)} results, expected {len(expected)}; first difference at vector "
                f"{verdict.index}")
    return verdict.where()


def _check_one(c, record, op):
    kind = c["kind"]
    if kind == "resp":
        if record["resp"] != c["expect"]:
            return f"response {record['resp']}, expected {c['expect']}"
    elif kind == "read":
        if record["resp"] != 0 or record["value"] != c["expect"]:
            return f"read {record['value']:#x} (resp {record['resp']}), expected {c['expect']:#x}"
    elif kind == "read_decerr":
        if record["resp"] != 3 or record["value"] != 0:
            return f"unmapped read gave {record['value']:#x} resp {record['resp']}, expected 0 " \
                   "with DECERR"
    elif kind == "cause":
        status = _STATUS.unpack(record["value"])
        if not status["error"] or status["cause"] != c["expect"]:
            return f"STATUS error {status['error']} cause {status['cause']}, expected error 1 " \
                   f"cause {c['expect']}"
    elif kind == "irq":
        if record["irq"] != c["expect"]:
            return f"irq {int(record['irq'])}, expected {int(c['expect'])}"
    elif kind == "results":
        if record.get("timeout"):
            return f"only {len(record['Y'])} of {len(c['expect'])} results arrived"
        difference = first_difference(record["Y"], c["expect"])
        if difference:
            return f"results differ from the golden model {difference}"
        frames = len(record["frame_vectors"])
        if frames != c["frames"]:
            return f"{frames} result frames, expected {c['frames']}"
    elif kind == "prefix":
        Y = record["Y"]
        if len(Y) > len(c["expect"]):
            return f"{len(Y)} results from a batch of {len(c['expect'])}"
        difference = first_difference(Y, c["expect"][:len(Y)])
        if difference:
            return f"results before the soft reset differ {difference}"
    elif kind in ("program", "read_back") and record.get("start_resp", 0) != 0:
        return f"CTRL.start refused (resp {record['start_resp']})"
    elif kind == "program":
        if record.get("timeout") or record.get("refused"):
            return "write-verify " + ("timed out" if record.get("timeout") else "refused")
        for name in ("pulses", "converged"):
            difference = first_difference(np.asarray(record[name], np.int64),
                                          np.asarray(c[name], np.int64))
            if difference:
                return f"write-verify {name} differ from the golden write-verify {difference}"
    elif kind == "read_back":
        if record.get("timeout") or record.get("refused"):
            return "read-back " + ("timed out" if record.get("timeout") else "refused")
        if len(record["pulses"]) != c["cells"] or np.any(record["pulses"]) \
                or np.any(record["converged"]):
            return "read-back reported pulses or convergence"
    else:
        raise ValueError(f"unknown check kind {kind!r}")
    return None


def check(sc, played):
    """The first failed expectation of scenario `sc` in `played`, as one line, or None."""
    if played.violations:
        return played.violations[0]
    for c in sc.checks:
        if c["op"] >= len(played.records):
            return f"op {c['op']}: never played ({len(played.records)} operations ran)"
        op = sc.ops[c["op"]]
        problem = _check_one(c, played.records[c["op"]], op)
        if problem:
            return f"op {c['op']} ({op['op']}): {problem}"
    return None


def declared_bins(pool_index):
    """Every bin of a seed of pool configuration `pool_index`: the monitor's and the
    stimulus's own."""
    from .random_scenario import PYTHON_BINS, pool_config
    return [str(b) for b in declare_bins(pool_config(pool_index))] + list(PYTHON_BINS)


def repro_command(seed, mutant=None):
    """The command that reproduces `seed` alone, with waves."""
    bug = f" --mutant {mutant}" if mutant else ""
    return f"cimtile regress --seed {seed}{bug} --waves seed{seed}.vcd"


def run_seed(seed, *, waves=None, mutant=None):
    """Play seed `seed` and check it; with `mutant` (a name of
    :data:`cimtile.tb.tops.mutants.MUTANTS`) on RTL with that bug.

    Returns
    -------
    dict
        ``seed``, ``config`` (pool index), ``drive``, ``passed``, ``message`` (the first
        failure, or ``""``), ``coverage`` (``{bin: hits}``), ``wall_s``, ``mvms``.
    """
    start = time.perf_counter()
    sc = scenario(seed)
    top = COVERAGE_TOPS[sc.drive] if mutant is None else mutated_top(mutant, sc.drive)
    result = {"seed": seed, "config": sc.pool_index, "drive": sc.drive, "passed": False,
              "message": "", "coverage": {}, "mvms": 0}
    with tempfile.TemporaryDirectory(prefix="cimtile-cov-") as work:
        counts_file = os.path.join(work, "counts.txt")
        try:
            played = play(sc.cfg, sc.ops, sc.arrays | {"coverage_out": counts_file},
                          drive=sc.drive, waves=waves, top=top)
            result["message"] = check(sc, played) or ""
        except (SimulationError, BuildError) as error:
            result["message"] = str(error).splitlines()[0][:400]
            played = None
        except Exception as error:      # a testbench bug is a failure of this seed too
            result["message"] = "".join(traceback.format_exception_only(error)).strip()[:400]
            played = None
        if os.path.exists(counts_file):
            bins = declare_bins(sc.cfg)
            with open(counts_file) as file:
                text = file.read().strip()
            counts = unpack_counts(int(text, 2), len(bins)) if set(text) <= {"0", "1"} else []
            result["coverage"] = {str(b): c for b, c in zip(bins, counts)}
    result["coverage"] |= sc.python_bins
    result["passed"] = played is not None and not result["message"]
    result["mvms"] = sum(len(c["expect"]) for c in sc.checks if c["kind"] == "results")
    result["wall_s"] = time.perf_counter() - start
    return result
