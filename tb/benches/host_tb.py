"""cocotb player for the host top: runs a list of bus operations, records what came back.

The tile is driven only through its AXI4-Lite and AXI4-Stream ports, by cocotbext-axi's
AxiLiteMaster, AxiStreamSource and AxiStreamSink; its analog port is answered by the
behavioural models. The operations come from :func:`cimtile.tb.runs.host_runner.play` in the
stimulus file; each appends one record to the results, which the caller checks against its
own expectations (register map, golden model). A protocol checker in the simulation top
fails the run on the first AXI rule a port breaks.
"""

import copy
import gc
import json
import os
import time

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge, SimTimeoutError, with_timeout
from cocotbext.axi import (AxiLiteBus, AxiLiteMaster, AxiStreamBus, AxiStreamFrame,
                           AxiStreamSink, AxiStreamSource)

from cimtile.behavioral import AnalogMacro
from cimtile.behavioral.device import MemdiodeArray
from cimtile.hdl.axi_checker import rule_message
from cimtile.models.program import Rectangle, program_golden, read_back_golden
from cimtile.spec.axis_frames import pack_targets, pack_vectors, unpack_cells, unpack_vectors
from cimtile.spec.config import WriteVerifyConfig, parse_config
from cimtile.spec.npy_rows import NpyRowWriter, NpyRows

from .analog import AnalogBinding
from .bulk_driver import BulkStream
from .cell_access import CellAccessBinding
from .clocking import CLOCK_PERIOD_NS, cycle_now
from ..transport.exchange import ENV_IN, ENV_OUT
from ..tops.host_top import CHECKED
from ..tops.pauses import pause_pattern, replay

RESET_CYCLES = 4
#: Operations the bulk drive plays (the others need the bus VIP on every stream).
BULK_OPS = ("write", "read", "stream", "program", "pauses", "idle", "wait_irq", "wl_fault")
#: Cycles a register access may take; the register block answers in a few.
BUS_BUDGET = 200


