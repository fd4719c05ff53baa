"""cocotb test of the register block alone, driven by cocotbext-axi through
:class:`cimtile.tb.benches.registers.HostRegisters`: the accessor against the real RTL.

Run by tests/test_registers.py through :func:`cimtile.tb.runs.runner.run_testbench`; the results
file records the number of checks counted (register reset values and refused strobes).
"""

import json
import os

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles
from cocotbext.axi import AxiLiteBus, AxiLiteMaster, AxiResp

from cimtile.spec.config import parse_config
from cimtile.spec.regmap import REGISTERS, Access, ErrorCause, Mode

from ..transport.exchange import ENV_IN, ENV_OUT
from .registers import HostRegisters, RegisterError

#: Module name of the register block in the simulated Verilog.
TOP = "cim_regs"


def verilog_source(cfg):
    from amaranth.back import verilog

    from cimtile.hdl.registers import Registers
    return verilog.convert(Registers(cfg), name=TOP, emit_src=False)


def ports(cfg):
    """The ports of the register block, from its signature."""
    from cimtile.hdl.registers import Registers

    from ..build.sim_top import signature_ports
    return signature_ports(Registers(cfg))


async def _refused(coroutine, resp):
    try:
        await coroutine
    except RegisterError as error:
        assert error.resp == resp, f"expected {resp.name}, got {error.resp.name}"
        return
    raise AssertionError(f"no RegisterError ({resp.name})")


@cocotb.test()
async def accessor(dut):
    with np.load(os.environ[ENV_IN]) as data:
        cfg = parse_config(json.loads(str(data["config"])))
    master = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "bus_"), dut.clk, dut.rst)
    for channel in (master.write_if, master.read_if):
        channel.log.setLevel("WARNING")
    regs = HostRegisters(master)
    for name in ("busy", "done", "error", "error_cause", "mvm_done", "pulse"):
        getattr(dut, name).value = 0
    dut.rst.value = 1
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0
    checks = 0

    for reg in REGISTERS:
        expected = 0 if reg.access is Access.WO else reg.reset_value(cfg)
        assert await regs.read(reg.name, fields=False) == expected, reg.name
        checks += 1
    assert await regs.read("ID") == {"value": 0x43494D54}
    # Fields not given keep their value in a RW register.
    await regs.write("SETTINGS", mode=Mode.PROGRAM)
    assert await regs.read("SETTINGS") == {"mode": Mode.PROGRAM, "in_bits": cfg.tile.in_bits,
                                           "adc_shift": cfg.tile.adc_shift}
    assert dut.settings.value.to_unsigned() & 3 == Mode.PROGRAM
    await regs.write("SETTINGS", in_bits=1)
    assert (await regs.read("SETTINGS"))["mode"] == Mode.PROGRAM
    # Refusals raise, with the response; the raw calls return it.
    await _refused(regs.write("SETTINGS", in_bits=0), AxiResp.SLVERR)
    await _refused(regs.write("ID", 0), AxiResp.SLVERR)
    assert (await regs.read("STATUS"))["cause"] == ErrorCause.READ_ONLY
    assert await regs.read_raw(0xFFC) == (0, AxiResp.DECERR)
    assert await regs.write_raw(0xFFC, 1) == AxiResp.DECERR
    # Partial strobes: only the strobed bytes change.
    assert await regs.write_raw(0x060, 0xABCD, strobe=0b0010) == AxiResp.OKAY
    assert await regs.read("WV_TOL") == {"tol": 0xAB00 | cfg.write_verify.tol}
    for strobe in (0, 0b0101, 0x1F):
        try:
            await regs.write_raw(0x060, 0, strobe=strobe)
        except ValueError:
            checks += 1
    await regs.write("IRQ_STATUS", error=1)
    assert await regs.read("STATUS") == {"busy": 0, "done": 0, "error": 0, "cause": 0}
    # CTRL.start is accepted in program mode when idle, refused while busy.
    await regs.write("CTRL", start=1)
    assert not (await regs.read("STATUS"))["error"]
    dut.busy.value = 1
    await _refused(regs.write("CTRL", start=1), AxiResp.SLVERR)
    dut.busy.value = 0
    assert (await regs.read("STATUS"))["cause"] == ErrorCause.BUSY
    np.savez(os.environ[ENV_OUT], checks=checks)
