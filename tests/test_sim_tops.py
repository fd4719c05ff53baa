"""Simulation tops from parameters and ports from signatures: the ports a component's
signature gives are those Amaranth emits, the simulation top and the bulk top are written
from them, the bulk top's parts are committed Verilog shipped with the package, and their
bytes key the build."""

import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from cimtile.hdl.tile import TOP_NAME, Tile, verilog_source
from cimtile.spec.config import parse_config, reference_config
from cimtile.tb.build import build
from cimtile.tb.build.sim_top import (TOPLEVEL, Port, control_file, signature_ports,
                                      simulation_top, tile_design)
from cimtile.tb.build.verilator import verilator_on_path
from cimtile.tb.tops.bulk_top import (ATTENTION, BULK_FILES, EMULATED_BULK, FEEDS,
                                      bulk_design, bulk_ports, bulk_verilog)
from cimtile.tb.tops.coverage_tops import COVERAGE_SOURCE, COVERAGE_TOPS
from cimtile.tb.tops.host_top import (EMULATED_TOP, SIM_TOP, CheckedHost, EmulatedHost,
                                      emulated_verilog, simulation_verilog)
from cimtile.tb.tops.mutants import MUTANTS, mutated_top

ROOT = Path(__file__).resolve().parents[1]
# One row and one physical column: the tile's cell address ports have no bits.
SINGLE = dict(rows=1, cols=1, in_bits=1, w_bits=2, bits_per_cell=1, adc_bits=1, adc_shift=0,
              cols_per_adc=1)
SMALL = dict(rows=8, cols=2, in_bits=4, w_bits=4, bits_per_cell=2, adc_bits=6, adc_shift=0,
             cols_per_adc=2)


def config(tile):
    # The crossbar emulator needs three cycles a conversion.
    return parse_config({"tile": tile, "timing": {"t_settle": 1, "t_adc": 3}})


def emitted_ports(verilog, module):
    """``(name, direction, width)`` of every port of `module` as the Verilog declares it."""
    header = re.search(rf"^module {module}\(([^)]*)\);", verilog, re.MULTILINE)
    body = verilog[header.end():verilog.index("endmodule", header.end())]
    declared = re.findall(r"^\s*(input|output)\s+(?:\[(-?\d+):0\]\s*)?(\w+)\s*;", body,
                          re.MULTILINE)
    return {(name, direction, int(top) + 1 if top else 1) for direction, top, name in declared}


@pytest.mark.parametrize("tile", [SINGLE, SMALL], ids=["single", "small"])
@pytest.mark.parametrize("component, generate, module", [
    (Tile, verilog_source, TOP_NAME),
    (CheckedHost, simulation_verilog, SIM_TOP),
    (EmulatedHost, emulated_verilog, EMULATED_TOP),
], ids=["tile", "checked", "emulated"])
def test_signature_ports_are_the_ports_amaranth_emits(tile, component, generate, module):
    cfg = config(tile)
    ports = {(port.name, port.direction, port.width)
             for port in signature_ports(component(cfg))}
    assert ports == emitted_ports(generate(cfg), module)


def test_simulation_top_clocks_the_design_and_passes_its_other_ports():
    cfg = reference_config()
    ports = {port.name: port for port in signature_ports(Tile(cfg))}
    assert ports["analog__codes"] == Port("analog__codes", "input",
                                          cfg.cols_phys * cfg.tile.adc_bits)
    top = simulation_top(ports.values(), TOP_NAME)
    assert f"module {TOPLEVEL}(" in top
    # rst reaches the design through a falling-edge register, every other port directly.
    assert "always @(negedge clk) rst_at_fall <= rst;" in top
    assert f"  {TOP_NAME} tile(\n    .clk(clk),\n    .rst(rst_at_fall)," in top
    assert "  input wire [1023:0] analog__codes,\n" in top
    assert "  output wire [127:0] analog__wl,\n" in top
    assert "    .analog__wl(analog__wl)" in top
    # The clock is a port the C++ main toggles: no clock process, no --timing.
    assert "  input wire clk,\n" in top and "always #" not in top


def test_inputs_are_public_for_writing_and_outputs_for_reading_only():
    text = control_file([Port("clk", "input", 1), Port("irq", "output", 1)])
    assert text.splitlines() == ["`verilator_config",
                                 f'public_flat_rw -module "{TOPLEVEL}" -var "clk"',
                                 f'public_flat_rd -module "{TOPLEVEL}" -var "irq"']


def test_the_main_names_the_attention_ports_of_designs_that_have_them():
    main = build.cosim_main(bulk_design())
    assert main.startswith("#define COSIM_PERIOD 10000\n"
                           "#define COSIM_ATTENTION bulk___05Fattention\n"
                           "#define COSIM_FREE_RUN bulk___05Ffree_run\n")
    assert "COSIM_ATTENTION bulk" not in build.cosim_main(tile_design())


@pytest.mark.parametrize("analog, causes", [
    ("queue", ["bulk__done", "bulk__timeout", "bulk__error", "bulk__cell_error",
               "check__violation", "bulk__out_full", "bulk__result_full",
               *(f"(bulk__want[{bit}] & bulk__{feed}_hungry)" for bit, feed in enumerate(FEEDS))]),
    ("emulator", ["bulk__done", "bulk__timeout", "check__violation", "bulk__out_full",
                  "(bulk__want[0] & bulk__in_hungry)"])])
