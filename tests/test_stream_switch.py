"""The stream switch under random traffic: every frame reaches each output of its route
once, whole and in order per input, frames never interleave on an output, and every output
holds its beat while it waits (checked on every cycle)."""

import numpy as np
import pytest

from cimtile.hdl.stream_switch import StreamSwitch

from amaranth_sim import run

#: Outputs of each route: one, two (multicast), none (dropped), all.
TABLE = [0b001, 0b110, 0b000, 0b111]


def frames_of(rng, count):
    """Random frames: (route, [data, ...])."""
    return [(int(rng.integers(len(TABLE))), rng.integers(0, 256, int(rng.integers(1, 5)))
             .tolist()) for _ in range(count)]


def switched(sent, seed):
    """What each output of a 3 x 3 switch receives: a list of (source, data, last) beats."""
    rng = np.random.default_rng(seed)
    dut = StreamSwitch(inputs=3, outputs=3, data_width=8, routes=len(TABLE))
    received = [[] for _ in range(3)]
    expected_beats = sum(len(data) * bin(TABLE[route]).count("1")
                         for frames in sent for route, data in frames)

    def source(i):
        async def bench(ctx):
            inp = dut.i_streams[i]
            for route, data in sent[i]:
                for k, word in enumerate(data):
                    while rng.random() < 0.3:
                        await ctx.tick()
                    ctx.set(inp.payload, {"data": word, "route": route if k == 0 else 0,
                                          "last": k == len(data) - 1})
                    ctx.set(inp.valid, 1)
                    await ctx.tick().until(inp.ready)
                    ctx.set(inp.valid, 0)
        return bench

    async def sinks(ctx):
        ctx.set(dut.table, TABLE)
        waiting = [None] * 3
        for _ in range(20 * expected_beats):   # far more cycles than the traffic needs
            if sum(map(len, received)) == expected_beats:
                break
            for out in dut.o_streams:
                ctx.set(out.ready, rng.random() < 0.5)
            sampled = await ctx.tick().sample(
                *(value for out in dut.o_streams for value in (out.valid, out.ready,
                                                               out.payload)))
            for j in range(3):
                valid, ready, payload = sampled[2 + 3 * j:5 + 3 * j]
                beat = (int(payload.source), int(payload.data), int(payload.last))
                if waiting[j] is not None:
                    assert valid and beat == waiting[j], f"output {j} dropped a waiting beat"
                waiting[j] = beat if valid and not ready else None
                if valid and ready:
                    received[j].append(beat)
        assert sum(map(len, received)) == expected_beats, "beats lost or stuck"

    run(dut, sinks, background=[source(i) for i in range(3)])
    return received


@pytest.mark.parametrize("seed", [0, 1])
def test_every_frame_reaches_its_outputs_once_whole_and_in_order(seed):
    rng = np.random.default_rng(100 + seed)
    sent = [frames_of(rng, 12) for _ in range(3)]
    received = switched(sent, seed)
    for j, beats in enumerate(received):
        frames, current = [], []
        for source, word, last in beats:
            assert not current or current[0] == source, f"frames interleave on output {j}"
            current = current or [source]
            current.append(word)
            if last:
                frames.append((current[0], current[1:]))
                current = []
        assert current == []
        for i in range(3):
            assert [data for source, data in frames if source == i] == \
                [data for route, data in sent[i] if TABLE[route] >> j & 1]


def test_counts_are_checked():
    with pytest.raises(ValueError, match=r"^outputs must be a positive integer, not 0$"):
        StreamSwitch(inputs=2, outputs=0, data_width=8, routes=4)
