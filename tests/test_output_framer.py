"""The output framer: a soft reset never cuts an item and never leaves a frame open."""

import pytest

from cimtile.hdl.output_framer import OutputFramer

from amaranth_sim import run

BEATS = 3


def _run(soft_reset_at, stall=lambda cycle: False, idle=(), cycles=60):
    """Transfers ``(tdata, tkeep, tlast, cycle)``; fails on a stalled beat that changes."""
    dut = OutputFramer(data_width=32, beats_per_item=BEATS)
    seen = []

    async def bench(ctx):
        beat = 0          # next beat the producer offers
        limit = 10 ** 6   # the producer stops before this beat
        offered = None    # the beat on the bus last cycle, when it was not taken
        for cycle in range(cycles):
            held = ctx.get(dut.hold_reset)
            if held:
                # A producer in reset drops what it held and restarts at an item boundary;
                # it then sends up to the end of one more frame.
                beat = -(-beat // BEATS) * BEATS
                limit = (beat // (2 * BEATS) + 1) * 2 * BEATS
            producing = (not held and cycle >= 2 and beat < limit
                         and (cycle not in idle or beat % BEATS))
            if cycle == soft_reset_at:
                # Upstream is reset too: the producer only finishes the item it offers.
                limit = -(-(beat + producing) // BEATS) * BEATS
            ctx.set(dut.soft_reset, cycle == soft_reset_at)
            ctx.set(dut.i.tvalid, producing)
            ctx.set(dut.i.tdata, beat)
            ctx.set(dut.i.tkeep, 0xF)
            ctx.set(dut.i.tlast, beat % (2 * BEATS) == 2 * BEATS - 1)
            ctx.set(dut.o.tready, not stall(cycle))
            await ctx.delay(1e-9)
            beat_now = (ctx.get(dut.o.tdata), ctx.get(dut.o.tkeep), ctx.get(dut.o.tlast))
            if offered is not None:
                assert ctx.get(dut.o.tvalid) and beat_now == offered, \
                    f"cycle {cycle}: stalled beat {offered} became {beat_now}"
            offered = (beat_now if ctx.get(dut.o.tvalid) and not ctx.get(dut.o.tready)
                       else None)
            if ctx.get(dut.o.tvalid) and ctx.get(dut.o.tready):
                seen.append((ctx.get(dut.o.tdata), ctx.get(dut.o.tkeep), ctx.get(dut.o.tlast),
                             cycle))
                if ctx.get(dut.i.tready) and producing:
                    beat += 1
            await ctx.tick()

    run(dut, bench)
    return seen


def _frames(seen):
    """Split the transfers into frames at TLAST; null beats carry no data."""
    frames, current = [], []
    for data, keep, last, _ in seen:
        if keep:
            current.append(data)
        if last:
            frames.append(current)
            current = []
    return frames, current


@pytest.mark.parametrize("soft_reset_at", range(2, 2 + 2 * BEATS + 2))
def test_soft_reset_closes_the_frame_at_an_item_boundary(soft_reset_at):
    seen = _run(soft_reset_at)
    frames, still_open = _frames(seen)
    assert not still_open, f"frame left open: {still_open}"
    for frame in frames:
        items = [frame[i:i + BEATS] for i in range(0, len(frame), BEATS)]
        for item in items:
            assert len(item) == BEATS and item[0] % BEATS == 0 \
                and item == list(range(item[0], item[0] + BEATS)), f"an item was cut: {frame}"


def test_null_beat_closes_a_frame_open_between_items():
    # The producer pauses after the first item, leaving the frame open (TLAST comes only
    # every second item); the soft reset comes in the pause.
    seen = _run(soft_reset_at=2 + BEATS + 1, idle=range(2 + BEATS, 2 + BEATS + 3))
    nulls = [s for s in seen if s[1] == 0]
    assert nulls and nulls[0][2] == 1, f"no closing null beat in {seen}"


def test_stall_holds_payload_until_ready():
    seen = _run(soft_reset_at=4, stall=lambda cycle: cycle % 3 != 0)
    frames, still_open = _frames(seen)
    assert not still_open
    data = [d for frame in frames for d in frame]
    assert data == sorted(data) and len(set(data)) == len(data)


@pytest.mark.parametrize("soft_reset_at", range(2, 2 + 2 * BEATS + 2))
def test_soft_reset_never_changes_a_stalled_beat(soft_reset_at):
    # The sink stalls every beat for a few cycles, so the soft reset meets a stalled beat
    # (the item's last one among them); the beat keeps its TLAST and a null beat closes
    # the frame after the item.
    seen = _run(soft_reset_at, stall=lambda cycle: cycle % 4 != 0, cycles=90)
    frames, still_open = _frames(seen)
    assert not still_open, f"frame left open: {still_open}"
