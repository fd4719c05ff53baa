"""The host top's ports in the simulator: how a register access, a batch and a programming
run reach the tile.

Both ports reach the registers through cocotbext-axi's AxiLiteMaster. :class:`VipPort`
moves every stream beat by beat with cocotbext-axi and answers the analog and cell ports
from Python as requests come; :class:`BulkPort` moves batches through the bulk top's rings
(:mod:`.bulk_driver`), with the analog answers and the device's verify reads computed ahead.
The host driver's sequences (:mod:`cimtile.spec.host_driver`) run over either, awaited by
:func:`drive`.
"""

import copy
import dataclasses
import time

import cocotb
import numpy as np
from cocotb.triggers import SimTimeoutError, with_timeout
from cocotbext.axi import (AxiLiteBus, AxiLiteMaster, AxiResp, AxiStreamBus, AxiStreamFrame,
                           AxiStreamSink, AxiStreamSource)

from cimtile.models.program import Rectangle, program_golden, read_back_golden
from cimtile.models.stream_check import StreamCheck
from cimtile.spec.axis_frames import pack_targets, pack_vectors, unpack_cells, unpack_vectors
from cimtile.spec.config import WriteVerifyConfig
from cimtile.spec.host_driver import answer
from cimtile.spec.npy_rows import NpyRowWriter, NpyRows
from cimtile.spec.regmap import register

from .analog import AnalogBinding
from .bulk_driver import BulkStream
from .cell_access import CellAccessBinding
from .clocking import CLOCK_PERIOD_NS, cycle_now
from ..tops.pauses import replay

__all__ = ["BUS_BUDGET", "VipPort", "BulkPort", "within", "drive"]

#: Cycles a register access may take; the register block answers in a few.
BUS_BUDGET = 200


async def within(trigger, cycles):
    """What `trigger` gives, or None if it does not fire within `cycles` cycles."""
    try:
        return await with_timeout(trigger, cycles * CLOCK_PERIOD_NS, "ns")
    except SimTimeoutError:
        return None


async def drive(sequence, port):
    """Run a host driver `sequence` over `port` (a :class:`VipPort` or :class:`BulkPort`),
    awaiting each answer; its return value."""
    bus = _DriverPort(port)
    reply = None
    try:
        while True:
            reply = await answer(bus, sequence.send(reply))
    except StopIteration as stop:
        return stop.value


class _DriverPort:
    """A port's bus operations as the host driver's transactions take them: registers by
    name, a refusal as False, batches and programming runs checked as they stream."""

    def __init__(self, port):
        self.port = port

    async def write(self, name, word):
        record = await self.port.write(register(name).offset, word)
        return record["resp"] == AxiResp.OKAY

    async def read(self, name):
        return (await self.port.read(register(name).offset))["value"]

    async def compute(self, batch):
        return await self.port.stream(batch.X, in_bits=batch.in_bits,
                                      adc_shift=batch.adc_shift, checked=True,
                                      remap=batch.remap, **batch.options)

    async def program(self, run):
        return await self.port.program(run.targets, run.cells, settings=run.settings,
                                       rect=run.rect, **run.options)


class _Port:
    """Register access, common to both ports.

    Parameters
    ----------
    dut
        The simulated top.
    cfg : Config
    """

    def __init__(self, dut, cfg):
        self.dut, self.cfg = dut, cfg
        self.master = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil_"), dut.clk, dut.rst)
        self.start = 0              # cycle of reset release
        self.device = None          # the programmable memdiode array, once bound
        for vip in (self.master.write_if, self.master.read_if):
            vip.log.setLevel("WARNING")

    async def write(self, offset, value, strobe=0xF):
        data = int(value).to_bytes(4, "little")
        # cocotbext-axi derives WSTRB from the bytes written: write the strobed span only.
        lanes = [i for i in range(4) if strobe >> i & 1]
        first, last = lanes[0], lanes[-1]
        resp = await within(self.master.write(offset + first, data[first:last + 1]),
                            BUS_BUDGET)
        if resp is None:
            raise AssertionError(f"register write to {offset:#x} got no response within "
                                 f"{BUS_BUDGET} cycles")
        return {"resp": int(resp.resp)}

    async def read(self, offset):
        resp = await within(self.master.read(offset, 4), BUS_BUDGET)
        if resp is None:
            raise AssertionError(f"register read of {offset:#x} got no response within "
                                 f"{BUS_BUDGET} cycles")
        return {"resp": int(resp.resp), "value": int.from_bytes(resp.data, "little")}

    async def start_program(self):
        """Write CTRL.start and read STATUS: the start's record, ``refused`` if the tile
        refused the settings."""
        status = register("STATUS")
        written = await self.write(register("CTRL").offset, register("CTRL").pack(start=1))
        value = (await self.read(status.offset))["value"]
        return {"start_resp": written["resp"], "status": value,
                "refused": bool(value & status.pack(error=1))}


