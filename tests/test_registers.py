"""The register map, its generators and the AXI4-Lite register block (Amaranth simulator)."""

import subprocess
from pathlib import Path

import pytest
from amaranth.sim import Simulator

from cimtile import cli
from cimtile.hdl.axi_lite import AxiResp
from cimtile.hdl.registers import Registers
from cimtile.spec.config import REFERENCE_CONFIG, reference_config
from cimtile.spec.regmap import (REGISTERS, Access, ErrorCause, Field, Mode, Register, c_header,
                                 capabilities, markdown, register)

DOCS = Path(__file__).resolve().parents[1] / "docs"
CFG = reference_config()
SMALL = CFG.replace(rows=8, cols=2, in_bits=4, adc_bits=4, adc_shift=1)
LIMIT = 16      # cycles any handshake may take: more means the block hangs
OKAY, SLVERR, DECERR = AxiResp.OKAY, AxiResp.SLVERR, AxiResp.DECERR
UNMAPPED = (0x018, 0x01C, 0x034, 0x04C, 0x078, 0xFFC)


class Bus:
    """A minimal AXI4-Lite manager for the Amaranth testbench, with protocol checks."""

    def __init__(self, ctx, dut, pulses):
        self.ctx, self.dut, self.bus = ctx, dut, dut.bus
        self.pulses = pulses    # cycles with start / soft_reset high, counted by a monitor

    async def tick(self, n=1):
        for _ in range(n):
            await self.ctx.tick()

    async def pulse(self, signal, value=1):
        """Drive an event input for one cycle."""
        self.ctx.set(signal, value)
        await self.ctx.tick()
        self.ctx.set(signal, 0)

    async def _handshake(self, valid, ready):
        for _ in range(LIMIT):
            done = self.ctx.get(ready)
            await self.ctx.tick()
            if done:
                self.ctx.set(valid, 0)
                return
        raise AssertionError(f"no {ready.name} within {LIMIT} cycles")

    async def _aw(self, offset):
        self.ctx.set(self.bus.awaddr, offset)
        self.ctx.set(self.bus.awvalid, 1)
        await self._handshake(self.bus.awvalid, self.bus.awready)

    async def _w(self, value, strb):
        self.ctx.set(self.bus.wdata, value)
        self.ctx.set(self.bus.wstrb, strb)
        self.ctx.set(self.bus.wvalid, 1)
        await self._handshake(self.bus.wvalid, self.bus.wready)

    async def _together(self, offset, value, strb):
        """AW and W presented in the same cycle; each dropped after its own handshake."""
        b = self.bus
        for signal, v in ((b.awaddr, offset), (b.wdata, value), (b.wstrb, strb),
                          (b.awvalid, 1), (b.wvalid, 1)):
            self.ctx.set(signal, v)
        for _ in range(LIMIT):
            accepted = [(valid, self.ctx.get(valid) and self.ctx.get(ready))
                        for valid, ready in ((b.awvalid, b.awready), (b.wvalid, b.wready))]
            await self.ctx.tick()
            for valid, taken in accepted:
                if taken:
                    self.ctx.set(valid, 0)
            if not self.ctx.get(b.awvalid) and not self.ctx.get(b.wvalid):
                return
        raise AssertionError(f"AW or W not accepted within {LIMIT} cycles")

    async def _response(self, valid, ready, payload, stall):
        """Wait for VALID, hold READY low ``stall`` cycles checking VALID and the payload
        are held, then complete the handshake; return the payload."""
        for _ in range(LIMIT):
            if self.ctx.get(valid):
                break
            await self.ctx.tick()
        else:
            raise AssertionError(f"no {valid.name} within {LIMIT} cycles")
        held = [self.ctx.get(p) for p in payload]
        for _ in range(stall):
            await self.ctx.tick()
            assert self.ctx.get(valid), f"{valid.name} dropped before {ready.name}"
            assert [self.ctx.get(p) for p in payload] == held, "payload changed while stalled"
        self.ctx.set(ready, 1)
        await self.ctx.tick()
        self.ctx.set(ready, 0)
        return held

    async def write(self, offset, value, strb=0xF, order="together", gap=0, stall=0):
        """One write; ``order`` is together, aw_first or w_first. Returns BRESP."""
        if order == "together":
            await self._together(offset, value, strb)
        else:
            first, second = ((self._aw(offset), self._w(value, strb)) if order == "aw_first"
                             else (self._w(value, strb), self._aw(offset)))
            await first
            for _ in range(gap):
                assert not self.ctx.get(self.bus.bvalid), "write done before AW and W"
                await self.ctx.tick()
            await second
        resp, = await self._response(self.bus.bvalid, self.bus.bready, [self.bus.bresp],
                                     stall)
        return resp

    async def read(self, offset, stall=0):
        """One read; returns (RDATA, RRESP)."""
        self.ctx.set(self.bus.araddr, offset)
        self.ctx.set(self.bus.arvalid, 1)
        await self._handshake(self.bus.arvalid, self.bus.arready)
        data, resp = await self._response(self.bus.rvalid, self.bus.rready,
                                          [self.bus.rdata, self.bus.rresp], stall)
        return data, resp

    async def get(self, name):
        """A register's fields, asserting an OKAY read."""
        data, resp = await self.read(register(name).offset)
        assert resp == OKAY, f"read {name}: {resp}"
        return register(name).unpack(data)

    async def set(self, name, **fields):
        """Write whole fields of a register (others 0), returning BRESP."""
        return await self.write(register(name).offset, register(name).pack(**fields))

    async def status(self):
        return await self.get("STATUS")


