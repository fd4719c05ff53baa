"""Energy, latency and area: every figure a count times a per-event figure, checked against
independent computations and the scaling the model must show."""

import json
import math

import numpy as np
import pytest
from amaranth.hdl import Module, Signal
from amaranth.back import verilog
from scipy.integrate import quad

from cimtile.behavioral import AnalogMacro
from cimtile.behavioral.device import MemdiodeArray
from cimtile.flows.ppa.activity import compute_activity, program_activity
from cimtile.flows.ppa.area import (DFF_UM2, NAND2_UM2, CELL_UM2, analog_area, gate_equivalents,
                                    synthesise, tile_area)
from cimtile.flows.ppa.digital import (TileToggles, count_toggles, program_toggles,
                                         tile_toggles)
from cimtile.flows.ppa.energy import compute_energy, program_energy
from cimtile.flows.ppa.figures import figures
from cimtile.models.program import Rectangle, program_golden
from cimtile.spec.config import ConfigError, parse_config
from cimtile.spec.mapping import random_operands, weight_levels

from cli_helpers import SMALL, assert_bad_input, run

TILE = dict(rows=8, cols=2, in_bits=4, w_bits=5, bits_per_cell=2, adc_bits=6, adc_shift=0,
            cols_per_adc=4)
TIMING = {"t_settle": 2, "t_adc": 3}
PHYSICAL = dict(model="physical", fault_rate=0.0)


def config(analog=None, ppa=None, **tile):
    return parse_config({"tile": TILE | tile, "timing": TIMING, "analog": analog or {},
                         "ppa": ppa or {}})


def workload(cfg, n=12, seed=0):
    return random_operands(cfg, n, np.random.default_rng(seed))


def crossbar_pj(cfg, W, X, seed=0):
    """Crossbar read energy by hand: for every vector, plane and driven row, the row's
    conductances as the columns read them, held for the plane's cycles at v_read."""
    macro = AnalogMacro.from_weights(cfg, W, np.random.default_rng(seed))
    T = (macro.crossbar.transfer if cfg.analog.physical
         else cfg.analog.g_min + weight_levels(W, cfg) * (cfg.analog.g_max - cfg.analog.g_min)
         / cfg.max_level)
    seconds = cfg.plane_cycles / (cfg.ppa.clock_mhz * 1e6)
    total = 0.0
    for x in X:
        for b in range(cfg.tile.in_bits):
            for r, value in enumerate(x):
                if (int(value) >> b) & 1:
                    total += cfg.analog.v_read ** 2 * T[r].sum() * 1e-6 * seconds
    return total * 1e12


@pytest.mark.parametrize("analog", [{}, PHYSICAL])
def test_crossbar_energy_is_the_driven_conductance_times_the_read(analog):
    cfg = config(analog)
    W, X = workload(cfg)
    energy = compute_energy(cfg, compute_activity(cfg, W, X))
    assert energy.pj("crossbar") == pytest.approx(crossbar_pj(cfg, W, X), rel=1e-12)
    # The breakdown is the total, and every item a count times a per-event figure.
    assert math.fsum(item.pj for item in energy.items) == energy.total_pj
    for item in energy.items:
        assert item.pj == item.count * item.pj_per


@pytest.mark.parametrize("effect", [{"r_wl": 20.0, "r_bl": 20.0}, {"drift_time": 1e6},
                                    {"d2d_sigma": 0.3}])
def test_physical_effects_change_the_crossbar_energy(effect):
    cfg = config(PHYSICAL | {"d2d_sigma": 0, "r_wl": 0, "r_bl": 0})
    changed = config(PHYSICAL | {"d2d_sigma": 0, "r_wl": 0, "r_bl": 0} | effect)
    W, X = workload(cfg)
    before = compute_energy(cfg, compute_activity(cfg, W, X)).pj("crossbar")
    after = compute_energy(changed, compute_activity(changed, W, X)).pj("crossbar")
    assert after == pytest.approx(crossbar_pj(changed, W, X), rel=1e-12)
    assert abs(after - before) > 1e-3 * before
    if "drift_time" in effect or "r_wl" in effect:
        assert after < before          # drift and IR drop both lower the read current


