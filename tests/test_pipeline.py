"""Sample-and-hold pipelining (``[tile] pipeline``) in the Amaranth simulator: the key, the
pipelined controller with the bank and the ADC sequencer against the codes each sample
answered, and the whole tile against the golden model on the schedule the config derives."""

import dataclasses

import numpy as np
import pytest
from amaranth.hdl import Elaboratable, Module

from cimtile.flows.ppa.activity import compute_activity
from cimtile.flows.ppa.area import tile_area
from cimtile.flows.ppa.energy import compute_energy
from cimtile.hdl.adc_sequencer import AdcSequencer
from cimtile.hdl.crossbar_emulator import emulator_geometry
from cimtile.hdl.pipelined_controller import PipelinedController
from cimtile.hdl.sample_hold import SampleHold
from cimtile.models.golden import golden_mvm
from cimtile.spec.config import (REFERENCE_CONFIG, ConfigError, load_config, parse_config,
                                 reference_config)

from amaranth_sim import run
from cli_helpers import SMALL, assert_bad_input, run as run_cli
from test_hdl_tile import LOSSLESS, LOSSY, operands, simulate

CONFIGS = REFERENCE_CONFIG.parent


def config(tile, t_settle, t_adc, pipeline=True):
    return parse_config({"tile": tile | {"pipeline": pipeline},
                         "timing": {"t_settle": t_settle, "t_adc": t_adc}})


@pytest.mark.parametrize("value", [1, 0, "true", [True]])
def test_pipeline_takes_only_a_boolean(value):
    with pytest.raises(ConfigError) as error:
        config(LOSSY, 1, 1, pipeline=value)
    assert str(error.value) == f"tile.pipeline must be true or false, not {value!r}"


def test_pipeline_is_off_unless_asked_for():
    assert parse_config({"tile": LOSSY, "timing": {"t_settle": 1, "t_adc": 1}}) \
        == config(LOSSY, 1, 1, pipeline=False)
    assert config(LOSSY, 1, 1).tile.pipeline is True


def test_a_bad_pipeline_value_is_one_line_naming_the_key(tmp_path):
    (tmp_path / "bad.toml").write_text(SMALL.replace("[timing]", "pipeline = 1\n\n[timing]"))
    proc = run_cli("golden", "--config", "bad.toml", "--weights", "W.npy", "--inputs",
                   "X.npy", "--out", "Y.npy", cwd=tmp_path)
    assert_bad_input(proc, "bad.toml", "tile.pipeline must be true or false, not 1")


def test_the_crossbar_emulator_refuses_a_pipelined_tile():
    # Its codes come conversion by conversion, after the sample the bank would latch.
    emulator_geometry(config(LOSSY, 1, 3, pipeline=False))
    with pytest.raises(ConfigError, match="tile.pipeline must be false"):
        emulator_geometry(config(LOSSY, 1, 3))


@pytest.mark.parametrize("t_settle, cols_per_adc, t_adc, period", [
    (1, 1, 1, 2), (5, 1, 2, 6), (3, 2, 2, 4), (2, 4, 1, 4), (1, 8, 9, 72)])
def test_derived_schedule(t_settle, cols_per_adc, t_adc, period):
    tile = LOSSY | {"cols_per_adc": cols_per_adc}
    piped, plain = config(tile, t_settle, t_adc), config(tile, t_settle, t_adc, False)
    planes, conversions = tile["in_bits"], cols_per_adc * t_adc
    assert (plain.plane_cycles, plain.drive_cycles) == (t_settle + conversions,) * 2
    assert plain.result_latency == planes * plain.plane_cycles + 4
    assert (piped.plane_cycles, piped.drive_cycles) == (period, t_settle + 1)
    assert piped.analog_cycles_per_mvm == planes * period
    assert piped.result_latency == (planes - 1) * period + t_settle + conversions + 5


class Datapath(Elaboratable):
    """The pipelined controller, the bank and the ADC sequencer, wired as in the tile."""

    def __init__(self, *, in_bits, t_settle, cols_phys, cols_per_adc, t_adc):
        self.controller = PipelinedController(in_bits=in_bits, t_settle=t_settle,
                                              conversion_cycles=cols_per_adc * t_adc)
        self.bank = SampleHold(cols_phys=cols_phys, adc_bits=6)
        self.adc = AdcSequencer(cols_phys=cols_phys, adc_bits=6, cols_per_adc=cols_per_adc,
                                t_adc=t_adc)

    def elaborate(self, platform):
        m = Module()
        m.submodules.controller = c = self.controller
        m.submodules.bank = bank = self.bank
        m.submodules.adc = adc = self.adc
        m.d.comb += [bank.sample.eq(c.sample), adc.start.eq(c.convert),
                     adc.codes.eq(bank.held), c.adc_done.eq(adc.done)]
        return m


