"""Run bus-level scenarios on the host top (AXI4-Lite + AXI4-Stream) in Verilator.

:func:`play` sends a list of operations to the cocotb player
(:mod:`cimtile.tb.benches.host_tb`) and returns what each one answered. :func:`simulate` and
:func:`program` run the host driver's sequences (:mod:`cimtile.spec.host_driver`, the same a
board session runs) as one :meth:`Op.driver` operation over the drive's port; the tests and
the regression also send single bus operations, and check the answers against their own
expectations.
"""

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cocotbext.axi import AxiResp

from cimtile.models.golden import golden_verdict
from cimtile.models.program import Rectangle
from cimtile.models.stream_check import ErrorSums
from cimtile.models.verdict import Verdict
from cimtile.spec.mapping import check_remap
from cimtile.spec.npy_rows import NpyRows
from cimtile.spec.regmap import register

from ..tops.bulk_top import bulk_design
from ..transport.exchange import SimulationError, run_testbench
from ..tops.host_top import checked_design
from ..transport.results import HostRun, ProgramRun

__all__ = ["DRIVES", "Op", "Played", "play", "simulate", "program", "cycle_budget",
           "register_writes"]

TB_MODULE = "cimtile.tb.benches.host_tb"
#: The simulated top of each drive mode.
TOPS = {"vip": checked_design(), "bulk": bulk_design()}
DRIVES = tuple(TOPS)


class Op:
    """Constructors of the player's operations (JSON-able dicts)."""

    @staticmethod
    def write(offset, value, strobe=0xF):
        return dict(op="write", offset=offset, value=int(value), strobe=strobe)

    @staticmethod
    def read(offset):
        return dict(op="read", offset=offset)

    @staticmethod
    def stream(x, frame_vectors, budget, in_bits=None, adc_shift=None, out=None):
        """Send array `x` as frames of `frame_vectors` vectors; collect the result frames
        (``Y``, ``frame_cycles``). The bulk drive needs the run-time settings the tile was
        given, `in_bits` and `adc_shift`; with `out` (a path) it writes the results there
        as a ``.npy`` file as they arrive (``Y_rows`` of them) instead of recording ``Y``."""
        return dict(op="stream", x=x, frame_vectors=frame_vectors, in_bits=in_bits,
                    adc_shift=adc_shift, budget=budget,
                    out=None if out is None else str(Path(out).resolve()))

    @staticmethod
    def send(x, frame_vectors):
        """Queue array `x` as frames without waiting (see :meth:`collect`)."""
        return dict(op="send", x=x, frame_vectors=frame_vectors)

    @staticmethod
    def collect(frames, budget):
        """Receive `frames` result frames (``Y``, ``frame_vectors``)."""
        return dict(op="collect", frames=frames, budget=budget)

    @staticmethod
    def send_raw(data, tkeep, budget):
        return dict(op="send_raw", data=data, tkeep=tkeep, budget=budget)

    @staticmethod
    def program(levels, cells, budget, settings=None, rect=None):
        """Start write-verify with CTRL.start; unless STATUS shows the start refused, send
        the target levels (array name, or None in read-back mode) and collect the per-cell
        results. The bulk drive needs the write-verify `settings` (WriteVerifyConfig) and
        the Rectangle `rect` the tile was given, from which it computes every verify read
        and pulse ahead, before the start."""
        return dict(op="program", levels=levels, cells=cells, budget=budget,
                    settings=None if settings is None else dataclasses.asdict(settings),
                    rect=None if rect is None else dataclasses.astuple(rect))

    @staticmethod
    def driver(sequence, arrays=None, **arguments):
        """Run the host driver's `sequence` (:mod:`cimtile.spec.host_driver`) over the
        drive's port, with `arguments` and the arrays named by `arrays` (argument name:
        array name); settings and rectangles go as the dataclasses they are. Its record is
        the answer's, or ``write_refused`` (a message) if the tile refused a register
        write."""
        for name in ("settings", "rect"):
            if name in arguments:
                convert = dataclasses.asdict if name == "settings" else dataclasses.astuple
                arguments[name] = convert(arguments[name])
        return dict(op="driver", sequence=sequence, arrays=arrays or {}, arguments=arguments)

    @staticmethod
    def soft_reset_after(requests, ctrl_offset, value, budget):
        return dict(op="soft_reset_after", requests=requests, ctrl_offset=ctrl_offset,
                    value=value, budget=budget)

    @staticmethod
    def wait_irq(budget):
        return dict(op="wait_irq", budget=budget)

    @staticmethod
    def idle(cycles):
        return dict(op="idle", cycles=cycles)

    @staticmethod
    def wl_fault(plane):
        """Bulk drive: flip wordline 0 as the analog queue sees it at `plane` (its check's
        self-test)."""
        return dict(op="wl_fault", plane=plane)

    @staticmethod
    def pauses(in_prob=0.0, in_max=0, out_prob=0.0, out_max=0):
        return dict(op="pauses", in_prob=in_prob, in_max=in_max, out_prob=out_prob,
                    out_max=out_max)


