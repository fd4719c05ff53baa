"""Bitstream builds with the YoWASP toolchain: reports, and the error for a design that does
not fit."""

import json
from pathlib import Path

import pytest
from amaranth.hdl import Cat, Elaboratable, Module, Signal
from amaranth.lib import wiring

import cimtile.fpga
from cimtile.fpga.build import BOARDS, FitError, build_bitstream, parse_utilisation
from cimtile.fpga.toolchain import TOOLS, tool_environment
from cimtile.fpga.uart import UARTRx, UARTTx
from cli_helpers import run

ICEBREAKER = Path(cimtile.fpga.__file__).parent / "configs" / "icebreaker.toml"

# iCE40 UP5K configuration image size, fixed by the device (icepack output).
UP5K_BIN_BYTES = 104090


class Echo(Elaboratable):
    """UART echo: the smallest design that uses the board's clock and pins."""

    def elaborate(self, platform):
        m = Module()
        uart = platform.request("uart", 0)
        divisor = int(platform.default_clk_frequency) // 115200
        m.submodules.rx = rx = UARTRx(divisor)
        m.submodules.tx = tx = UARTTx(divisor)
        wiring.connect(m, rx.o_stream, tx.i_stream)
        m.d.comb += [rx.rx.eq(uart.rx.i), uart.tx.o.eq(tx.tx)]
        return m


class ShiftRegisters(Elaboratable):
    """More flip-flops than the UP5K has logic cells, with next to no logic to synthesise:
    short chains, each fed by the line and its neighbour so none is merged away."""

    def __init__(self, chains, length):
        self.chains, self.length = chains, length

    def elaborate(self, platform):
        m = Module()
        uart = platform.request("uart", 0)
        chains = [Signal(self.length, name=f"chain{i}") for i in range(self.chains)]
        feed = uart.rx.i
        for chain in chains:
            m.d.sync += chain.eq(Cat(feed, chain[:-1]))
            feed = chain[-1] ^ uart.rx.i
        m.d.comb += uart.tx.o.eq(Cat(chain[-1] for chain in chains).xor())
        return m


def test_tool_environment_names_the_yowasp_scripts():
    env = tool_environment(TOOLS, environ={"PATH": ""})
    assert env["PATH"] == ""
    for tool, (script, _) in TOOLS.items():
        variable = tool.upper().replace("-", "_")
        assert env[variable].endswith(f"/{script}"), variable


def test_utilisation_table_is_parsed_from_the_nextpnr_log():
    log = ("Info: Device utilisation:\n"
           "Info: \t         ICESTORM_LC:    6100/  5280   115%\n"
           "Info: \t        ICESTORM_RAM:       0/    30     0%\n")
    assert parse_utilisation(log) == {"ICESTORM_LC": (6100, 5280), "ICESTORM_RAM": (0, 30)}


def test_echo_builds_for_the_icebreaker_with_a_report(tmp_path):
    report = build_bitstream(BOARDS["icebreaker"], Echo(), tmp_path)
    bitstream = tmp_path / "cimtile.bin"
    assert report["bitstream"] == str(bitstream)
    assert bitstream.stat().st_size == UP5K_BIN_BYTES
    log_util = parse_utilisation((tmp_path / "cimtile.tim").read_text())
    assert report["lut"] == log_util["ICESTORM_LC"][0] > 0
    assert report["lut_available"] == 5280
    assert report["bram"] == report["dsp"] == 0
    # Two UART state machines and their counters: dozens of flip-flops, not hundreds.
    assert 20 < report["ff"] < 200
    assert report["device"] == "iCE40UP5K" and report["clock_mhz"] == 12.0
    assert report["timing_met"] and report["fmax_mhz"] > 12.0
    json.dumps(report)


def test_design_that_does_not_fit_names_the_resource(tmp_path):
    with pytest.raises(FitError, match=r"^design does not fit iCE40UP5K: \d+ logic cells "
                                       r"\(ICESTORM_LC\) needed, 5280 available$"):
        build_bitstream(BOARDS["icebreaker"], ShiftRegisters(100, 60), tmp_path)


def test_icebreaker_board_builds_and_meets_timing(tmp_path):
    """The whole board (bridge, host tile, crossbar emulator) for the iCEBreaker config,
    through the command line as users build it."""
    proc = run("fpga", "build", "--board", "icebreaker", "--config", ICEBREAKER,
               "--out", tmp_path / "out", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report == json.loads(proc.stdout)
    assert (tmp_path / "out" / report["bitstream"]).stat().st_size == UP5K_BIN_BYTES
    assert report["timing_met"] and report["fmax_mhz"] >= report["clock_mhz"] == 12.0
    # The emulator's cell levels sit in block RAM; the logic fits with room to spare.
    assert report["bram"] > 0
    assert 0 < report["lut"] < report["lut_available"] == 5280