def run_datapath(*, t_settle, cols_per_adc, t_adc, planes, vectors, free_probability,
                 seed):
    """Feed `vectors` vectors (arriving at random) through the datapath with the acc path
    free at random; fresh random codes every cycle, so only those of a sample's cycle may
    reach the shift-and-add. Returns the per-cycle trace, the samples and the commands."""
    in_bits, cols_phys = 4, 5
    dut = Datapath(in_bits=in_bits, t_settle=t_settle, cols_phys=cols_phys,
                   cols_per_adc=cols_per_adc, t_adc=t_adc)
    c = dut.controller
    rng = np.random.default_rng(seed)
    trace, samples, commands = [], [], []

    async def bench(ctx):
        ctx.set(c.planes, planes)
        waiting, arrived = 0, 0
        for cycle in range(400 * vectors):
            if arrived < vectors and rng.random() < 0.5:
                waiting, arrived = waiting + 1, arrived + 1
            codes = [int(v) for v in rng.integers(0, 64, cols_phys)]
            ctx.set(dut.bank.codes, codes)
            ctx.set(c.in_valid, waiting > 0)
            ctx.set(c.acc_free, rng.random() < free_probability)
            row = {name: ctx.get(getattr(c, name)) for name in
                   ("load", "drive", "sample", "plane", "acc_en", "acc_plane", "acc_first",
                    "acc_last", "idle")}
            trace.append(row)
            waiting -= row["load"]
            if row["sample"]:
                samples.append((cycle, row["plane"], codes))
            if row["acc_en"]:
                commands.append((row["acc_plane"], row["acc_first"], row["acc_last"],
                                 list(ctx.get(dut.adc.slots))))
            if len(commands) == vectors * planes and row["idle"]:
                return
            await ctx.tick()
        raise AssertionError(f"{len(commands)} of {vectors * planes} planes accumulated")

    run(dut, bench)
    return trace, samples, commands


@pytest.mark.parametrize("t_settle, cols_per_adc, t_adc", [
    (1, 1, 1), (5, 1, 2), (3, 2, 2), (2, 4, 1), (1, 3, 3)])
@pytest.mark.parametrize("free_probability", [1.0, 0.3])
def test_controller_accumulates_each_plane_from_its_own_sample(t_settle, cols_per_adc,
                                                               t_adc, free_probability):
    planes = 3
    trace, samples, commands = run_datapath(
        t_settle=t_settle, cols_per_adc=cols_per_adc, t_adc=t_adc, planes=planes,
        vectors=6, free_probability=free_probability, seed=t_settle + cols_per_adc)
    assert [plane for _, plane, _ in samples] == [*range(planes)] * 6
    for k, ((_, plane, codes), (acc_plane, first, last, slots)) in enumerate(
            zip(samples, commands, strict=True)):
        assert (acc_plane, first, last) == (plane, plane == 0, plane == planes - 1), k
        assert slots == codes, f"plane {k}: converted {slots}, sampled {codes}"
    for cycle, plane, _ in samples:
        # The timing contract: t_settle cycles of one plane's drive before the strobe.
        window = trace[cycle - t_settle:cycle + 1]
        assert all(row["drive"] and row["plane"] == plane for row in window), cycle
    assert all(a + 1 < b for (a, _, _), (b, _, _) in zip(samples, samples[1:])), \
        "the strobe is one cycle long and never repeats at once"