def simulate(bench, cfg=CFG):
    dut = Registers(cfg)
    sim = Simulator(dut)
    sim.add_clock(1e-8)

    pulses = {"start": 0, "soft_reset": 0}

    async def monitor(ctx):
        async for _, _, start, soft_reset in ctx.tick().sample(dut.start, dut.soft_reset):
            pulses["start"] += start
            pulses["soft_reset"] += soft_reset

    async def testbench(ctx):
        await bench(Bus(ctx, dut, pulses), ctx, dut)

    sim.add_testbench(monitor, background=True)
    sim.add_testbench(testbench)
    sim.run()


def word_value(reg, cfg):
    return 0 if reg.access is Access.WO else reg.reset_value(cfg)


# -- The map and its generators ------------------------------------------------------------

def test_map_matches_contract():
    # Offsets and field positions from the host-interface contract, written out independently.
    expected = {"ID": 0x000, "VERSION": 0x004, "CAP_ARRAY": 0x008, "CAP_PRECISION": 0x00C,
                "CAP_ADC": 0x010, "CAP_STREAM": 0x014, "CTRL": 0x020, "SETTINGS": 0x024,
                "STATUS": 0x028, "IRQ_ENABLE": 0x02C, "IRQ_STATUS": 0x030, "MVM_COUNT": 0x040,
                "BUSY_CYCLES": 0x044, "PULSE_COUNT": 0x048, "WV_TOL": 0x060, "WV_SET": 0x064,
                "WV_RESET": 0x068, "WV_PULSE": 0x06C, "WV_ROWS": 0x070, "WV_COLS": 0x074,
                "CAP_SPARES": 0x080, "REMAP_COL": 0x084, "REMAP_SPARE": 0x088}
    assert {r.name: r.offset for r in REGISTERS} == expected
    assert register("SETTINGS").pack(mode=2, in_bits=5, adc_shift=3) == 0x00030502
    assert register("STATUS").unpack(0x605) == {"busy": 1, "done": 0, "error": 1, "cause": 6}
    assert [c.value for c in ErrorCause] == list(range(10))
    assert (Mode.COMPUTE, Mode.PROGRAM, Mode.READ_BACK) == (0, 1, 2)


def test_capabilities_follow_config():
    caps = capabilities(SMALL)
    assert caps["ID.value"] == 0x43494D54
    assert (caps["CAP_ARRAY.rows"], caps["CAP_ARRAY.cols"]) == (8, 2)
    assert caps["CAP_PRECISION.in_bits_max"] == 4
    assert caps["CAP_ADC.adc_shift_max"] == SMALL.adc_shift_max
    assert caps["CAP_ADC.result_width"] == SMALL.result_width
    assert caps["CAP_STREAM.data_width"] == 64


