"""The write-verify engine in the Amaranth simulator against the golden program-and-verify."""

import dataclasses

import numpy as np
import pytest

from cimtile.behavioral.device import STUCK_GMAX, STUCK_GMIN, MemdiodeArray
from cimtile.hdl.write_verify import WriteVerify, target_code
from cimtile.models.program import Rectangle, program_golden, rectangle_cells
from cimtile.spec.config_physics import DeviceConfig
from cimtile.spec.config_tables import WriteVerifyConfig

from amaranth_sim import run

ROWS, COLS, ADC_BITS, BITS_PER_CELL, T_READ = 4, 6, 6, 2, 3


def settings_value(settings, rect):
    return {**{f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)},
            **dataclasses.asdict(rect)}


def program_rtl(device, levels, rect, settings, *, starts=1):
    """Run the RTL engine ``starts`` times over ``rect``; return results, cycles and flags."""
    dut = WriteVerify(rows=ROWS, cols_phys=COLS, adc_bits=ADC_BITS,
                      bits_per_cell=BITS_PER_CELL, t_read=T_READ)
    results, flags = [], []
    strobes = []        # (cycle, "read" | "pulse")

    async def analog(ctx):
        cycle = 0
        async for _ in ctx.tick():
            cycle += 1
            cell = np.array([ctx.get(dut.cell.row) * COLS + ctx.get(dut.cell.col)])
            if ctx.get(dut.cell.read):
                strobes.append((cycle, "read"))
                ctx.set(dut.cell.read_code, int(device.read(cell, ADC_BITS)[0]))
            if ctx.get(dut.cell.pulse):
                strobes.append((cycle, "pulse"))
                device.pulse(cell, [ctx.get(dut.cell.polarity).value],
                             [ctx.get(dut.cell.amplitude)], [ctx.get(dut.cell.width)])

    async def targets(ctx):
        for _ in range(starts):
            for level in np.asarray(levels).reshape(-1):
                ctx.set(dut.i_stream.payload, int(level))
                ctx.set(dut.i_stream.valid, 1)
                await ctx.tick().until(dut.i_stream.ready)
                ctx.set(dut.i_stream.valid, 0)

    async def host(ctx):
        ctx.set(dut.settings, settings_value(settings, rect))
        ctx.set(dut.o_stream.ready, 1)
        for _ in range(starts):
            ctx.set(dut.start, 1)
            await ctx.tick()
            ctx.set(dut.start, 0)
            for cycle in range(100_000):
                _, _, valid, payload, done, error = await ctx.tick().sample(
                    dut.o_stream.valid, dut.o_stream.payload, dut.done, dut.error)
                if valid:
                    results.append((payload.pulses, payload.converged))
                if done:
                    flags.append(error)
                    break
            else:
                raise AssertionError("write-verify never finished: the engine hangs")
            assert not ctx.get(dut.busy)

    run(dut, host, background=[analog, targets])
    # Timing contract: a verify read lasts t_read cycles, then one cycle decides; a pulse
    # lasts pulse_width cycles before the next read.
    for (before, kind), (after, next_kind) in zip(strobes, strobes[1:]):
        if (kind, next_kind) == ("read", "pulse"):
            assert after - before == T_READ + 1
        if (kind, next_kind) == ("pulse", "read"):
            assert after - before == settings.pulse_width
        assert (kind, next_kind) != ("pulse", "pulse")
    return np.array(results, np.int64).reshape(-1, 2), flags


def twin_devices(seed, faults=None, device=DeviceConfig()):
    return [MemdiodeArray(device, (ROWS, COLS), np.random.default_rng(seed), faults)
            for _ in range(2)]


def check_against_golden(settings, rect, seed, faults=None, starts=1, device=DeviceConfig()):
    rtl_device, golden_device = twin_devices(seed, faults, device)
    levels = np.random.default_rng(seed + 100).integers(0, 2 ** BITS_PER_CELL, rect.shape)
    results, flags = program_rtl(rtl_device, levels, rect, settings, starts=starts)
    assert flags == [0] * starts
    for run in range(starts):
        outcome = program_golden(golden_device, levels, rect, settings,
                                 bits_per_cell=BITS_PER_CELL, adc_bits=ADC_BITS)
        chunk = results[run * levels.size:(run + 1) * levels.size]
        np.testing.assert_array_equal(chunk[:, 0], outcome.pulses, err_msg=f"run {run}")
        np.testing.assert_array_equal(chunk[:, 1], outcome.converged, err_msg=f"run {run}")
    np.testing.assert_array_equal(rtl_device.state, golden_device.state)
    return levels, outcome