class HostBench:
    """The host top with its VIP, analog bindings and protocol checker.

    With `drive` ``"vip"`` cocotbext-axi drives the compute streams beat by beat and the
    analog binding answers every plane; with ``"bulk"`` the bulk top's player, recorder and
    analog queue do (:mod:`cimtile.tb.benches.bulk_driver`), and only the other ports have VIP.
    """

    def __init__(self, dut, cfg, arrays, seed, drive):
        self.dut, self.cfg, self.arrays, self.drive = dut, cfg, arrays, drive
        self.rng = np.random.default_rng([seed, 1])
        self.master = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil_"), dut.clk, dut.rst)
        # In bulk drive the compute streams are the bulk top's; the programming streams get
        # no VIP either, whose idle monitors would still cost the simulator on every step.
        streams = []
        if drive == "vip":
            self.source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis_in_"),
                                          dut.clk, dut.rst)
            self.sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis_out_"), dut.clk,
                                      dut.rst)
            self.targets = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis_target_"),
                                           dut.clk, dut.rst)
            self.cells = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis_cell_"),
                                       dut.clk, dut.rst)
            streams = [self.source, self.sink, self.targets, self.cells]
        else:
            self.bulk = BulkStream(dut, cfg)
        for vip in (self.master.write_if, self.master.read_if, *streams):
            vip.log.setLevel("WARNING")
        self.analog = None
        self.macro = None
        self.cell_access = None
        self.device = None
        self.requests = {"reads": 0, "pulses": 0}
        self.records = []

    def first_request(self):
        """Cycle (from reset release) of the first analog sample request, -1 before one."""
        if self.drive == "bulk":
            return getattr(self, "first_sample", -1)
        return self.analog.stamps[0] - self.start if self.analog and self.analog.stamps else -1

    async def reset(self):
        self.dut.rst.value = 1
        if self.drive == "vip":
            self.dut.analog__codes.value = 0
            self.dut.analog__cell__read_code.value = 0
        await ClockCycles(self.dut.clk, RESET_CYCLES)
        self.dut.rst.value = 0
        await RisingEdge(self.dut.clk)
        self.start = cycle_now()

    def bind(self, W, G, seed, levels_faults):
        if W is not None:
            self.macro = AnalogMacro.for_array(self.cfg, W, np.random.default_rng(seed), G)
            if self.drive == "vip":
                self.analog = AnalogBinding(self.dut, self.cfg, self.macro)
                cocotb.start_soon(self.analog.run())
        if levels_faults is not None:
            self.device = MemdiodeArray(self.cfg.device,
                                        (self.cfg.tile.rows, self.cfg.cols_phys),
                                        np.random.default_rng(seed), levels_faults)
            if self.drive == "vip":
                self.cell_access = CellAccessBinding(self.dut, self.cfg, self.device)
                cocotb.start_soon(self.cell_access.run())

    def device_requests(self):
        """Verify reads and pulses the device answered so far."""
        if self.cell_access:
            return {"reads": self.cell_access.reads, "pulses": self.cell_access.pulses}
        return self.requests

    async def within(self, trigger, cycles):
        try:
            return await with_timeout(trigger, cycles * CLOCK_PERIOD_NS, "ns")
        except SimTimeoutError:
            return None

    # Operations: each returns the record it appends.

    async def op_write(self, offset, value, strobe=0xF):
        data = int(value).to_bytes(4, "little")
        # cocotbext-axi derives WSTRB from the bytes written: write the strobed span only.
        lanes = [i for i in range(4) if strobe >> i & 1]
        first, last = lanes[0], lanes[-1]
        resp = await self.within(self.master.write(offset + first, data[first:last + 1]),
                                 BUS_BUDGET)
        if resp is None:
            raise AssertionError(f"register write to {offset:#x} got no response within "
                                 f"{BUS_BUDGET} cycles")
        return {"resp": int(resp.resp)}

    async def op_read(self, offset):
        resp = await self.within(self.master.read(offset, 4), BUS_BUDGET)
        if resp is None:
            raise AssertionError(f"register read of {offset:#x} got no response within "
                                 f"{BUS_BUDGET} cycles")
        return {"resp": int(resp.resp), "value": int.from_bytes(resp.data, "little")}

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

    async def op_stream(self, x, frame_vectors, in_bits, adc_shift, budget, out=None):
        """Send array `x` as frames (batches) of `frame_vectors` vectors, all queued at once;
        collect the result frames and the cycle each ended. `in_bits` and `adc_shift` are
        the run-time settings the tile was given (the bulk drive computes the analog
        answers ahead from them). With `out` (a path), the bulk drive writes the results
        there as they arrive, as a ``.npy`` file, instead of recording ``Y``."""
        X = self.arrays[x]
        start = time.perf_counter()
        if self.drive == "bulk":
            wakeups = self.bulk.wakeups
            if out is None:
                result = await self.bulk.run(X, frame_vectors, in_bits, adc_shift, self.macro,
                                             budget)
            else:
                with NpyRowWriter(out, np.int64, (self.cfg.tile.cols,)) as writer:
                    result = await self.bulk.run(X, frame_vectors, in_bits, adc_shift,
                                                 self.macro, budget, writer)
                result["Y_rows"] = writer.rows
            self.first_sample = result.pop("first_sample_cycle")
            error = result.pop("error")
            assert error is None, error
            return result | {"stream_s": time.perf_counter() - start,
                             "wakeups": self.bulk.wakeups - wakeups}
        X = X.read() if isinstance(X, NpyRows) else X
        frames = [X[i:i + frame_vectors] for i in range(0, len(X), frame_vectors)]
        for frame in frames:
            self.source.send_nowait(self._frame(frame))
        received, stamps = [], []
        for _ in frames:
            frame = await self.within(self.sink.recv(), budget)
            if frame is None:
                break
            stamps.append(cycle_now() - self.start)
            received.append(self._results(frame))
        return {"Y": self._stacked(received), "frame_cycles": np.array(stamps, np.int64),
                "frame_vectors": np.array([len(r) for r in received], np.int64),
                "timeout": len(received) < len(frames),
                "stream_s": time.perf_counter() - start}

    async def op_send(self, x, frame_vectors):
        """Queue `x` as frames on the input stream and go on at once."""
        X = self.arrays[x]
        for i in range(0, len(X), frame_vectors):
            self.source.send_nowait(self._frame(X[i:i + frame_vectors]))
        return {}

    async def op_collect(self, frames, budget):
        """Receive `frames` result frames (null beats dropped); stop early on a timeout."""
        received = []
        for _ in range(frames):
            frame = await self.within(self.sink.recv(), budget)
            if frame is None:
                break
            received.append(self._results(frame))
        return {"Y": self._stacked(received),
                "frame_vectors": np.array([len(r) for r in received], np.int64),
                "timeout": len(received) < frames}

    async def op_send_raw(self, data, tkeep, budget):
        """One frame of raw bytes (with a per-byte TKEEP) on the input stream."""
        frame = AxiStreamFrame(bytes(self.arrays[data]),
                               tkeep=[int(k) for k in self.arrays[tkeep]])
        await self.within(self.source.send(frame), budget)
        await self.within(self.source.wait(), budget)
        return {}

    async def _start(self, ctrl_offset, start, status_offset, error_mask):
        """Write CTRL.start and read STATUS: the start's record, ``refused`` if the tile
        refused the settings."""
        written = await self.op_write(ctrl_offset, start)
        status = await self.op_read(status_offset)
        return {"start_resp": written["resp"], "status": status["value"],
                "refused": bool(status["value"] & error_mask)}

    async def op_program(self, levels, cells, budget, ctrl_offset, start, status_offset,
                         error_mask, settings=None, rect=None):
        """Start write-verify; unless STATUS shows the start refused, send the target levels
        of `cells` cells and collect their per-cell results. The bulk drive needs the
        write-verify `settings` and the rectangle `rect` the tile was given."""
        starting = (ctrl_offset, start, status_offset, error_mask)
        if self.drive == "bulk":
            return await self._program_bulk(levels, cells, budget, settings, rect, starting)
        started = await self._start(*starting)
        if started["refused"]:
            return started | {"timeout": False}
        width = self.cfg.host.data_width
        if levels is not None:
            await self.targets.send(AxiStreamFrame(pack_targets(self.arrays[levels], width)))
        frame = await self.within(self.cells.recv(compact=True), budget)
        if frame is None:
            return started | {"timeout": True}
        result = unpack_cells(bytes(frame.tdata), cells, width)
        return started | {"timeout": False, **result._asdict()}

    async def _program_bulk(self, levels, cells, budget, settings, rect, starting):
        """Program or read back with the bulk top. The golden write-verify, run on a copy of
        the device before the start (a read-back needs its answers at once), gives every
        request the tile must make, in order, with the answers to its reads; the copy
        becomes the device unless the start is refused."""
        assert settings is not None and rect is not None, \
            "the bulk drive programs only with the settings and rectangle given"
        settings, rect = WriteVerifyConfig(**settings), Rectangle(*rect)
        tile = self.cfg.tile
        device = copy.deepcopy(self.device)
        targets = None if levels is None else self.arrays[levels]
        if targets is None:
            _, requests = read_back_golden(device, rect, adc_bits=tile.adc_bits)
        else:
            requests = program_golden(device, targets.reshape(rect.shape), rect, settings,
                                      bits_per_cell=tile.bits_per_cell,
                                      adc_bits=tile.adc_bits).requests
        result = await self.bulk.program(targets, requests, settings.pulse_width, budget,
                                         lambda: self._start(*starting))
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

    async def op_soft_reset_after(self, requests, ctrl_offset, value, budget):
        """Soft-reset once `requests` analog requests have been answered."""
        await self.within(self.analog.after(requests).wait(), budget)
        return await self.op_write(ctrl_offset, value)

    async def op_wait_irq(self, budget):
        if self.dut.irq.value:
            return {"irq": True}
        return {"irq": await self.within(RisingEdge(self.dut.irq), budget) is not None}

    async def op_idle(self, cycles):
        await ClockCycles(self.dut.clk, cycles)
        return {"irq": bool(self.dut.irq.value)}

    async def op_wl_fault(self, plane):
        """Bulk drive only: the analog queue's self-test (see
        :meth:`~cimtile.tb.benches.bulk_driver.BulkStream.inject_wl_fault`)."""
        self.bulk.inject_wl_fault(plane)
        return {}

    async def op_pauses(self, in_prob, in_max, out_prob, out_max):
        """TVALID gaps on the input streams and TREADY back-pressure on the output streams,
        from per-cycle patterns drawn once (the same in both drive modes)."""
        pattern_in = pause_pattern(self.rng, in_prob, in_max)
        pattern_out = pause_pattern(self.rng, out_prob, out_max)
        now = cycle_now() - self.start
        if self.drive == "bulk":
            self.bulk.set_pauses(pattern_in, pattern_out)
            return {}
        for vip, pattern in [(self.source, pattern_in), (self.targets, pattern_in),
                             (self.sink, pattern_out), (self.cells, pattern_out)]:
            if pattern.any():
                vip.set_pause_generator(replay(pattern, now))
            else:
                # Stopping a generator leaves its last value: unpause explicitly.
                vip.set_pause_generator(None)
                vip.pause = False
        return {}