def test_map_errors():
    with pytest.raises(ValueError, match="SETTINGS.in_bits must be an integer in 0..31, not 32"):
        register("SETTINGS").pack(in_bits=32)
    with pytest.raises(KeyError, match="no register 'NOPE'"):
        register("NOPE")
    with pytest.raises(KeyError, match="SETTINGS has no field 'x'"):
        register("SETTINGS").pack(x=1)
    with pytest.raises(ValueError, match="field b overlaps another"):
        Register("R", 0, Access.RW, "", (Field("a", 0, 4, ""), Field("b", 3, 2, "")))
    with pytest.raises(ValueError, match="offset 0x2 is not a word address"):
        Register("R", 2, Access.RW, "")
    with pytest.raises(ValueError, match="valid and cause go together"):
        Field("a", 0, 4, "", valid=lambda cfg: (0, 3))


@pytest.mark.parametrize("name, generate", [("registers.md", markdown),
                                            ("cimtile_regs.h", c_header)])
def test_committed_files_are_generated(name, generate):
    assert (DOCS / name).read_text() == generate(CFG), \
        f"docs/{name} is stale: regenerate it with cimtile regmap"


@pytest.mark.parametrize("fmt, generate", [("md", markdown), ("c", c_header)])
def test_cli_regmap(tmp_path, fmt, generate):
    out = tmp_path / f"regs.{fmt}"
    assert cli.main(["regmap", "--config", str(REFERENCE_CONFIG), "--format", fmt,
                     "--out", str(out)]) == 0
    assert out.read_text() == generate(CFG)
    assert cli.main(["regmap", "--config", str(REFERENCE_CONFIG), "--format", fmt,
                     "--out", str(tmp_path / "missing" / "x")]) == cli.EXIT_BAD_INPUT


C_PROGRAM = r"""
#include <stdio.h>
#include "cimtile_regs.h"
int main(void) {
    unsigned settings = (CIMTILE_MODE_PROGRAM << CIMTILE_SETTINGS_MODE_SHIFT)
        | ((CIMTILE_SETTINGS_IN_BITS_MAX << CIMTILE_SETTINGS_IN_BITS_SHIFT)
           & CIMTILE_SETTINGS_IN_BITS_MASK);
    unsigned status = 0x605u;
    printf("%x %x %u %u %u %x\n", CIMTILE_SETTINGS_OFFSET, settings,
           (status & CIMTILE_STATUS_CAUSE_MASK) >> CIMTILE_STATUS_CAUSE_SHIFT,
           CIMTILE_CAUSE_STREAM_KEEP, CIMTILE_CAP_ARRAY_ROWS_VALUE, CIMTILE_ID_RESET);
    return 0;
}
"""


def test_c_header_compiles_and_works(tmp_path):
    (tmp_path / "cimtile_regs.h").write_text(c_header(SMALL))
    subprocess.run(["gcc", "-fsyntax-only", "-Wall", "-Wextra", "-Werror", "-x", "c",
                    str(tmp_path / "cimtile_regs.h")], check=True)
    (tmp_path / "use.c").write_text(C_PROGRAM)
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-o",
                    str(tmp_path / "use"), str(tmp_path / "use.c")], check=True)
    out = subprocess.run([str(tmp_path / "use")], check=True, capture_output=True, text=True)
    assert out.stdout.split() == ["24", "401", "6", "6", "8", "43494d54"]


# -- The register block ---------------------------------------------------------------------

