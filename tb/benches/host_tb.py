"""cocotb player for the host top: runs a list of bus operations, records what came back.

The tile is driven only through its AXI4-Lite and AXI4-Stream ports, by cocotbext-axi's
AxiLiteMaster, AxiStreamSource and AxiStreamSink; its analog port is answered by the
behavioural models. The operations come from :func:`cimtile.tb.runs.host_runner.play` in the
stimulus file; each appends one record to the results, which the caller checks against its
own expectations (register map, golden model). A protocol checker in the simulation top
fails the run on the first AXI rule a port breaks.
"""

import gc
import json
import os

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge

from cimtile.behavioral import AnalogMacro
from cimtile.behavioral.device import MemdiodeArray
from cimtile.hdl.axi_checker import rule_message
from cimtile.models.program import Rectangle
from cimtile.spec import host_driver
from cimtile.spec.config import WriteVerifyConfig, parse_config
from cimtile.spec.npy_rows import NpyRows

from .clocking import cycle_now
from .host_ports import BulkPort, VipPort, drive, within
from ..tops.host_top import CHECKED
from ..tops.pauses import pause_pattern
from ..transport.exchange import ENV_IN, ENV_OUT

RESET_CYCLES = 4
#: Operations the bulk drive plays (the others need the bus VIP on every stream).
BULK_OPS = ("write", "read", "stream", "program", "pauses", "idle", "wait_irq", "wl_fault",
            "driver")


class HostBench:
    """The host top behind the port of its drive, with the analog bindings and the
    protocol checker.

    With `drive` ``"vip"`` cocotbext-axi drives the compute streams beat by beat and the
    analog binding answers every plane (:class:`~.host_ports.VipPort`); with ``"bulk"`` the
    bulk top's player, recorder and analog queue do (:class:`~.host_ports.BulkPort`).
    """

    def __init__(self, dut, cfg, arrays, seed, drive):
        self.dut, self.cfg, self.arrays, self.drive = dut, cfg, arrays, drive
        self.rng = np.random.default_rng([seed, 1])
        self.port = (VipPort if drive == "vip" else BulkPort)(dut, cfg)
        self.analog = None

    async def reset(self):
        self.dut.rst.value = 1
        self.port.reset_values()
        await ClockCycles(self.dut.clk, RESET_CYCLES)
        self.dut.rst.value = 0
        await RisingEdge(self.dut.clk)
        self.start = self.port.start = cycle_now()

    def bind(self, W, G, seed, levels_faults):
        macro = device = None
        if W is not None:
            macro = AnalogMacro.for_array(self.cfg, W, np.random.default_rng(seed), G)
        if levels_faults is not None:
            device = MemdiodeArray(self.cfg.device, (self.cfg.tile.rows, self.cfg.cols_phys),
                                   np.random.default_rng(seed), levels_faults)
        self.port.bind(macro, device, W)
        self.analog = getattr(self.port, "analog", None)

    # Operations: each returns the record it appends.

    async def op_write(self, offset, value, strobe=0xF):
        return await self.port.write(offset, value, strobe)

    async def op_read(self, offset):
        return await self.port.read(offset)

    async def op_stream(self, x, frame_vectors, in_bits, adc_shift, budget, out=None):
        """Send array `x` as frames (batches) of `frame_vectors` vectors; collect the result
        frames and the cycle each ended (see the ports' ``stream``)."""
        return await self.port.stream(self.arrays[x], frame_vectors=frame_vectors,
                                      budget=budget, in_bits=in_bits, adc_shift=adc_shift,
                                      out=out)

    async def op_send(self, x, frame_vectors):
        return await self.port.send(self.arrays[x], frame_vectors)

    async def op_collect(self, frames, budget):
        return await self.port.collect(frames, budget)

    async def op_send_raw(self, data, tkeep, budget):
        return await self.port.send_raw(self.arrays[data], self.arrays[tkeep], budget)

    async def op_program(self, levels, cells, budget, settings=None, rect=None):
        """Start write-verify; unless STATUS shows the start refused, send the target levels
        of `cells` cells and collect their per-cell results."""
        targets = None if levels is None else self.arrays[levels]
        return await self.port.program(targets, cells, budget=budget, settings=settings,
                                       rect=rect)

    async def op_driver(self, sequence, arrays, arguments):
        """Run the host driver's `sequence` (a name in :mod:`cimtile.spec.host_driver`) with
        `arguments` and the arrays named by `arrays` (argument: array name): the record of
        its answer, or of the register write the tile refused."""
        arguments = dict(arguments, **{k: self.arrays[v] for k, v in arrays.items()})
        if "settings" in arguments:
            arguments["settings"] = WriteVerifyConfig(**arguments["settings"])
        if "rect" in arguments:
            arguments["rect"] = Rectangle(*arguments["rect"])
        try:
            answer = await drive(getattr(host_driver, sequence)(self.cfg, **arguments),
                                 self.port)
        except host_driver.Refused as refused:
            return {"write_refused": str(refused)}
        if isinstance(answer, list):
            return _merged(answer)
        return answer if isinstance(answer, dict) else {"answer": answer}

    async def op_soft_reset_after(self, requests, ctrl_offset, value, budget):
        """Soft-reset once `requests` analog requests have been answered."""
        await within(self.analog.after(requests).wait(), budget)
        return await self.op_write(ctrl_offset, value)

    async def op_wait_irq(self, budget):
        if self.dut.irq.value:
            return {"irq": True}
        return {"irq": await within(RisingEdge(self.dut.irq), budget) is not None}

    async def op_idle(self, cycles):
        await ClockCycles(self.dut.clk, cycles)
        return {"irq": bool(self.dut.irq.value)}

    async def op_wl_fault(self, plane):
        """Bulk drive only: the analog queue's self-test."""
        self.port.wl_fault(plane)
        return {}

    async def op_pauses(self, in_prob, in_max, out_prob, out_max):
        """TVALID gaps on the input streams and TREADY back-pressure on the output streams,
        from per-cycle patterns drawn once (the same in both drive modes)."""
        pattern_in = pause_pattern(self.rng, in_prob, in_max)
        pattern_out = pause_pattern(self.rng, out_prob, out_max)
        self.port.pauses(pattern_in, pattern_out, cycle_now() - self.start)
        return {}


def _merged(records):
    """One record of several runs' records: arrays joined in order, other values listed."""
    keys = dict.fromkeys(key for record in records for key in record)
    return {key: (np.concatenate([r[key] for r in records if key in r])
                  if any(isinstance(r.get(key), np.ndarray) for r in records)
                  else [r.get(key) for r in records]) for key in keys}


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
    out["first_request"] = bench.port.first_request()
    if bench.port.device is not None:
        device, requests = bench.port.device, bench.port.device_requests()
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