@dataclass
class Played:
    """Answers of a played scenario.

    Members
    -------
    records : list of dict
        One per operation, with its arrays (e.g. ``Y``, ``pulses``) as numpy arrays.
    cycles : int
        Cycles from reset release to the end.
    first_request : int
        Cycle of the first analog sample request (-1 without one).
    violations : list of str
        Analog timing or AXI protocol breaches (the run fails on any).
    arrays : dict
        The programmable device afterwards, when one was bound: ``state``,
        ``conductance``, ``reads``, ``pulses_applied``.
    build_s, wall_s : float
    """
    records: list
    cycles: int
    first_request: int
    violations: list
    arrays: dict
    build_s: float
    wall_s: float


def play(cfg, ops, arrays, *, drive="vip", waves=None, verbose=False, top=None):
    """Play `ops` on the host top of `cfg`.

    Parameters
    ----------
    cfg : Config
    ops : list of dict
        From :class:`Op`.
    arrays : dict of name -> array or NpyRows
        Data the operations name; ``W`` (weights), ``G`` (conductances), ``faults`` (a
        device's stuck-at map, which also binds the programmable device) and ``seed`` have
        their meaning for the analog side. An :class:`~cimtile.spec.npy_rows.NpyRows` is not
        copied: the simulator reads its file a chunk at a time.
    drive : ``"vip"`` or ``"bulk"``
        Who drives the streams and answers the analog port: cocotbext-axi and the
        analog bindings, beat by beat, plane by plane and request by request, or the bulk
        top's players, recorders and queues (see :mod:`cimtile.tb.tops.bulk_top`); of the stream
        operations only ``stream`` and ``program`` run in bulk.
    top : Design, optional
        Another simulated top with the same ports (e.g. one with a fault injected), as for
        :func:`cimtile.tb.runs.runner.build`.

    Raises
    ------
    BuildError, SimulationError
    """
    if drive not in DRIVES:
        raise ValueError(f"drive must be one of {', '.join(DRIVES)}, not {drive!r}")
    streamed = [name for name, value in arrays.items() if isinstance(value, NpyRows)]
    stimulus = {"ops": np.array(json.dumps(ops)), "drive": np.array(drive),
                "streamed": np.array(json.dumps(streamed))}
    stimulus |= {name: np.array(str(Path(value.path).resolve())) if name in streamed
                 else np.asarray(value) for name, value in arrays.items()}
    out, build_s, wall_s = run_testbench(cfg, TB_MODULE, stimulus, waves=waves,
                                         verbose=verbose,
                                         top=top or TOPS[drive])
    records = json.loads(str(out["records"]))
    for key, value in out.items():
        index, _, name = key.partition("_")
        if index.isdigit():
            records[int(index)][name] = value
    device = {name: out[name] for name in ("state", "conductance", "reads", "pulses_applied")
              if name in out}
    return Played(records=records, cycles=int(out["cycles"]), first_request=int(out["first_request"]),
                  violations=json.loads(str(out["violations"])), arrays=device,
                  build_s=build_s, wall_s=wall_s)


def cycle_budget(cfg, vectors):
    """A generous cycle bound for `vectors` MVMs under any pause pattern the runs use."""
    return 4 * (vectors + 4) * (cfg.analog_cycles_per_mvm + 64) + 1000


def register_writes(words):
    """Write operations for ``(register name, word)`` pairs."""
    return [Op.write(register(name).offset, word) for name, word in words]