def test_target_codes_spread_levels_over_the_adc_range():
    assert [target_code(level, bits_per_cell=2, adc_bits=8) for level in range(4)] == \
        [0, 85, 170, 255]
    assert [target_code(level, bits_per_cell=2, adc_bits=3) for level in range(4)] == \
        [0, 2, 5, 7]     # 7/3 = 2.33 -> 2, 14/3 = 4.67 -> 5


def test_whole_array_matches_golden_cell_for_cell():
    levels, outcome = check_against_golden(WriteVerifyConfig(), Rectangle.whole(ROWS, COLS), 1)
    assert outcome.converged.all()
    assert outcome.pulses.max() > 1, "targets should need several pulses"


def test_rectangle_and_reprogramming_need_few_pulses():
    rect = Rectangle(1, 2, 2, 4)
    rtl_device, golden_device = twin_devices(5)
    levels = np.random.default_rng(3).integers(0, 4, rect.shape)
    results, _ = program_rtl(rtl_device, levels, rect, WriteVerifyConfig(), starts=2)
    first, second = results[:levels.size], results[levels.size:]
    assert first[:, 0].sum() > 0 and second[:, 0].sum() == 0
    assert second[:, 1].all()
    untouched = np.setdiff1d(np.arange(ROWS * COLS), rectangle_cells(rect, COLS))
    assert (rtl_device.state[untouched] == 0).all()


@pytest.mark.parametrize("tol", [0, 65535])
def test_tolerance_extremes(tol):
    settings = dataclasses.replace(WriteVerifyConfig(), tol=tol, max_pulses=40)
    _, outcome = check_against_golden(settings, Rectangle.whole(ROWS, COLS), 2)
    if tol == 65535:
        assert (outcome.pulses == 0).all() and outcome.converged.all()


def test_stuck_cells_fail_unless_their_level_is_the_target():
    faults = np.zeros((ROWS, COLS), np.int64)
    faults[0, :3] = STUCK_GMIN
    faults[3, 3:] = STUCK_GMAX
    levels, outcome = check_against_golden(WriteVerifyConfig(), Rectangle.whole(ROWS, COLS), 4,
                                           faults=faults)
    flat_levels, flat_faults = levels.reshape(-1), faults.reshape(-1)
    stuck_ok = ((flat_faults == STUCK_GMIN) & (flat_levels == 0)) | \
               ((flat_faults == STUCK_GMAX) & (flat_levels == 3))
    expected_failed = (flat_faults != 0) & ~stuck_ok
    np.testing.assert_array_equal(~outcome.converged, expected_failed)


def test_unreachable_window_fails_after_max_pulses():
    weak = dataclasses.replace(DeviceConfig(), tau0=1.0)     # pulses barely move the state
    settings = dataclasses.replace(WriteVerifyConfig(), max_pulses=5)
    levels, outcome = check_against_golden(settings, Rectangle.whole(ROWS, COLS), 6,
                                           device=weak)
    failing = levels.reshape(-1) != 0
    assert failing.any()
    np.testing.assert_array_equal(outcome.converged, ~failing)
    assert (outcome.pulses[failing] == 5).all()


@pytest.mark.parametrize("change", [
    dict(set_start=90, set_limit=80), dict(reset_start=201), dict(set_step=0),
    dict(reset_step=0), dict(max_pulses=0), dict(pulse_width=0),
])
def test_bad_settings_are_refused_without_hanging(change):
    rtl_device, _ = twin_devices(0)
    settings = WriteVerifyConfig()
    value = settings_value(settings, Rectangle.whole(ROWS, COLS)) | change
    dut = WriteVerify(rows=ROWS, cols_phys=COLS, adc_bits=ADC_BITS,
                      bits_per_cell=BITS_PER_CELL, t_read=T_READ)

    async def bench(ctx):
        ctx.set(dut.settings, value)
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        assert ctx.get(dut.done) and ctx.get(dut.error)
        await ctx.tick()
        assert not ctx.get(dut.busy) and not ctx.get(dut.i_stream.ready)

    run(dut, bench)


@pytest.mark.parametrize("rect", [Rectangle(2, 1, 0, 5), Rectangle(0, 3, 4, 3),
                                  Rectangle(0, 3, 0, 6)])
def test_bad_rectangle_is_refused(rect):
    dut = WriteVerify(rows=ROWS, cols_phys=COLS, adc_bits=ADC_BITS,
                      bits_per_cell=BITS_PER_CELL, t_read=T_READ)

    async def bench(ctx):
        ctx.set(dut.settings, settings_value(WriteVerifyConfig(), rect))
        ctx.set(dut.start, 1)
        await ctx.tick()
        assert ctx.get(dut.done) and ctx.get(dut.error)

    run(dut, bench)