class VipPort(_Port):
    """Every stream beat by cocotbext-axi, every analog and cell request answered from
    Python as it comes."""

    def __init__(self, dut, cfg):
        super().__init__(dut, cfg)
        self.source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis_in_"), dut.clk,
                                      dut.rst)
        self.sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis_out_"), dut.clk,
                                  dut.rst)
        self.targets = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis_target_"),
                                       dut.clk, dut.rst)
        self.cells = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis_cell_"), dut.clk,
                                   dut.rst)
        for vip in (self.source, self.sink, self.targets, self.cells):
            vip.log.setLevel("WARNING")
        self.analog = self.cell_access = None

    def reset_values(self):
        """Drive the analog port's answers to 0 (during reset)."""
        self.dut.analog__codes.value = 0
        self.dut.analog__cell__read_code.value = 0

    def bind(self, macro, device, W=None):
        """Answer the analog port from `macro` and the cell port from `device` (either may
        be None); `W` is the bulk port's."""
        if macro is not None:
            self.analog = AnalogBinding(self.dut, self.cfg, macro)
            cocotb.start_soon(self.analog.run())
        if device is not None:
            self.device = device
            self.cell_access = CellAccessBinding(self.dut, self.cfg, device)
            cocotb.start_soon(self.cell_access.run())

    def first_request(self):
        """Cycle (from reset release) of the first analog sample request, -1 before one."""
        return self.analog.stamps[0] - self.start if self.analog and self.analog.stamps else -1

    def device_requests(self):
        """Verify reads and pulses the device answered so far."""
        return {"reads": self.cell_access.reads, "pulses": self.cell_access.pulses}

    def _frame(self, X):
        """An input frame (one batch) holding the vectors `X`."""
        return AxiStreamFrame(pack_vectors(X, self.cfg.tile.in_bits,
                                           self.cfg.host.data_width))

    def _results(self, frame):
        """The result vectors of a result frame (null beats already dropped)."""
        data = bytes(frame.tdata)
        if not data:
            return np.zeros((0, self.cfg.tile.cols), np.int64)
        return unpack_vectors(data, self.cfg.result_width, self.cfg.tile.cols,
                              self.cfg.host.data_width)

    def _stacked(self, results):
        return (np.concatenate(results) if results
                else np.zeros((0, self.cfg.tile.cols), np.int64))

    async def stream(self, X, *, frame_vectors, budget, in_bits=None, adc_shift=None,
                     out=None, checked=False, remap=None):
        """Send `X` as frames of `frame_vectors` vectors, all queued at once; collect the
        result frames and the cycle each ended. The results are checked afterwards, by the
        caller (`checked` and `remap` are the bulk port's)."""
        start = time.perf_counter()
        X = X.read() if isinstance(X, NpyRows) else X
        frames = [X[i:i + frame_vectors] for i in range(0, len(X), frame_vectors)]
        for frame in frames:
            self.source.send_nowait(self._frame(frame))
        received, stamps = [], []
        for _ in frames:
            frame = await within(self.sink.recv(), budget)
            if frame is None:
                break
            stamps.append(cycle_now() - self.start)
            received.append(self._results(frame))
        return {"Y": self._stacked(received), "frame_cycles": np.array(stamps, np.int64),
                "frame_vectors": np.array([len(r) for r in received], np.int64),
                "timeout": len(received) < len(frames),
                "stream_s": time.perf_counter() - start}

    async def send(self, X, frame_vectors):
        """Queue `X` as frames on the input stream and go on at once."""
        for i in range(0, len(X), frame_vectors):
            self.source.send_nowait(self._frame(X[i:i + frame_vectors]))
        return {}

    async def collect(self, frames, budget):
        """Receive `frames` result frames (null beats dropped); stop early on a timeout."""
        received = []
        for _ in range(frames):
            frame = await within(self.sink.recv(), budget)
            if frame is None:
                break
            received.append(self._results(frame))
        return {"Y": self._stacked(received),
                "frame_vectors": np.array([len(r) for r in received], np.int64),
                "timeout": len(received) < frames}

    async def send_raw(self, data, tkeep, budget):
        """One frame of raw bytes (with a per-byte TKEEP) on the input stream."""
        frame = AxiStreamFrame(bytes(data), tkeep=[int(k) for k in tkeep])
        await within(self.source.send(frame), budget)
        await within(self.source.wait(), budget)
        return {}

    async def program(self, targets, cells, *, budget, settings=None, rect=None):
        """Start write-verify; unless STATUS shows the start refused, send `targets` (None
        reads back) and collect the per-cell results of `cells` cells."""
        started = await self.start_program()
        if started["refused"]:
            return started | {"timeout": False}
        width = self.cfg.host.data_width
        if targets is not None:
            await self.targets.send(AxiStreamFrame(pack_targets(targets, width)))
        frame = await within(self.cells.recv(compact=True), budget)
        if frame is None:
            return started | {"timeout": True}
        result = unpack_cells(bytes(frame.tdata), cells, width)
        return started | {"timeout": False, **result._asdict()}

    def pauses(self, pattern_in, pattern_out, now):
        """TVALID gaps on the input streams and TREADY back-pressure on the output streams,
        replaying per-cycle patterns from cycle `now`."""
        for vip, pattern in [(self.source, pattern_in), (self.targets, pattern_in),
                             (self.sink, pattern_out), (self.cells, pattern_out)]:
            if pattern.any():
                vip.set_pause_generator(replay(pattern, now))
            else:
                # Stopping a generator leaves its last value: unpause explicitly.
                vip.set_pause_generator(None)
                vip.pause = False


