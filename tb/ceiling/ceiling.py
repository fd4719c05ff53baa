"""The ceiling of bulk co-simulation: the same bulk top, clocked by a plain C++ main.

Co-simulation stops the Verilated model whenever the bulk top needs Python (a ring half to
refill or drain, the batch's end, an error). Here Python writes every ring half of a batch
ahead, the very entries and halves the co-simulation's testbench would load
(:class:`~cimtile.tb.transport.bulk_entries.BulkEntries`), and the C++ main of ``ceiling_main.cpp``
(built by :mod:`.ceiling_build`) clocks the model through the whole batch without a
crossing: what the co-simulation could reach if its testbench cost nothing. The main acts
at the edges the testbench would, so the run takes the co-simulation's cycles; its results
are read back as the co-simulation's are and compared with the golden model.

The files live in a temporary directory (``cimtile-ceiling-*`` under ``$TMPDIR``), removed
after the run; the simulator runs in a session of its own, killed if this process is
interrupted.
"""

import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cimtile.behavioral import AnalogMacro
from cimtile.models.golden import golden_verdict
from cimtile.spec.host_driver import settings_word
from cimtile.spec.regmap import Mode, register

from ..build.sessions import kill_child_sessions
from ..transport.bulk_entries import BulkEntries, ResultFrames, analog_error_message
from ..transport.half_files import HalfFiles
from ..tops.bulk_layout import RINGS
from .ceiling_build import building_ceiling
from ..transport.exchange import SimulationError
from ..runs.host_runner import cycle_budget
from ..transport.memfiles import bits_image, parse_hex_image
from ..tops.pauses import pause_pattern
from ..transport.results import HostRun

__all__ = ["PLAN", "RESULT", "Finished", "write_batch", "run_main", "verdict", "read_results",
           "simulate_ceiling"]

#: The plan the C++ main reads, and the result it writes, in its working directory.
PLAN, RESULT = "ceiling_plan.txt", "ceiling_result.txt"
#: What the C++ main reports as ``status`` when the batch did not end.
_FAILURES = {"settings_refused": "SETTINGS write refused", "violation": "AXI protocol violation",
             "timeout": "the batch did not end within its cycle budget"}