@pytest.mark.parametrize("cfg", [CFG, SMALL], ids=["reference", "small"])
def test_reset_values(cfg):
    async def bench(bus, ctx, dut):
        for reg in REGISTERS:
            assert await bus.read(reg.offset) == (word_value(reg, cfg), OKAY), reg.name
        settings = ctx.get(dut.settings)
        assert (settings.mode, settings.in_bits, settings.adc_shift) == (
            Mode.COMPUTE, cfg.tile.in_bits, cfg.tile.adc_shift)
        wv, ref = ctx.get(dut.wv_settings), cfg.write_verify
        for name in ("tol", "set_start", "set_step", "set_limit", "reset_start", "reset_step",
                     "reset_limit", "max_pulses", "pulse_width"):
            assert getattr(wv, name) == getattr(ref, name), name
        assert (wv.row_first, wv.row_last, wv.col_first, wv.col_last) == (
            0, cfg.tile.rows - 1, 0, cfg.cols_phys - 1)
        assert (await bus.get("CAP_ARRAY")) == {"rows": cfg.tile.rows, "cols": cfg.tile.cols}
        assert not ctx.get(dut.irq)
    simulate(bench, cfg)


def _rw_values(cfg):
    """(register, field, value) for every RW field: its bounds and a mid value."""
    for reg in REGISTERS:
        if reg.access is Access.RW:
            for f in reg.fields:
                lo, hi = f.valid_range(cfg)
                for value in sorted({lo, (lo + hi) // 2, hi}):
                    yield reg, f, value


def test_rw_fields_read_back_and_drive_ports():
    wv_ports = {("WV_TOL", "tol"): "tol", ("WV_SET", "start"): "set_start",
                ("WV_RESET", "limit"): "reset_limit", ("WV_PULSE", "width"): "pulse_width",
                ("WV_ROWS", "last"): "row_last", ("WV_COLS", "first"): "col_first"}

    async def bench(bus, ctx, dut):
        for reg, f, value in _rw_values(SMALL):
            fields = reg.unpack(reg.reset_value(SMALL)) | {f.name: value}
            assert await bus.set(reg.name, **fields) == OKAY, (reg.name, f.name, value)
            assert await bus.get(reg.name) == fields
            if reg.name == "SETTINGS":
                assert getattr(ctx.get(dut.settings), f.name) == value
            if (reg.name, f.name) in wv_ports:
                assert getattr(ctx.get(dut.wv_settings), wv_ports[reg.name, f.name]) == value
            assert (await bus.status())["error"] == 0
    simulate(bench, SMALL)


def _refusals():
    """(name, setup, register, value, busy, cause): a write that must be refused."""
    s, rows, cols = register("SETTINGS"), SMALL.tile.rows, SMALL.cols_phys
    ok = dict(mode=1, in_bits=2, adc_shift=0)
    return [
        ("busy settings", None, "SETTINGS", s.pack(**ok), True, ErrorCause.BUSY),
        ("busy wv", None, "WV_TOL", 7, True, ErrorCause.BUSY),
        ("in_bits 0", None, "SETTINGS", s.pack(**ok | {"in_bits": 0}), False,
         ErrorCause.IN_BITS),
        ("in_bits max+1", None, "SETTINGS", s.pack(**ok | {"in_bits": 5}), False,
         ErrorCause.IN_BITS),
        ("adc_shift max+1", None, "SETTINGS",
         s.pack(**ok | {"adc_shift": SMALL.adc_shift_max + 1}), False, ErrorCause.ADC_SHIFT),
        ("mode 3", None, "SETTINGS", s.pack(**ok | {"mode": 3}), False, ErrorCause.MODE),
        ("mode and in_bits", None, "SETTINGS", s.pack(mode=3, in_bits=0), False,
         ErrorCause.MODE),
        ("row beyond array", None, "WV_ROWS", register("WV_ROWS").pack(first=0, last=rows),
         False, ErrorCause.WV_SETTINGS),
        ("col beyond array", None, "WV_COLS", register("WV_COLS").pack(first=cols, last=0),
         False, ErrorCause.WV_SETTINGS),
        ("start in compute", None, "CTRL", 1, False, ErrorCause.MODE),
        ("start while busy", 1, "CTRL", 1, True, ErrorCause.BUSY),
        ("start in read-back while busy", 2, "CTRL", 1, True, ErrorCause.BUSY),
        ("ID", None, "ID", 0, False, ErrorCause.READ_ONLY),
        ("STATUS", None, "STATUS", 0, False, ErrorCause.READ_ONLY),
        ("counter", None, "MVM_COUNT", 0, False, ErrorCause.READ_ONLY),
        ("capability", None, "CAP_PRECISION", 0xFF, False, ErrorCause.READ_ONLY),
        ("spare without spares", None, "REMAP_SPARE", 1, False, ErrorCause.REMAP),
        ("remap col beyond data", None, "REMAP_COL", SMALL.cols_data, False,
         ErrorCause.REMAP),
        ("busy remap", None, "REMAP_SPARE", 0, True, ErrorCause.BUSY),
    ]


@pytest.mark.parametrize("name, mode, reg_name, value, busy, cause", _refusals(),
                         ids=[r[0] for r in _refusals()])
def test_refusals(name, mode, reg_name, value, busy, cause):
    async def bench(bus, ctx, dut):
        if mode is not None:
            assert await bus.set("SETTINGS", mode=mode, in_bits=4, adc_shift=1) == OKAY
        before = {r.name: await bus.read(r.offset) for r in REGISTERS if not r.volatile}
        ctx.set(dut.busy, busy)
        assert await bus.write(register(reg_name).offset, value) == SLVERR
        ctx.set(dut.busy, 0)
        await bus.tick()
        assert bus.pulses == {"start": 0, "soft_reset": 0}
        after = {r.name: await bus.read(r.offset) for r in REGISTERS if not r.volatile}
        assert after == before, "a refused write changed a register"
        assert await bus.status() == {"busy": 0, "done": 0, "error": 1, "cause": cause}
        assert await bus.get("IRQ_STATUS") == {"done": 0, "error": 1}
    simulate(bench, SMALL)


def test_latest_cause_wins_and_clear():
    async def bench(bus, ctx, dut):
        assert await bus.set("SETTINGS", mode=3) == SLVERR
        assert await bus.set("CAP_ARRAY", rows=1) == SLVERR
        assert (await bus.status())["cause"] == ErrorCause.READ_ONLY
        assert await bus.set("IRQ_STATUS", error=1) == OKAY
        assert await bus.status() == {"busy": 0, "done": 0, "error": 0, "cause": 0}
    simulate(bench, SMALL)


@pytest.mark.parametrize("offset", UNMAPPED, ids=hex)
def test_unmapped_decerr(offset):
    async def bench(bus, ctx, dut):
        assert await bus.read(offset) == (0, DECERR)
        assert await bus.write(offset, 0xFFFFFFFF) == DECERR
        assert await bus.status() == {"busy": 0, "done": 0, "error": 0, "cause": 0}
        for reg in REGISTERS:
            assert await bus.read(reg.offset) == (word_value(reg, CFG), OKAY), reg.name
    simulate(bench)


def test_ctrl_reads_zero_and_start_pulses():
    async def bench(bus, ctx, dut):
        ctrl = register("CTRL")
        for mode in (Mode.PROGRAM, Mode.READ_BACK):
            assert await bus.set("SETTINGS", mode=mode, in_bits=8) == OKAY
            assert await bus.write(ctrl.offset, ctrl.pack(start=1)) == OKAY
            await bus.tick(3)
            assert bus.pulses == {"start": mode, "soft_reset": 0}
            assert await bus.read(ctrl.offset) == (0, OKAY)
        # soft_reset wins over start written with it
        assert await bus.write(ctrl.offset, ctrl.pack(start=1, soft_reset=1)) == OKAY
        await bus.tick(3)
        assert bus.pulses == {"start": 2, "soft_reset": 1}
        assert (await bus.status())["error"] == 0
    simulate(bench)


def test_partial_strobes():
    async def bench(bus, ctx, dut):
        s = register("SETTINGS")
        # Only byte 1 (in_bits) strobed: the mode byte of wdata is ignored.
        assert await bus.write(s.offset, s.pack(mode=2, in_bits=3), strb=0b0010) == OKAY
        assert await bus.get("SETTINGS") == {"mode": 0, "in_bits": 3, "adc_shift": 0}
        # Byte-addressed like cocotbext-axi: the low address bits are ignored.
        assert await bus.write(s.offset + 2, s.pack(adc_shift=1), strb=0b0100) == OKAY
        assert await bus.get("SETTINGS") == {"mode": 0, "in_bits": 3, "adc_shift": 1}
        # The merged value is validated: strobing in_bits = 0 alone is refused.
        assert await bus.write(s.offset, 0, strb=0b0010) == SLVERR
        assert await bus.get("SETTINGS") == {"mode": 0, "in_bits": 3, "adc_shift": 1}
        assert (await bus.status())["cause"] == ErrorCause.IN_BITS
        assert await bus.write(s.offset, 0xFFFFFFFF, strb=0) == OKAY
        assert await bus.get("SETTINGS") == {"mode": 0, "in_bits": 3, "adc_shift": 1}
        # W1C: an unstrobed 1 clears nothing.
        assert await bus.write(register("IRQ_STATUS").offset, 0xFF, strb=0b1110) == OKAY
        assert (await bus.get("IRQ_STATUS"))["error"] == 1
        wv = register("WV_PULSE")
        assert await bus.write(wv.offset, wv.pack(max_pulses=9, width=0x1234),
                               strb=0b1000) == OKAY
        assert await bus.get("WV_PULSE") == {"max_pulses": CFG.write_verify.max_pulses,
                                             "width": 0x1200 | CFG.write_verify.pulse_width}
    simulate(bench)


@pytest.mark.parametrize("order, gap", [("together", 0), ("aw_first", 0), ("aw_first", 4),
                                        ("w_first", 0), ("w_first", 4)])
def test_aw_w_order(order, gap):
    async def bench(bus, ctx, dut):
        tol = register("WV_TOL")
        for value in (5, 0xBEEF):
            assert await bus.write(tol.offset, value, order=order, gap=gap) == OKAY
            assert await bus.get("WV_TOL") == {"tol": value}
            assert ctx.get(dut.wv_settings).tol == value
        assert await bus.write(0x0FC, 1, order=order, gap=gap) == DECERR
        assert await bus.write(0x000, 1, order=order, gap=gap) == SLVERR
    simulate(bench)


def test_back_pressure():
    async def bench(bus, ctx, dut):
        assert await bus.write(register("WV_TOL").offset, 9, stall=7) == OKAY
        assert await bus.write(register("ID").offset, 9, stall=5) == SLVERR
        assert await bus.read(register("WV_TOL").offset, stall=7) == (9, OKAY)
        assert await bus.read(0x0FC, stall=3) == (0, DECERR)
        # With a response pending, one more AW and one more W are accepted, then no more.
        b = dut.bus
        for valid, ready in ((b.awvalid, b.awready), (b.wvalid, b.wready)):
            ctx.set(valid, 1)
        ctx.set(b.awaddr, register("WV_TOL").offset)
        ctx.set(b.wdata, 1)
        ctx.set(b.wstrb, 0xF)
        await bus.tick()        # write 1 accepted
        ctx.set(b.wdata, 2)
        await bus.tick(2)       # write 1 executes (its response waits), write 2 is accepted
        assert ctx.get(b.bvalid)
        for _ in range(5):
            assert not ctx.get(b.awready) and not ctx.get(b.wready)
            await bus.tick()
        assert ctx.get(dut.wv_settings).tol == 1
        ctx.set(b.awvalid, 0)
        ctx.set(b.wvalid, 0)
        for _ in range(2):      # one response for each write
            assert await bus._response(b.bvalid, b.bready, [b.bresp], 0) == [OKAY]
        assert not ctx.get(b.bvalid)
        assert ctx.get(dut.wv_settings).tol == 2
    simulate(bench)


def test_irq_and_w1c():
    async def bench(bus, ctx, dut):
        await bus.pulse(dut.done)
        assert await bus.get("IRQ_STATUS") == {"done": 1, "error": 0}
        assert (await bus.status())["done"] == 1
        assert not ctx.get(dut.irq)
        assert await bus.set("IRQ_ENABLE", done=1) == OKAY
        assert ctx.get(dut.irq)
        assert await bus.set("IRQ_STATUS", done=1) == OKAY
        assert not ctx.get(dut.irq)
        # A datapath error: flagged with its cause; irq only once enabled.
        ctx.set(dut.error_cause, ErrorCause.STREAM_KEEP)
        await bus.pulse(dut.error)
        assert await bus.status() == {"busy": 0, "done": 0, "error": 1,
                                      "cause": ErrorCause.STREAM_KEEP}
        assert not ctx.get(dut.irq)
        assert await bus.set("IRQ_ENABLE", done=1, error=1) == OKAY
        assert ctx.get(dut.irq)
        # An event during the clear wins over it.
        ctx.set(dut.done, 1)
        assert await bus.set("IRQ_STATUS", done=1, error=1) == OKAY
        ctx.set(dut.done, 0)
        assert await bus.get("IRQ_STATUS") == {"done": 1, "error": 0}
        assert (await bus.status())["cause"] == ErrorCause.NONE
        assert ctx.get(dut.irq)
        assert await bus.set("IRQ_STATUS", done=1) == OKAY
        assert not ctx.get(dut.irq)
    simulate(bench)


def test_counters_and_soft_reset():
    async def bench(bus, ctx, dut):
        for _ in range(5):
            await bus.pulse(dut.pulse)
        for _ in range(3):
            await bus.pulse(dut.mvm_done)
            await bus.tick()
        ctx.set(dut.busy, 1)
        await bus.tick(11)
        assert (await bus.status())["busy"] == 1
        ctx.set(dut.busy, 0)
        assert await bus.get("PULSE_COUNT") == {"value": 5}
        assert await bus.get("MVM_COUNT") == {"value": 3}
        # BUSY_CYCLES: 11 cycles plus the AR and R handshakes of the STATUS read above.
        busy_cycles = (await bus.get("BUSY_CYCLES"))["value"]
        assert 11 < busy_cycles < 11 + 2 * LIMIT
        assert await bus.get("BUSY_CYCLES") == {"value": busy_cycles}

        kept = {"SETTINGS": dict(mode=1, in_bits=3, adc_shift=1), "IRQ_ENABLE": dict(done=1),
                "WV_TOL": dict(tol=77)}
        for name, fields in kept.items():
            assert await bus.set(name, **fields) == OKAY
        await bus.pulse(dut.done)
        assert await bus.set("SETTINGS", mode=3) == SLVERR
        assert ctx.get(dut.irq)
        ctrl = register("CTRL")
        assert await bus.write(ctrl.offset, ctrl.pack(soft_reset=1)) == OKAY
        await bus.tick()
        assert bus.pulses == {"start": 0, "soft_reset": 1}
        for name in ("MVM_COUNT", "BUSY_CYCLES", "PULSE_COUNT"):
            assert await bus.get(name) == {"value": 0}, name
        assert await bus.get("IRQ_STATUS") == {"done": 0, "error": 0}
        assert await bus.status() == {"busy": 0, "done": 0, "error": 0, "cause": 0}
        assert not ctx.get(dut.irq)
        for name, fields in kept.items():
            assert await bus.get(name) == register(name).unpack(register(name).pack(**fields))
    simulate(bench, SMALL)


def test_soft_reset_while_busy_is_not_refused():
    async def bench(bus, ctx, dut):
        ctrl = register("CTRL")
        ctx.set(dut.busy, 1)
        assert await bus.write(ctrl.offset, ctrl.pack(soft_reset=1)) == OKAY
        assert bus.pulses == {"start": 0, "soft_reset": 1}
        assert (await bus.status())["error"] == 0
    simulate(bench)


def test_accessor_drives_the_rtl_with_cocotbext_axi():
    from cimtile.tb.benches import registers_tb
    from cimtile.tb.build.sim_top import Design
    from cimtile.tb.transport.exchange import run_testbench
    top = Design(registers_tb.TOP, (registers_tb.verilog_source,), registers_tb.ports)
    results, _, _ = run_testbench(SMALL, "cimtile.tb.benches.registers_tb", {}, top=top)
    assert int(results["checks"]) == len(REGISTERS) + 3


def test_datapath_error_wins_over_refusal_in_the_same_cycle():
    async def bench(bus, ctx, dut):
        b = dut.bus
        for signal, value in ((b.awaddr, register("SETTINGS").offset),
                              (b.wdata, register("SETTINGS").pack(mode=3)), (b.wstrb, 0xF),
                              (b.awvalid, 1), (b.wvalid, 1)):
            ctx.set(signal, value)
        await bus.tick()        # AW and W accepted
        ctx.set(b.awvalid, 0)
        ctx.set(b.wvalid, 0)
        ctx.set(dut.error_cause, ErrorCause.STREAM_LAST)
        ctx.set(dut.error, 1)
        await bus.tick()        # the refused write is performed in this cycle
        ctx.set(dut.error, 0)
        assert await bus._response(b.bvalid, b.bready, [b.bresp], 0) == [SLVERR]
        assert (await bus.status())["cause"] == ErrorCause.STREAM_LAST
        assert await bus.set("SETTINGS", mode=3) == SLVERR
        assert (await bus.status())["cause"] == ErrorCause.MODE
    simulate(bench)


def test_soft_reset_wins_over_events_in_its_cycle():
    async def bench(bus, ctx, dut):
        b, ctrl = dut.bus, register("CTRL")
        for signal, value in ((b.awaddr, ctrl.offset), (b.wdata, ctrl.pack(soft_reset=1)),
                              (b.wstrb, 0xF), (b.awvalid, 1), (b.wvalid, 1)):
            ctx.set(signal, value)
        await bus.tick(2)       # accepted, then performed
        ctx.set(b.awvalid, 0)
        ctx.set(b.wvalid, 0)
        assert ctx.get(dut.soft_reset)
        events = (dut.pulse, dut.mvm_done, dut.done, dut.error, dut.busy)
        for event in events:
            ctx.set(event, 1)
        await bus.tick()
        for event in events:
            ctx.set(event, 0)
        assert await bus._response(b.bvalid, b.bready, [b.bresp], 0) == [OKAY]
        for name in ("MVM_COUNT", "BUSY_CYCLES", "PULSE_COUNT"):
            assert await bus.get(name) == {"value": 0}, name
        assert await bus.status() == {"busy": 0, "done": 0, "error": 0, "cause": 0}
    simulate(bench)


# -- The column remap table -----------------------------------------------------------------

SPARES = SMALL.replace(spare_cols=3)


def test_remap_table_resets_reads_back_and_drives_the_datapath():
    cols, spares = SPARES.cols_data, SPARES.tile.spare_cols
    # An independent expectation: a plain list, written entry by entry.
    table = [0] * cols
    wanted = {0: 3, 5: 1, cols - 1: 2, 7: spares}

    async def entries(bus):
        values = []
        for column in range(cols):
            assert await bus.set("REMAP_COL", col=column) == OKAY
            values.append((await bus.get("REMAP_SPARE"))["spare"])
        return values

    async def bench(bus, ctx, dut):
        assert await bus.get("CAP_SPARES") == {"spare_cols": spares, "data_cols": cols}
        assert await entries(bus) == table, "the table does not reset to 0"
        for column, spare in wanted.items():
            assert await bus.set("REMAP_COL", col=column) == OKAY
            assert await bus.set("REMAP_SPARE", spare=spare) == OKAY
            table[column] = spare
        assert await entries(bus) == table
        assert [ctx.get(dut.remap[c]) for c in range(cols)] == table
        # Refusals change nothing: a spare beyond the spares, a column beyond the data
        # columns, a write while busy.
        assert await bus.set("REMAP_COL", col=5) == OKAY
        assert await bus.set("REMAP_SPARE", spare=spares + 1) == SLVERR
        assert (await bus.status())["cause"] == ErrorCause.REMAP
        assert await bus.set("REMAP_COL", col=cols) == SLVERR
        assert await bus.get("REMAP_COL") == {"col": 5}
        ctx.set(dut.busy, 1)
        assert await bus.set("REMAP_SPARE", spare=0) == SLVERR
        assert (await bus.status())["cause"] == ErrorCause.BUSY
        ctx.set(dut.busy, 0)
        # A soft reset keeps the table, as it keeps SETTINGS and WV_*.
        assert await bus.set("CTRL", soft_reset=1) == OKAY
        assert await entries(bus) == table
        assert [ctx.get(dut.remap[c]) for c in range(cols)] == table
    simulate(bench, SPARES)