def test_all_zero_inputs_cost_no_crossbar_or_wordline_energy():
    cfg = config(PHYSICAL)
    W, _ = workload(cfg)
    activity = compute_activity(cfg, W, np.zeros((5, cfg.tile.rows), np.int64))
    energy = compute_energy(cfg, activity)
    assert energy.pj("crossbar") == 0 and energy.pj("wordline_drivers") == 0
    # The RTL still samples and converts every column of every plane.
    assert activity.planes == 5 * cfg.tile.in_bits
    assert sum(activity.conversions) == activity.planes * cfg.cols_phys
    assert energy.pj("adcs") == activity.planes * cfg.cols_phys * figures(cfg).adc_pj


@pytest.mark.parametrize("bits", [5, 6, 7])
def test_adc_energy_is_the_figure_of_merit_at_the_effective_bits(bits):
    low, high = config(adc_bits=bits), config(adc_bits=bits + 1)
    W, X = workload(low)
    e_low = compute_energy(low, compute_activity(low, W, X)).pj("adcs")
    e_high = compute_energy(high, compute_activity(high, W, X)).pj("adcs")
    assert e_high == pytest.approx(2 * e_low)
    assert figures(low).adc_pj == pytest.approx(6.9e-3 * 2 ** (bits - 0.67))
    assert analog_area(high)["adcs"] == 2 * analog_area(low)["adcs"]


def test_the_default_adc_is_wang_kuo_2023_at_its_own_resolution_and_rate():
    # 8 bits at 2.7 GS/s: 3 mW and 0.018 mm2 (ISSCC 2023, paper 17.7).
    cfg = parse_config({"tile": TILE | {"adc_bits": 8}, "timing": {"t_settle": 2},
                        "adc": {"rate_msps": 2700}, "ppa": {"clock_mhz": 2700}})
    fig = figures(cfg)
    assert fig.adc_pj * 1e-12 * 2.7e9 == pytest.approx(3e-3, rel=0.01)
    assert fig.adc_um2 == 18000


def test_an_adc_faster_than_its_design_is_interleaved_copies():
    one = parse_config({"tile": TILE, "timing": TIMING, "adc": {"max_msps": 40}})
    two = parse_config({"tile": TILE, "timing": TIMING, "adc": {"max_msps": 20}})
    assert one.adc_rate_msps == pytest.approx(100 / 3)
    assert figures(two).adc_um2 == 2 * figures(one).adc_um2
    assert figures(two).adc_pj == figures(one).adc_pj


def test_doubling_adc_sharing_halves_the_adcs_and_doubles_the_conversion_time():
    shared, more = config(cols_per_adc=4), config(cols_per_adc=8)
    assert more.n_adcs * 2 == shared.n_adcs
    assert analog_area(more)["adcs"] * 2 == analog_area(shared)["adcs"]
    t_settle = shared.timing.t_settle
    assert more.plane_cycles - t_settle == 2 * (shared.plane_cycles - t_settle)
    W, X = workload(shared)
    a, b = compute_activity(shared, W, X), compute_activity(more, W, X)
    assert sum(a.conversions) == sum(b.conversions)      # every column, once per plane
    assert max(b.conversions) == 2 * max(a.conversions)  # each ADC converts twice as many