class BulkPort(_Port):
    """Batches through the bulk top's player, recorder and analog queue; programming runs
    through its target player, cell recorder and cell queue, from the golden write-verify's
    requests computed ahead. The programming streams get no VIP: their idle monitors would
    still cost the simulator on every step."""

    def __init__(self, dut, cfg):
        super().__init__(dut, cfg)
        self.bulk = BulkStream(dut, cfg)
        self.macro = self.W = None
        self.first_sample = -1
        self.requests = {"reads": 0, "pulses": 0}

    def reset_values(self):
        """Nothing to drive: the bulk top answers the analog and cell ports."""

    def bind(self, macro, device, W=None):
        """Answer the analog queue from `macro` and the cell queue from `device`; with the
        weights `W`, batches sent by the host driver are checked as they stream."""
        self.macro, self.device, self.W = macro, device, W

    def first_request(self):
        return self.first_sample

    def device_requests(self):
        return self.requests

    async def stream(self, X, *, frame_vectors, budget, in_bits, adc_shift, out=None,
                     checked=False, remap=None):
        """Stream `X` through the rings at the run-time settings the tile was given (the
        analog answers are computed ahead from them). With `out` (a path) the results go
        there as they arrive, as a ``.npy`` file, instead of ``Y``.

        With `checked` (and weights bound), each chunk of `X` is read once for its beats,
        its answers and its expectations, and the record adds the golden ``verdict``
        (:class:`~cimtile.models.verdict.Verdict` fields), the error against ``X @ W``
        (``errors``) and the planes that drove each row (``driven``), with the column
        `remap` table the tile holds."""
        start = time.perf_counter()
        wakeups = self.bulk.wakeups
        check = None
        if checked and self.W is not None:
            at = self.cfg.at(in_bits, adc_shift)
            check = StreamCheck(at, self.W, remap)
        if out is None:
            result = await self.bulk.run(X, frame_vectors, in_bits, adc_shift, self.macro,
                                         budget, check=check)
        else:
            with NpyRowWriter(out, np.int64, (self.cfg.tile.cols,)) as writer:
                result = await self.bulk.run(X, frame_vectors, in_bits, adc_shift,
                                             self.macro, budget, writer, check=check)
            result["Y_rows"] = writer.rows
        self.first_sample = result.pop("first_sample_cycle")
        error = result.pop("error")
        assert error is None, error
        if check is not None:
            result |= {"verdict": dataclasses.asdict(check.verdict),
                       "errors": dataclasses.asdict(check.errors), "driven": check.driven}
        return result | {"stream_s": time.perf_counter() - start,
                         "wakeups": self.bulk.wakeups - wakeups}

    async def program(self, targets, cells, *, budget, settings, rect):
        """Program or read back with the bulk top. The golden write-verify, run on a copy of
        the device before the start (a read-back needs its answers at once), gives every
        request the tile must make, in order, with the answers to its reads; the copy
        becomes the device unless the start is refused."""
        assert settings is not None and rect is not None, \
            "the bulk drive programs only with the settings and rectangle given"
        settings = settings if isinstance(settings, WriteVerifyConfig) \
            else WriteVerifyConfig(**settings)
        rect = rect if isinstance(rect, Rectangle) else Rectangle(*rect)
        tile = self.cfg.tile
        device = copy.deepcopy(self.device)
        if targets is None:
            _, requests = read_back_golden(device, rect, adc_bits=tile.adc_bits)
        else:
            requests = program_golden(device, targets.reshape(rect.shape), rect, settings,
                                      bits_per_cell=tile.bits_per_cell,
                                      adc_bits=tile.adc_bits).requests
        result = await self.bulk.program(targets, requests, settings.pulse_width, budget,
                                         self.start_program)
        started = result["started"]
        if started["refused"]:
            return started | {"timeout": False}
        assert result["error"] is None, result["error"]
        self.device = device
        self.requests["pulses"] += int(requests.pulse.sum())
        self.requests["reads"] += int((~requests.pulse).sum())
        if result["timeout"]:
            return started | {"timeout": True}
        cells_out = unpack_cells(result["data"], cells, self.cfg.host.data_width)
        return started | {"timeout": False, **cells_out._asdict()}

    def pauses(self, pattern_in, pattern_out, now):
        self.bulk.set_pauses(pattern_in, pattern_out)

    def wl_fault(self, plane):
        """The analog queue's self-test (see
        :meth:`~cimtile.tb.benches.bulk_driver.BulkStream.inject_wl_fault`)."""
        self.bulk.inject_wl_fault(plane)