async def watch_protocol(dut, problems):
    """Append the first AXI rule the simulated top's checkers flag to `problems`."""
    await RisingEdge(dut.check__violation)
    await ReadOnly()
    interface = CHECKED[int(dut.check__interface.value)]
    problems.append(f"AXI protocol violation on {interface} at cycle {cycle_now()}: "
                    f"{rule_message(int(dut.check__rule.value))}")


@cocotb.test()
async def host_play(dut):
    """Play the operations of the stimulus file; record every answer."""
    with np.load(os.environ[ENV_IN]) as data:
        cfg = parse_config(json.loads(str(data["config"])))
        ops = json.loads(str(data["ops"]))
        streamed = json.loads(str(data["streamed"])) if "streamed" in data.files else []
        arrays = {name: data[name] for name in data.files
                  if name not in ("config", "ops", "streamed")}
    # Streamed arrays come as paths of .npy files, read a chunk at a time.
    arrays |= {name: NpyRows(str(arrays[name])) for name in streamed}
    seed = int(arrays.get("seed", 0))
    # Everything allocated so far lives for the whole run: keep the collector off it, and
    # collect rarely (the run allocates much and frees little).
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    bench = HostBench(dut, cfg, arrays, seed, str(arrays.pop("drive", "vip")))
    await bench.reset()
    bench.bind(arrays.get("W"), arrays.get("G") if "G" in arrays else None, seed,
               arrays.get("faults"))
    problems = []
    cocotb.start_soon(watch_protocol(dut, problems))
    records = []
    for op in ops:
        kind = op.pop("op")
        assert bench.drive == "vip" or kind in BULK_OPS, \
            f"operation {kind!r} needs the vip drive"
        record = await getattr(bench, f"op_{kind}")(**op)
        records.append(record)
        if problems:
            break
    out = {"records": np.array(json.dumps(
        [{k: v for k, v in r.items() if not isinstance(v, np.ndarray)} for r in records]))}
    for index, record in enumerate(records):
        for key, value in record.items():
            if isinstance(value, np.ndarray):
                out[f"{index}_{key}"] = value
    out["cycles"] = cycle_now() - bench.start
    out["first_request"] = bench.first_request()
    if bench.device is not None:
        device, requests = bench.device, bench.device_requests()
        out |= {"state": device.state.reshape(device.shape),
                "conductance": device.conductances(),
                "reads": requests["reads"], "pulses_applied": requests["pulses"]}
    # A breach of the analog timing contract fails the run as a protocol breach does.
    problems += bench.analog.violations if bench.analog else []
    out["violations"] = np.array(json.dumps(problems))
    if "coverage_out" in arrays:    # the coverage monitor's counters, read once per run
        with open(str(arrays["coverage_out"]), "w") as file:
            file.write(str(dut.cov__counts.value))
    np.savez(os.environ[ENV_OUT], **out)
    assert not problems, "; ".join(problems[:5])