def write_batch(directory, cfg, W, X, *, seed=0, conductances=None, in_bits=None,
                adc_shift=None, frame_vectors=1, pauses=None):
    """Write the plan and every ring half of a compute batch into `directory`.

    Arguments as for :func:`simulate_ceiling`. The input halves are ``ceiling_in_<k>.bin``
    and the analog answers ``ceiling_analog_<k>.bin``, each in the ``$fread`` form the bulk
    top loads; the pause patterns, drawn from `seed` as the co-simulation draws them, are
    the bulk top's own files.

    Returns
    -------
    dict
        The plan, as written to :data:`PLAN`.
    """
    directory = Path(directory)
    at = cfg.at(in_bits, adc_shift)
    in_bits, adc_shift = at.tile.in_bits, at.tile.adc_shift
    macro = AnalogMacro.for_array(cfg, W, np.random.default_rng(seed), conductances)
    chunks = BulkEntries(cfg, RINGS).batch(X, frame_vectors, in_bits, adc_shift, macro)
    files = HalfFiles(chunks, ["in", "analog"], {"in": RINGS.in_half,
                                                "analog": RINGS.analog_half},
                      directory, prefix="ceiling_", ahead=None)
    counts = {}
    for name in files.names:
        counts[name] = sum(entries for _, entries in iter(lambda: files.take(name), None))
    pauses_on = 0
    if pauses:
        in_prob, in_max, out_prob, out_max = pauses
        rng = np.random.default_rng([seed, 1])  # the co-simulation's pause draws
        patterns = {"in": pause_pattern(rng, in_prob, in_max),
                    "out": pause_pattern(rng, out_prob, out_max)}
        for name, bits in patterns.items():
            (directory / f"bulk_pauses_{name}.bits").write_bytes(bits_image(bits))
        pauses_on = int(patterns["in"].any()) | int(patterns["out"].any()) << 1
    plan = {"settings_offset": register("SETTINGS").offset,
            "settings_value": settings_word(cfg, Mode.COMPUTE, in_bits, adc_shift),
            "frames": -(-len(X) // frame_vectors), "budget": cycle_budget(cfg, len(X)),
            "pauses_on": pauses_on, "in_entries": counts["in"],
            "analog_entries": counts["analog"]}
    (directory / PLAN).write_text("".join(f"{name} {value}\n" for name, value in plan.items()))
    return plan


@dataclass
class Finished:
    """How a run of the C++ main ended.

    Members
    -------
    status : int
        Its exit status (0: the batch ended).
    stderr : str
    result : dict of str to str
        What it wrote to :data:`RESULT` (empty if it wrote nothing).
    wall_s : float
        The whole run, start-up included.
    """
    status: int
    stderr: str
    result: dict
    wall_s: float


def run_main(binary, directory):
    """Run the ceiling simulator `binary` on the batch written into `directory`."""
    start = time.perf_counter()
    try:
        process = subprocess.Popen([str(binary)], cwd=directory, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True, start_new_session=True)
        _, stderr = process.communicate()
    except BaseException:
        kill_child_sessions()
        raise
    wall_s = time.perf_counter() - start
    result_file = Path(directory) / RESULT
    result = {}
    if result_file.is_file():
        for line in result_file.read_text().splitlines():
            name, _, value = line.partition(" ")
            result[name] = value
    return Finished(process.returncode, stderr, result, wall_s)


def verdict(finished, cfg, in_bits):
    """Raise :class:`SimulationError` unless the run `finished` (:class:`Finished`) ended
    its batch of `in_bits`-bit vectors; the message names what stopped it."""
    result, status = finished.result, finished.result.get("status")
    if finished.status == 0 and status == "ok":
        return
    tail = f" (ceiling simulator exit status {finished.status})"
    if status == "analog_error":
        error = {name: int(result[f"error_{name}"], 16 if "wl" in name or "shift" in name
                           else 10)
                 for name in ("kind", "plane", "cycle", "wl", "expected_wl", "shift",
                              "expected_shift")}
        raise SimulationError(analog_error_message(cfg.tile.rows, in_bits, error) + tail)
    if status in _FAILURES:
        raise SimulationError(_FAILURES[status] + tail)
    raise SimulationError(f"the ceiling simulator failed{tail}: "
                          f"{finished.stderr.strip() or 'no message'}")


def read_results(directory, cfg, vectors, finished):
    """The results of a batch of `vectors` vectors that `finished` in `directory`, taken
    from the recorder's dumped halves as the co-simulation takes them.

    Returns
    -------
    dict
        ``Y``, ``frame_cycles`` and ``frame_vectors``, as
        :meth:`~cimtile.tb.transport.bulk_entries.ResultFrames.finish` gives them.
    """
    frames = ResultFrames(BulkEntries(cfg, RINGS), vectors)
    out_bytes = frames.entries.out_bytes
    for k, count in enumerate(map(int, finished.result.get("out_counts", "").split())):
        text = (Path(directory) / f"ceiling_out_{k}.hex").read_bytes()
        frames.add(parse_hex_image(text, out_bytes)[:count])
    return frames.finish()


def simulate_ceiling(cfg, W, X, *, seed=0, conductances=None, in_bits=None, adc_shift=None,
                     frame_vectors=1, pauses=None):
    """Run `X` through the bulk top of `cfg` holding `W` on the ceiling simulator, as
    :func:`cimtile.tb.runs.host_runner.simulate` co-simulates it in the bulk drive (same
    arguments, no remap table, no output file).

    Returns
    -------
    HostRun
        ``stream_s`` is the C++ main's time from the first ring load to the batch's end;
        ``wakeups`` is 0.

    Raises
    ------
    BuildError, SimulationError
        Also when the analog queue, a protocol checker or the cycle budget stops the run,
        or a result is missing.
    """
    X = np.asarray(X, np.int64)
    in_bits = cfg.at(in_bits).tile.in_bits
    with building_ceiling(cfg) as (binary, build_s):
        work = Path(tempfile.mkdtemp(prefix="cimtile-ceiling-"))
        try:
            write_batch(work, cfg, W, X, seed=seed, conductances=conductances,
                        in_bits=in_bits, adc_shift=adc_shift, frame_vectors=frame_vectors,
                        pauses=pauses)
            finished = run_main(binary, work)
            verdict(finished, cfg, in_bits)
            run = read_results(work, cfg, len(X), finished)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    if len(run["Y"]) < len(X):
        raise SimulationError(f"only {len(run['Y'])} of {len(X)} results arrived")
    checked = golden_verdict(cfg, W, X, run["Y"], seed, conductances, in_bits=in_bits,
                             adc_shift=adc_shift)
    return HostRun(Y=run["Y"], frame_cycles=run["frame_cycles"],
                   frame_vectors=run["frame_vectors"],
                   first_request=int(finished.result["first_sample_cycle"]),
                   verdict=checked, build_s=build_s, wall_s=finished.wall_s,
                   stream_s=float(finished.result["stream_s"]), wakeups=0)