def test_attention_rises_on_every_cause_of_work_for_the_testbench(analog, causes):
    text = bulk_verilog(config(SMALL), analog=analog)
    assert f"  assign {ATTENTION[0]} = {' | '.join(causes)};\n" in text
    names = {port.name for port in bulk_ports(config(SMALL), analog=analog)}
    assert {*ATTENTION, "bulk__want"} <= names


def test_a_port_without_bits_is_declared_as_amaranth_declares_it():
    ports = {port.name: port for port in signature_ports(Tile(config(SINGLE)))}
    assert ports["analog__cell__row"] == Port("analog__cell__row", "output", 0)
    assert "  output wire [-1:0] analog__cell__row,\n" in simulation_top(ports.values(),
                                                                         TOP_NAME)


def test_the_bulk_top_is_parts_with_parameters_around_the_host_top_by_name():
    cfg = config(SMALL)
    text = bulk_verilog(cfg)
    assert f"  {SIM_TOP} checked(\n" in text and "module cim_host_checked" not in text
    assert "  bulk_player #(\n    .HALF(4096)," in text
    assert '    .NAME("bulk_target")\n  ) target_player(' in text
    assert "    .row(analog__cell__row),\n    .col(analog__cell__col)," in text
    names = {port.name for port in bulk_ports(cfg)}
    assert {"s_axil__awaddr", "check__violation", "bulk__in_count", "bulk__cell_error_seen",
            "bulk__pauses_on"} <= names
    assert not names & {"s_axis_in__tdata", "analog__codes", "pause_in"}
    emulated = {port.name for port in bulk_ports(cfg, analog="emulator")}
    assert {"bulk__levels_load", "bulk__first_sample_cycle"} <= emulated
    assert not emulated & {"bulk__error", "bulk__analog_count", "l_stream__payload"}


def test_the_bulk_top_refuses_an_unknown_analog_answer():
    with pytest.raises(ValueError, match=r"^analog must be one of queue, emulator, not 'dpi'$"):
        bulk_ports(config(SMALL), analog="dpi")


@pytest.mark.parametrize("design", [bulk_design(), EMULATED_BULK], ids=["queue", "emulator"])
@pytest.mark.parametrize("tile", [SINGLE, SMALL], ids=["single", "small"])
def test_the_bulk_top_lints_clean_with_its_parts(tmp_path, design, tile):
    """Every port connected, every net declared, nothing waived beyond the build's set."""
    verilog, files, _ = build.design_sources(design, config(tile))
    (tmp_path / "top.v").write_text(verilog)
    verilator_on_path()
    lint = subprocess.run(["verilator", "--lint-only", "--top-module", TOPLEVEL,
                           *build.LINT_WAIVERS, str(tmp_path / "top.v"),
                           *(str(path) for path, _ in files)],
                          capture_output=True, text=True)
    assert lint.returncode == 0, lint.stderr


def test_the_bulk_parts_ship_as_package_data():
    instantiated = set(re.findall(r"^  (bulk_\w+) #\(", bulk_verilog(config(SMALL)),
                                  re.MULTILINE))
    instantiated |= set(re.findall(r"^  (bulk_\w+) #\(", bulk_verilog(config(SMALL),
                                                                      analog="emulator"),
                                   re.MULTILINE))
    shipped = {path.stem for path in BULK_FILES}
    assert instantiated | {"bulk_ring", "bulk_sample_stamp"} == shipped
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "cimtile.tb.tops.verilog" in setuptools["packages"]
    assert setuptools["package-data"]["cimtile.tb.tops.verilog"] == ["*.v"]


def test_coverage_and_mutants_only_choose_the_checked_top_source_beside_the_bulk_top():
    assert COVERAGE_TOPS["bulk"] == bulk_design(COVERAGE_SOURCE)
    assert COVERAGE_TOPS["bulk"].sources[1:] == bulk_design().sources[1:]
    cfg = config(SMALL)
    coverage = COVERAGE_SOURCE(cfg)
    for drive in ("vip", "bulk"):
        mutated = mutated_top("msb_sign", drive)
        assert mutated.sources[1:] == COVERAGE_TOPS[drive].sources[1:]
        text = mutated.sources[0](cfg)
        assert text == MUTANTS["msb_sign"].apply(coverage)
        assert text != coverage


class FakeRunner:
    """Stands in for cocotb's runner: a build that leaves an executable behind."""

    def build(self, *, build_dir, **kwargs):
        (build_dir / TOPLEVEL).write_text("")


def test_a_committed_source_keys_the_build_by_its_bytes(tmp_path, monkeypatch):
    monkeypatch.setenv("CIMTILE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(build, "get_runner", FakeRunner)
    part = tmp_path / "part.v"
    cfg = config(SINGLE)

    def built(text):
        part.write_text(text)
        design = tile_design()
        return build.build(cfg, top=type(design)(design.module, design.sources,
                                                 design.ports, (part,)))[0]
    first = built("module part; endmodule\n")
    assert built("module part; endmodule\n") == first
    assert built("module part;\nendmodule\n") != first