def test_pulse_energy_is_the_integral_of_the_model_current():
    cfg = config()
    device = MemdiodeArray(cfg.device, (1, 3), np.random.default_rng(4))
    device.state[:] = [0.1, 0.5, 0.9]
    start = device.state.copy()
    polarity, amplitude, width = np.array([0, 0, 1]), np.array([120, 180, 150]), 10
    device.pulse(np.arange(3), polarity, amplitude, np.full(3, width))
    d = cfg.device
    factor = device.rate * np.exp(d.c2c_sigma * device._c2c[0])
    for i in range(3):
        volts = amplitude[i] * d.v_per_code
        eta, threshold = (d.eta_res, d.v_res) if polarity[i] else (d.eta_set, d.v_set)
        rate = factor[i] / (d.tau0 * np.exp(-eta * (volts - threshold)))
        signed = -volts if polarity[i] else volts

        def power(t):
            moved = (start[i] * np.exp(-rate * t) if polarity[i]
                     else 1 - (1 - start[i]) * np.exp(-rate * t))
            return signed * device.current_at(moved, signed)
        expected = quad(power, 0, width * d.cycle_s, epsrel=1e-10)[0] * 1e6
        assert device.pulse_energy[i] == pytest.approx(expected, rel=1e-8)
    assert device.pulse_volts_sq.tolist() == pytest.approx(list((amplitude * 0.01) ** 2))
    # A stuck cell does not move: constant power over the pulse.
    stuck = MemdiodeArray(cfg.device, (1, 1), np.random.default_rng(4), faults=[[2]])
    stuck.pulse(np.array([0]), np.array([0]), np.array([150]), np.array([width]))
    current = stuck.current_at(1.0, 1.5)
    assert stuck.pulse_energy[0] == pytest.approx(1.5 * current * width * d.cycle_s * 1e6,
                                                  rel=1e-12)


def test_programming_activity_is_the_write_verify_run():
    cfg = config()
    shape = (cfg.tile.rows, cfg.cols_phys)
    levels = np.random.default_rng(2).integers(0, cfg.max_level + 1, shape)
    device = MemdiodeArray(cfg.device, shape, np.random.default_rng(5))
    outcome = program_golden(device, levels, Rectangle.whole(*shape), cfg.write_verify,
                             bits_per_cell=cfg.tile.bits_per_cell, adc_bits=cfg.tile.adc_bits)
    activity = program_activity(cfg, device, cycles=1000)
    # One verify read before every pulse and one that ends each cell.
    assert activity.pulses == outcome.pulses.sum()
    assert activity.verify_reads == outcome.pulses.sum() + levels.size
    energy = program_energy(cfg, activity)
    assert math.fsum(item.pj for item in energy.items) == energy.total_pj
    assert energy.pj("cell_pulses") == pytest.approx(device.pulse_energy.sum())
    assert energy.pj("verify_read_adcs") == activity.verify_reads * figures(cfg).adc_pj


def test_vcd_toggles_are_counted_per_bit_and_scope():
    vcd = """$timescale 1 ns $end
$scope module top $end
$var wire 4 ! bus $end
$scope module child $end
$var wire 1 " flag $end
$var wire 4 ! bus $end
$var string 1 # state $end
$upscope $end
$upscope $end
$enddefinitions $end
#0
b1010 !
0"
sIDLE #
#10
b0110 !
1"
sRUN #
#20
b0111 !
0"
sRUN #
"""
    transitions, bits = count_toggles(vcd)
    # bus: 1010 -> 0110 -> 0111 is 2 + 1 bit flips; flag flips twice; the state changes once.
    assert transitions == {("top",): 3, ("top", "child"): 6}
    assert bits == {("top",): 4, ("top", "child"): 6}


def test_switching_is_measured_in_the_simulated_rtl():
    cfg = config()
    W, X = workload(cfg, n=3)
    busy = tile_toggles(cfg, W, X)
    idle_data = tile_toggles(cfg, W, np.zeros_like(X))
    # Three vectors back to back take three schedules (and the pipeline around them).
    assert 3 * cfg.analog_cycles_per_mvm <= busy.cycles < 3 * cfg.analog_cycles_per_mvm + 16
    assert busy.cycles == idle_data.cycles
    # Zero inputs drive no wordline and add nothing: the data paths stay still, the
    # controller's counters run as before.
    for block in ("bitplane_sequencer", "shift_add"):
        assert idle_data.transitions[block] < busy.transitions[block]
    assert idle_data.transitions["controller"] == busy.transitions["controller"]
    # Every block the tile has is seen; without spare columns it has no column remap.
    assert busy.bits["column_remap"] == 0
    assert all(busy.bits[block] > 0 for block in busy.bits if block != "column_remap")


