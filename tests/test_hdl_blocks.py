"""Block-level tests of the periphery in the Amaranth simulator."""

import numpy as np
import pytest
from amaranth.hdl import unsigned

from cimtile.hdl.adc_sequencer import AdcSequencer
from cimtile.hdl.bitplane import BitPlaneSequencer
from cimtile.hdl.buffers import VectorBuffer
from cimtile.hdl.controller import Controller
from cimtile.hdl.shift_add import ShiftAdd
from cimtile.spec.config import parse_config
from cimtile.spec.mapping import shift_add as ref_shift_add

from amaranth_sim import run


def test_vector_buffer_keeps_order_under_gaps_and_back_pressure():
    dut = VectorBuffer(unsigned(8))
    rng = np.random.default_rng(1)
    sent = list(range(1, 40))
    received = []

    async def producer(ctx):
        for value in sent:
            for _ in range(rng.integers(0, 3)):
                await ctx.tick()
            ctx.set(dut.i_stream.payload, value)
            ctx.set(dut.i_stream.valid, 1)
            await ctx.tick().until(dut.i_stream.ready)
            ctx.set(dut.i_stream.valid, 0)

    async def consumer(ctx):
        # Bounded, so a buffer that loses values fails instead of hanging.
        for cycle in range(20 * len(sent)):
            if len(received) == len(sent):
                break
            ready = int(rng.integers(0, 2))
            ctx.set(dut.o_stream.ready, ready)
            _, _, valid, payload, accepting = await ctx.tick().sample(
                dut.o_stream.valid, dut.o_stream.payload, dut.i_stream.ready)
            if valid and ready:
                received.append(int(payload))
            # A full buffer must refuse input: ready depends only on its own state.
            assert accepting == (not valid), \
                f"cycle {cycle}: i_stream.ready {accepting} with o_stream.valid {valid}"

    run(dut, consumer, background=[producer])
    differs = next((i for i, (got, want) in enumerate(zip(received, sent)) if got != want),
                   None)
    assert differs is None, \
        f"value {differs}: got {received[differs]}, sent {sent[differs]}"
    assert len(received) == len(sent), f"{len(received)} of {len(sent)} values came out"


def test_bitplane_drives_twos_complement_bits_lsb_first():
    rows, in_bits = 5, 4
    dut = BitPlaneSequencer(rows=rows, in_bits=in_bits)
    vector = [-8, -1, 0, 7, 5]

    async def bench(ctx):
        ctx.set(dut.vector, vector)
        ctx.set(dut.load, 1)
        await ctx.tick()
        ctx.set(dut.load, 0)
        ctx.set(dut.vector, [0] * rows)
        assert ctx.get(dut.wl) == 0, "wordlines must be released when not driving"
        ctx.set(dut.drive, 1)
        for plane in range(in_bits):
            ctx.set(dut.plane, plane)
            expected = sum(((v >> plane) & 1) << row for row, v in enumerate(vector))
            assert ctx.get(dut.wl) == expected, f"plane {plane}"

    run(dut, bench)


@pytest.mark.parametrize("cols_per_adc, t_adc, per_step", [
    (1, 1, 1), (3, 2, 1), (4, 1, 1), (2, 3, 1), (4, 1, 2), (3, 2, 2), (7, 1, 3), (4, 1, 4)])