@pytest.mark.parametrize("t_settle, cols_per_adc, t_adc", [(1, 1, 1), (2, 4, 1), (1, 3, 3)])
def test_wordlines_are_released_from_the_sample_to_the_next_plane(t_settle, cols_per_adc,
                                                                 t_adc):
    """Unstalled and fed back to back: the strobe every plane_cycles, the wordlines
    driven t_settle + 1 cycles a plane and low during the rest of the conversions."""
    cfg = config(LOSSY | {"cols_per_adc": cols_per_adc}, t_settle, t_adc)
    trace, samples, _ = run_datapath(t_settle=t_settle, cols_per_adc=cols_per_adc,
                                     t_adc=t_adc, planes=3, vectors=8, free_probability=1.0,
                                     seed=1)
    cycles = [cycle for cycle, _, _ in samples]
    # The inputs arrive at random at first; the last vectors run back to back.
    assert set(np.diff(cycles[-9:])) == {cfg.plane_cycles}
    assert sum(row["drive"] for row in trace) == len(samples) * cfg.drive_cycles
    for cycle in cycles:
        assert not trace[cycle + 1]["drive"] or cfg.plane_cycles == t_settle + 1


@pytest.mark.parametrize("timing", [(2, 2), (5, 1), (1, 1)])
def test_pipelined_tile_computes_x_times_w_at_the_derived_rate(timing):
    cfg = config(LOSSLESS, *timing)
    assert cfg.lossless
    W, X = operands(cfg, 6, seed=3)
    Y, out_cycles = simulate(cfg, W, X, seed=0)
    np.testing.assert_array_equal(Y, X @ W)
    assert out_cycles[0] == cfg.result_latency
    assert set(np.diff(out_cycles)) == {cfg.analog_cycles_per_mvm}
    assert cfg.analog_cycles_per_mvm < config(LOSSLESS, *timing, False).analog_cycles_per_mvm


@pytest.mark.parametrize("in_bits, cols_per_adc, seed", [(1, 1, 21), (2, 1, 22), (4, 2, 23)])
def test_pipelined_tile_matches_golden_under_back_pressure_and_gaps(in_bits, cols_per_adc,
                                                                   seed):
    # One-cycle conversions end right after a stall is released: the case where a result
    # completed by one command and the next vector's first plane meet.
    cfg = config(LOSSY | {"in_bits": in_bits, "cols_per_adc": cols_per_adc}, 1, 1)
    W, X = operands(cfg, 12, seed=seed)
    Y, _ = simulate(cfg, W, X, seed=seed, ready_probability=0.3, gap_probability=0.1)
    np.testing.assert_array_equal(Y, golden_mvm(cfg, W, X, seed=seed))


def test_pipelining_cuts_only_the_crossbar_energy_by_the_drive_cycles():
    """The driven cells conduct t_settle + 1 cycles a plane instead of the whole plane; the
    drivers still charge each wordline once a plane, and every column is still sampled
    and converted."""
    plain, piped = config(LOSSY, 2, 3, False), config(LOSSY, 2, 3)
    W, X = operands(plain, 10, seed=4)
    pj = {}
    for cfg in (plain, piped):
        activity = compute_activity(cfg, W, X, seed=1)
        pj[cfg.tile.pipeline] = {item.name: item.pj
                                 for item in compute_energy(cfg, activity).items}
    factor = (2 + 1) / (2 + LOSSY["cols_per_adc"] * 3)
    assert pj[True]["crossbar"] == pytest.approx(factor * pj[False]["crossbar"], rel=1e-12)
    for name in ("wordline_drivers", "sample_hold", "adcs"):
        assert pj[True][name] == pj[False][name], name


def test_the_bank_is_counted_with_the_adc_sequencer():
    plain = config(LOSSY, 2, 3, False)
    areas = {cfg.tile.pipeline: tile_area(cfg).digital_ge for cfg in (plain, config(LOSSY, 2, 3))}
    assert areas[True]["host_interface"] == areas[False]["host_interface"]
    # At least a register per held code bit.
    bank_bits = plain.cols_phys * plain.tile.adc_bits
    assert areas[True]["adc_sequencer"] >= areas[False]["adc_sequencer"] + bank_bits


def test_shipped_configs_are_pipelined_and_keep_an_unpipelined_reference():
    for name in ("reference", "demo", "physical"):
        assert load_config(CONFIGS / f"{name}.toml").tile.pipeline, name
    unpipelined = load_config(CONFIGS / "reference_unpipelined.toml")
    reference = reference_config()
    assert unpipelined.tile == dataclasses.replace(reference.tile, pipeline=False,
                                                   cols_per_adc=8)
    assert unpipelined.analog_cycles_per_mvm == 8 * (1 + 8 * 9)
    # Two ADCs of 27 conversions a cycle: 64 columns each in 3 cycles a plane.
    assert reference.analog_cycles_per_mvm == 8 * 3