def test_a_reused_toggle_simulator_measures_each_window_as_a_fresh_one():
    cfg = config()
    W, X = workload(cfg, n=3)
    windows = [(W, X, 0), (W, np.zeros_like(X), 0), (-W, X[::-1], 1)]
    shared = TileToggles(cfg)
    assert [shared.measure(W, X, seed=seed) for W, X, seed in windows] == [
        tile_toggles(cfg, W, X, seed=seed) for W, X, seed in windows]


def test_programming_switching_is_measured_in_the_simulated_rtl():
    cfg = config()
    levels = np.random.default_rng(2).integers(1, cfg.max_level + 1,
                                               (cfg.tile.rows, cfg.cols_phys))
    few, more = (program_toggles(cfg, levels, seed=5, cells=n) for n in (2, 6))
    assert (few.units, more.units) == (2, 6)
    assert 0 < few.transitions["write_verify"] < more.transitions["write_verify"]
    assert few.cycles < more.cycles


def test_gate_equivalents_of_a_synthesised_register():
    m = Module()
    data, enable = Signal(8), Signal()
    register = Signal(8, reset_less=True)
    with m.If(enable):
        m.d.sync += register.eq(data)
    text = verilog.convert(m, ports=[data, enable, register], name="reg8", emit_src=False)
    cells = synthesise(text, "reg8").cells
    assert cells["reg8"] == {"$_DFFE_PP_": 8}
    assert gate_equivalents(cells["reg8"]) == pytest.approx(
        8 * (DFF_UM2 + CELL_UM2["MUX"]) / NAND2_UM2)


def _memory_top():
    """A 16 x 8 memory with a synchronous read port, as the host's FIFO has."""
    from amaranth.lib.memory import Memory
    m = Module()
    m.submodules.mem = mem = Memory(shape=8, depth=16, init=[])
    write, read = mem.write_port(), mem.read_port()
    ports = [write.addr, write.data, write.en, read.addr, read.data]
    return verilog.convert(m, ports=ports, name="memtop", emit_src=False)


@pytest.mark.parametrize("macro_bits, macro", [(128, True), (129, False), (None, False)])
def test_memories_above_the_threshold_stay_macros(macro_bits, macro):
    netlist = synthesise(_memory_top(), "memtop", macro_bits)
    cells = {kind: n for module in netlist.cells.values() for kind, n in module.items()}
    assert ("$mem_v2" in cells) == macro
    assert sum(map(len, netlist.macros.values())) == macro
    if macro:
        assert list(netlist.macros.values()) == [{"mem": [16, 8]}]
    else:                           # mapped: 128 flip-flops hold the words
        assert sum(n for kind, n in cells.items() if "DFF" in kind) >= 128


def test_the_input_fifo_is_an_sram_macro_charged_per_vector():
    from cimtile.flows.ppa.digital import digital_activity
    small = dict(rows=2, cols=1, in_bits=2, w_bits=3, bits_per_cell=2, adc_bits=3,
                 cols_per_adc=2)
    cfg = config(**small, ppa={"sram_min_bits": 64})
    flops = config(**small, ppa={"sram_min_bits": 2**30})
    area, area_ff = tile_area(cfg), tile_area(flops)
    # The FIFO's 8 vectors of one 64-bit beat each, 73 bits a word (data, keep, last),
    # one word in the buffered FIFO's output register.
    assert area.sram_bits == {"cim_host.input_fifo/storage": 7 * 73}
    assert area.sram_bits_per_vector == 73
    fig = figures(cfg)
    assert area.parts["sram"] == 7 * 73 * fig.sram_bit_um2
    assert area_ff.sram_bits == {} and area_ff.parts["sram"] == 0
    # Its flip-flops left the host interface's gate equivalents.
    assert area_ff.digital_ge["host_interface"] - area.digital_ge["host_interface"] > 7 * 73 * 5
    W, X = workload(cfg, n=5)
    energy = compute_energy(cfg, compute_activity(cfg, W, X), digital_activity(area))
    assert energy.pj("sram_write") == 5 * 73 * fig.sram_write_pj
    assert energy.pj("sram_read") == 5 * 73 * fig.sram_read_pj
    cycles = compute_activity(cfg, W, X).cycles
    assert energy.pj("leakage_sram") == pytest.approx(7 * 73 * cycles * fig.sram_leak_cycle_pj)