def test_adc_sequencer_latches_each_column_at_its_conversion_end(cols_per_adc, t_adc,
                                                                 per_step):
    cols_phys, bits = 7, 6
    dut = AdcSequencer(cols_phys=cols_phys, adc_bits=bits, cols_per_adc=cols_per_adc,
                       t_adc=t_adc, per_step=per_step)
    duration = -(-cols_per_adc // per_step) * t_adc

    def codes_at(cycle):
        return [(cycle * 7 + column * 3 + 1) % 2 ** bits for column in range(cols_phys)]

    async def bench(ctx):
        await ctx.tick()
        ctx.set(dut.start, 1)
        done_cycles = []
        for cycle in range(duration + 3):
            ctx.set(dut.codes, codes_at(cycle))
            if ctx.get(dut.done):
                done_cycles.append(cycle)
            await ctx.tick()
            ctx.set(dut.start, 0)
        assert done_cycles == [duration - 1]
        slots = list(ctx.get(dut.slots))
        for column in range(cols_phys):
            latched_at = ((column % cols_per_adc) // per_step + 1) * t_adc - 1
            assert slots[column] == codes_at(latched_at)[column], f"column {column}"

    run(dut, bench)


@pytest.mark.parametrize("tile", [
    dict(rows=4, cols=3, in_bits=3, w_bits=5, bits_per_cell=2, adc_bits=5, adc_shift=0,
         cols_per_adc=2),
    dict(rows=4, cols=2, in_bits=1, w_bits=8, bits_per_cell=3, adc_bits=7, adc_shift=2,
         cols_per_adc=1),
    dict(rows=4, cols=1, in_bits=5, w_bits=2, bits_per_cell=1, adc_bits=3, adc_shift=3,
         cols_per_adc=1),
])
def test_shift_add_matches_reference(tile):
    config = parse_config({"tile": tile, "timing": {"t_settle": 1, "t_adc": 1}})
    dut = ShiftAdd(cols=tile["cols"], slices=config.slices,
                   bits_per_cell=tile["bits_per_cell"], adc_bits=tile["adc_bits"],
                   in_bits=tile["in_bits"], adc_shift_max=config.adc_shift_max,
                   result_width=config.result_width)
    rng = np.random.default_rng(7)
    codes = rng.integers(0, config.max_code + 1, size=(6, tile["in_bits"], config.cols_phys))
    codes[0] = config.max_code     # the extremes set the accumulator width
    codes[1, :, 0::2] = 0
    codes[1, :, 1::2] = config.max_code
    expected = ref_shift_add(codes, config)

    async def bench(ctx):
        ctx.set(dut.o_stream.ready, 1)
        ctx.set(dut.adc_shift, tile["adc_shift"])
        for vector, planes in enumerate(codes):
            for plane, plane_codes in enumerate(planes):
                ctx.set(dut.slots, [int(c) for c in plane_codes])
                ctx.set(dut.plane, plane)
                ctx.set(dut.first, plane == 0)
                ctx.set(dut.last, plane == tile["in_bits"] - 1)
                ctx.set(dut.en, 1)
                await ctx.tick()
                ctx.set(dut.en, 0)
                assert ctx.get(dut.o_stream.valid) == (plane == tile["in_bits"] - 1)
            assert list(ctx.get(dut.o_stream.payload)) == list(expected[vector])
            await ctx.tick()
            assert not ctx.get(dut.o_stream.valid), "result must leave after one transfer"

    run(dut, bench)


def test_controller_visits_every_transition():
    """Two planes, settle 2, ADC done 2 cycles after sample; the acc path blocks once."""
    dut = Controller(in_bits=2, t_settle=2)
    trace = []

    async def adc(ctx):
        countdown = None
        async for _, _, sample in ctx.tick().sample(dut.sample):
            countdown = 1 if sample else (countdown - 1 if countdown else None)
            ctx.set(dut.adc_done, countdown == 0)

    async def bench(ctx):
        for cycle in range(40):
            ctx.set(dut.in_valid, cycle in range(3, 20))
            ctx.set(dut.acc_free, cycle not in range(14, 22))
            trace.append((ctx.get(dut.load), ctx.get(dut.drive), ctx.get(dut.sample),
                           ctx.get(dut.acc_en), ctx.get(dut.acc_first), ctx.get(dut.acc_last)))
            await ctx.tick()

    run(dut, bench, background=[adc])
    loads = [cycle for cycle, row in enumerate(trace) if row[0]]
    drives = [cycle for cycle, row in enumerate(trace) if row[1]]
    samples = [cycle for cycle, row in enumerate(trace) if row[2]]
    accs = [(cycle, row[4], row[5]) for cycle, row in enumerate(trace) if row[3]]
    # A plane is 2 settle + 3 convert cycles. IDLE -> SETTLE: vector A loads at 3 and its
    # planes run 4-8 and 9-13. Its last plane ends with B waiting: B loads back to back
    # at 13 and its plane 0 runs 14-18.
    assert loads == [3, 13]
    # Plane 0 of B ends at 18 while the acc path is blocked (14-21): HOLD 19-21 with the
    # wordlines released, released at 22; B's plane 1 runs 23-27, then IDLE.
    assert drives == [*range(4, 19), *range(23, 28)]
    assert samples == [6, 11, 16, 25]
    assert accs == [(9, 1, 0), (14, 0, 1), (23, 1, 0), (28, 0, 1)]