def simulate(cfg, W, X, *, seed=0, conductances=None, in_bits=None, adc_shift=None,
             frame_vectors=1, pauses=None, drive="bulk", out=None, remap=None, waves=None,
             verbose=False):
    """Co-simulate `X` through the host top of `cfg` holding weights `W`.

    Settings are written through AXI4-Lite, vectors sent and results received through
    AXI4-Stream, and the results compared with the golden model at the same settings.

    Parameters
    ----------
    seed : int
        Seeds the analog model, as the golden model does.
    conductances : array (rows, cols_phys), optional
        Cell conductances (uS) left by programming `W`; by default its ideal levels.
    in_bits, adc_shift : int, optional
        Run-time settings (default: the configured ones).
    frame_vectors : int
        Vectors per batch (frame); with 1, every result is time-stamped.
    pauses : (in_prob, in_max, out_prob, out_max), optional
        Random TVALID gaps on the inputs and TREADY back-pressure on the outputs.
    drive : ``"bulk"`` or ``"vip"``
        Stimulus, results and analog answers in bulk through the simulated top (fast), or
        beat by beat and plane by plane from Python (see :func:`play`); both give the same
        results in the same cycles.
    out : path, optional
        Bulk drive: write the results there (``.npy``) as they arrive; the run's ``Y`` is
        then an :class:`~cimtile.spec.npy_rows.NpyRows` of that file. With `X` an ``NpyRows``
        too, neither the inputs nor the results are ever held whole, in this process or
        the simulator's, so memory does not grow with the run.
    remap : array of int, optional
        The column remap table (spare columns), written before the settings; the golden
        model reads through the same table.

    Returns
    -------
    HostRun

    Raises
    ------
    BuildError, SimulationError
        Also when a write is refused, a result is missing, or the AXI checker fires.
    """
    at = cfg.at(in_bits, adc_shift)
    in_bits, adc_shift = at.tile.in_bits, at.tile.adc_shift
    if out is not None and drive != "bulk":
        raise ValueError("out needs the bulk drive")
    X = X if isinstance(X, NpyRows) else np.asarray(X, np.int64)
    arrays = {"W": np.asarray(W, np.int64), "X": X, "seed": seed}
    if conductances is not None:
        arrays["G"] = np.asarray(conductances, float)
    names = {"X": "X"}
    if remap is not None:
        arrays["remap"], names["remap"] = check_remap(remap, cfg), "remap"
    ops = [Op.pauses(*pauses)] if pauses else []
    ops.append(Op.driver("compute", names, in_bits=in_bits, adc_shift=adc_shift,
                         frame_vectors=frame_vectors, budget=cycle_budget(cfg, len(X)),
                         out=None if out is None else str(Path(out).resolve())))
    played = play(cfg, ops, arrays, drive=drive, waves=waves, verbose=verbose)
    streamed = played.records[-1]
    if "write_refused" in streamed:
        raise SimulationError(streamed["write_refused"])
    Y = streamed["Y"] if out is None else NpyRows(out)
    if streamed["timeout"]:
        raise SimulationError(f"only {len(Y)} of {len(X)} results arrived")
    checked = {}
    if "verdict" in streamed:
        # Checked in the simulator as the results arrived: the inputs are not read again.
        verdict = Verdict(**streamed["verdict"])
        checked = {"errors": ErrorSums(**streamed["errors"]).metrics(),
                   "driven": streamed["driven"]}
    else:
        verdict = golden_verdict(cfg, W, X, Y, seed, conductances, in_bits=in_bits,
                                 adc_shift=adc_shift, remap=remap)
    return HostRun(Y=Y, frame_cycles=streamed["frame_cycles"],
                   frame_vectors=streamed["frame_vectors"], first_request=played.first_request,
                   verdict=verdict,
                   build_s=played.build_s, wall_s=played.wall_s,
                   stream_s=float(streamed["stream_s"]), wakeups=streamed.get("wakeups"),
                   **checked)


def program(cfg, levels, *, faults=None, settings=None, rect=None, runs=1, seed=0,
            drive="bulk", waves=None, verbose=False):
    """Co-simulate programming target `levels` into a memdiode array through the host top.

    The write-verify settings and rectangle are written to the WV_* registers, the mode set
    to program, and each run started with CTRL.start (see :meth:`Op.program`); targets go out on ``s_axis_target``
    and the per-cell results come back on ``m_axis_cell``.

    With `drive` ``"bulk"`` the targets, the results and the device's answers cross in bulk:
    the golden write-verify computes every verify read and pulse ahead and the bulk top
    checks each request the tile makes against it; ``"vip"`` answers every request from
    Python as it comes. Both give the same results in the same cycles. Other parameters and
    the result as for :func:`cimtile.tb.runs.runner.program`.
    """
    shape = (cfg.tile.rows, cfg.cols_phys)
    settings = settings or cfg.write_verify
    rect = rect or Rectangle.whole(*shape)
    faults = np.zeros(shape, np.int64) if faults is None else np.asarray(faults, np.int64)
    targets = np.asarray(levels, np.int64)[rect.row_first:rect.row_last + 1,
                                           rect.col_first:rect.col_last + 1].reshape(-1)
    budget = targets.size * (settings.max_pulses + 1) * (
        settings.pulse_width + cfg.timing.t_settle + cfg.timing.t_adc + 8) + 1000
    ops = [Op.driver("program", {"targets": "targets"}, cells=targets.size, settings=settings,
                     rect=rect, runs=runs, budget=budget)]
    played = play(cfg, ops, {"targets": targets, "faults": faults, "seed": seed},
                  drive=drive, waves=waves, verbose=verbose)
    record = played.records[-1]
    if "write_refused" in record:
        raise SimulationError(f"while programming: {record['write_refused']}")
    if any(resp != AxiResp.OKAY for resp in record["start_resp"]):
        raise SimulationError("CTRL.start refused while programming")
    if any(record["refused"]):
        raise SimulationError("the tile refused the write-verify settings")
    if any(record["timeout"]):
        raise SimulationError("programming did not finish within its cycle budget")
    return ProgramRun(
        pulses=record["pulses"], converged=record["converged"].astype(bool),
        cycles_total=played.cycles, state=played.arrays["state"],
        conductance=played.arrays["conductance"], reads=int(played.arrays["reads"]),
        pulses_applied=int(played.arrays["pulses_applied"]), build_s=played.build_s,
        wall_s=played.wall_s)