def test_library_figures_scale_with_the_node():
    at45, at32 = figures(config(ppa={"node_nm": 45})), figures(config())
    assert at45.ge_um2 == 0.798 and at45.sram_bit_um2 == 1.506
    assert at32.ge_um2 == pytest.approx(0.798 * (32 / 45) ** 2)
    for name in ("ge_toggle_pj", "ge_leak_cycle_pj", "sram_write_pj", "sram_read_pj",
                 "sram_leak_cycle_pj"):
        assert getattr(at32, name) == pytest.approx(getattr(at45, name) * 32 / 45)
    # The ISAAC figures are at their own node and do not scale.
    assert (at32.adc_pj, at32.wl_drive_pj) == (at45.adc_pj, at45.wl_drive_pj)


def test_digital_area_grows_with_rows_and_columns():
    small = dict(rows=2, cols=1, in_bits=2, w_bits=3, bits_per_cell=2, adc_bits=3,
                 cols_per_adc=2)
    base = tile_area(config(**small))
    rows = tile_area(config(**small | {"rows": 4}))
    cols = tile_area(config(**small | {"cols": 2}))
    for grown in (rows, cols):
        assert grown.ge > base.ge
    # The blocks that hold a row per wordline grow with rows; those per column with columns.
    assert rows.digital_ge["bitplane_sequencer"] > base.digital_ge["bitplane_sequencer"]
    assert cols.digital_ge["shift_add"] > base.digital_ge["shift_add"]
    assert cols.digital_ge["adc_sequencer"] > base.digital_ge["adc_sequencer"]


def test_the_column_remap_is_its_own_block():
    small = dict(rows=2, cols=1, in_bits=2, w_bits=3, bits_per_cell=2, adc_bits=3,
                 cols_per_adc=2)
    plain, spared = tile_area(config(**small)), tile_area(config(**small, spare_cols=2))
    assert plain.digital_ge["column_remap"] == 0
    assert spared.digital_ge["column_remap"] > 0


@pytest.mark.parametrize("table, message", [
    ({"clock_mhz": 0}, "ppa.clock_mhz must be a number in (0, 100000], not 0"),
    ({"ge_area_um2": "1"}, "ppa.ge_area_um2 must be a number in (0, 1000000], not '1'"),
    ({"sram_min_bits": 0}, "ppa.sram_min_bits must be an integer in 1..1073741824, not 0"),
    ({"tops": 1}, "unknown key ppa.tops"),
])
def test_bad_ppa_values_name_the_field(table, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace(".", r"\.")):
        config(ppa=table)


def test_ppa_command_report_plot_and_bad_input(tmp_path):
    (tmp_path / "small.toml").write_text(SMALL)
    proc = run("ppa", "--config", "small.toml", "--n", "0", "--report", "R.json",
               cwd=tmp_path)
    assert_bad_input(proc, "--n must be in 1..10000, not 0")
    assert not (tmp_path / "R.json").exists()
    proc = run("ppa", "--config", "small.toml", "--n", "6", "--report", "R.json", "--plot",
               "P.png", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "R.json").read_text())
    cfg = parse_config(__import__("tomllib").loads(SMALL))
    assert report["golden_mismatches"] == 0
    energy = report["energy"]
    assert math.fsum(item["pj"] for item in energy["breakdown"].values()) == energy["total_pj"]
    # The co-simulated RTL made the golden model's activity: one plane per input bit.
    assert energy["activity"]["planes"] == 6 * cfg.tile.in_bits
    assert report["throughput"]["cycles_per_mvm"] == cfg.analog_cycles_per_mvm
    assert report["area"]["total_mm2"] * 1e6 == pytest.approx(
        sum(report["area"]["parts_um2"].values()))
    assert report["area"]["gops_per_mm2"] == pytest.approx(
        report["throughput"]["tops"] * 1e3 / report["area"]["total_mm2"])
    assert (tmp_path / "P.png").read_bytes()[:4] == b"\x89PNG"
    assert "TOPS/W" in proc.stdout and "GOPS/s/mm2" in proc.stdout
