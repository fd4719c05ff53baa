"""AXI4-Stream adapters and frame helpers, in the Amaranth simulator."""

import numpy as np
import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring

from cimtile.hdl.axi_stream import AxiStreamSignature
from cimtile.hdl.stream_pack import (CELL_LANE_LAYOUT, BeatsToLanes, BeatsToVectors, LanesToBeats,
                                     VectorsToBeats)
from cimtile.spec.axis_frames import pack_targets, pack_vectors, unpack_cells, unpack_vectors

from amaranth_sim import run


def beats_of(frame, data_width, keep=None):
    """[(tdata, tkeep, tlast)] of a frame's bytes; `keep` (bytes, 0/1) defaults to all ones."""
    step = data_width // 8
    keep = np.ones(len(frame), np.uint8) if keep is None else np.asarray(keep, np.uint8)
    beats = []
    for start in range(0, len(frame), step):
        keep_bits = np.packbits(keep[start:start + step], bitorder="little")
        beats.append([int.from_bytes(frame[start:start + step], "little"),
                      int.from_bytes(keep_bits.tobytes(), "little"), 0])
    beats[-1][2] = 1
    return beats


async def wait_until(ctx, condition, limit=2000):
    """Tick until `condition` is true at a clock edge; fail rather than hang after `limit`."""
    for _ in range(limit):
        _, _, value = await ctx.tick().sample(condition)
        if value:
            return
    raise AssertionError(f"waited {limit} cycles for {condition!r}")


async def send_beats(ctx, axis, beats, rng=None, gap=0.0):
    """Drive `beats` on `axis` with random idle cycles; valid and payload held until taken."""
    for tdata, tkeep, tlast in beats:
        while rng is not None and rng.random() < gap:
            ctx.set(axis.tvalid, 0)
            await ctx.tick()
        ctx.set(axis.tdata, tdata)
        if hasattr(axis, "tkeep"):
            ctx.set(axis.tkeep, tkeep)
        ctx.set(axis.tlast, tlast)
        ctx.set(axis.tvalid, 1)
        await wait_until(ctx, axis.tready)
    ctx.set(axis.tvalid, 0)


def sender(axis, beats, rng=None, gap=0.0):
    """A testbench sending `beats` with :func:`send_beats`."""
    async def bench(ctx):
        await send_beats(ctx, axis, beats, rng, gap)
    return bench


async def take(ctx, valid, ready, payload, done, rng, ready_p=1.0, limit=5000):
    """Take items with random ready until done(items), failing after `limit` cycles; check
    valid and payload hold while stalled. Returns the payloads."""
    items, stalled = [], None
    for _ in range(limit):
        if done(items):
            break
        accept = rng.random() < ready_p
        ctx.set(ready, accept)
        _, _, is_valid, value = await ctx.tick().sample(valid, payload)
        if stalled is not None:
            assert is_valid, "valid dropped before ready"
            assert value == stalled, "payload changed while stalled"
        stalled = None
        if is_valid and accept:
            items.append(value)
        elif is_valid:
            stalled = value
    else:
        raise AssertionError(f"only {len(items)} items in {limit} cycles")
    ctx.set(ready, 0)
    return items


def count_pulses(dut, counts, *names):
    """A background bench adding up, per cycle, the error outputs `names` into `counts`."""
    async def bench(ctx):
        async for _, _, *values in ctx.tick().sample(*(getattr(dut, n) for n in names)):
            for name, value in zip(names, values):
                counts[name] += value
    return bench


def random_elements(rng, shape, width, signed):
    low, high = (-(1 << width - 1), 1 << width - 1) if signed else (0, 1 << width)
    return rng.integers(low, high, size=shape)


# -- frame helpers against the plain integer definition ------------------------------------

@pytest.mark.parametrize("width, data_width", [(1, 8), (5, 32), (9, 64), (27, 128), (64, 32)])
def test_pack_vectors_matches_integer_definition(width, data_width):
    rng = np.random.default_rng(width)
    X = random_elements(rng, (4, 7), width, signed=True)
    lane = 8 * -(-width // 8)
    beats = -(-7 * lane // data_width)
    expected = b"".join(
        sum((int(x) % (1 << lane)) << (e * lane) for e, x in enumerate(row))
        .to_bytes(beats * data_width // 8, "little") for row in X)
    frame = pack_vectors(X, width, data_width)
    assert frame == expected
    assert np.array_equal(unpack_vectors(frame, width, 7, data_width), X)


def test_frame_helpers_reject_malformed_input():
    with pytest.raises(ValueError, match="whole number of 8-byte vectors"):
        unpack_vectors(bytes(12), 9, 3, 64)
    with pytest.raises(ValueError, match="expected 8 for 1 cells"):
        unpack_cells(bytes(4), 1, 64)
    with pytest.raises(ValueError, match="0 to 255"):
        pack_targets([1, 256], 32)
    with pytest.raises(ValueError, match="multiple of 8"):
        pack_vectors([[1]], 8, 12)


def test_signature_members_and_validation():
    assert list(AxiStreamSignature(32, keep=True).members) == [
        "tdata", "tkeep", "tlast", "tvalid", "tready"]
    assert "tkeep" not in AxiStreamSignature(32, keep=False).members
    with pytest.raises(TypeError, match="positive multiple of 8, not 12"):
        AxiStreamSignature(12, keep=False)
    with pytest.raises(ValueError, match="multiple of the 32-bit lane, not 16"):
        LanesToBeats(16, CELL_LANE_LAYOUT)


# -- vectors ---------------------------------------------------------------------------------

class RoundTrip(wiring.Component):
    """BeatsToVectors feeding VectorsToBeats: AXI4-Stream in, AXI4-Stream out."""

    def __init__(self, data_width, width, count):
        self.unpack = BeatsToVectors(data_width, width, count, signed=True)
        self.pack = VectorsToBeats(data_width, width, count)
        super().__init__({"i_axis": wiring.In(AxiStreamSignature(data_width, keep=True)),
                          "o_axis": wiring.Out(AxiStreamSignature(data_width, keep=False))})

    def elaborate(self, platform):
        m = Module()
        m.submodules.unpack, m.submodules.pack = self.unpack, self.pack
        wiring.connect(m, wiring.flipped(self.i_axis), self.unpack.i_axis)
        wiring.connect(m, self.unpack.o_stream, self.pack.i_stream)
        wiring.connect(m, self.pack.o_axis, wiring.flipped(self.o_axis))
        return m


@pytest.mark.parametrize("data_width", [8, 32, 64, 128])
@pytest.mark.parametrize("width", [1, 5, 8, 9, 27])
def test_vector_round_trip_under_gaps_and_back_pressure(data_width, width):
    count = 13
    rng = np.random.default_rng(data_width * 100 + width)
    X = random_elements(rng, (6, count), width, signed=True)
    frame = pack_vectors(X, width, data_width)
    # Padding bytes carry random tkeep: the contract ignores it.
    keep = np.ones(len(frame), np.uint8)
    per_vector = len(frame) // len(X)
    keep.reshape(len(X), per_vector)[:, count * -(-width // 8):] = rng.integers(
        0, 2, (len(X), per_vector - count * -(-width // 8)))
    beats_in = beats_of(frame, data_width, keep)
    dut = RoundTrip(data_width, width, count)
    out = []

    async def consumer(ctx):
        axis = dut.o_axis
        beats = await take(ctx, axis.tvalid, axis.tready, axis.tdata, lambda b: len(b) == len(
            beats_in), rng, ready_p=0.6)
        out.extend(beats)

    async def tlasts(ctx):
        async for _, _, valid, ready, last in ctx.tick().sample(
                dut.o_axis.tvalid, dut.o_axis.tready, dut.o_axis.tlast):
            if valid and ready:
                out_last.append(last)

    out_last = []
    run(dut, consumer, background=[
        sender(dut.i_axis, beats_in, rng, gap=0.3), tlasts])
    data = b"".join(b.to_bytes(data_width // 8, "little") for b in out)
    assert data == frame
    assert np.array_equal(unpack_vectors(data, width, count, data_width), X)
    assert out_last == [0] * (len(beats_in) - 1) + [1]


@pytest.mark.parametrize("data_width, width, count", [(32, 9, 5), (64, 1, 70), (8, 27, 2)])
def test_beats_to_vectors_takes_low_bits_and_flags_nothing_on_clean_frames(
        data_width, width, count):
    rng = np.random.default_rng(count)
    X = random_elements(rng, (5, count), width, signed=False)
    lane = 8 * -(-width // 8)
    garbage = rng.integers(0, 1 << (lane - width), size=X.shape) << width  # ignored bits
    beats = beats_of(pack_vectors(X + garbage, width, data_width), data_width)
    dut = BeatsToVectors(data_width, width, count)
    counts = {"keep_error": 0, "last_error": 0}

    async def consumer(ctx):
        items = await take(ctx, dut.o_stream.valid, dut.o_stream.ready, dut.o_stream.payload,
                           lambda v: len(v) == len(X), rng, ready_p=0.5)
        assert np.array_equal([list(v.vector) for v in items], X)
        assert [v.last for v in items] == [0] * (len(X) - 1) + [1]

    run(dut, consumer, background=[
        sender(dut.i_axis, beats, rng, gap=0.3),
        count_pulses(dut, counts, "keep_error", "last_error")])
    assert counts == {"keep_error": 0, "last_error": 0}


def cycle_counter(ticks):
    """A background bench counting clock cycles into ``ticks[0]``."""
    async def bench(ctx):
        async for _ in ctx.tick():
            ticks[0] += 1
    return bench


@pytest.mark.parametrize("dut_class", [BeatsToVectors, VectorsToBeats])
def test_vector_streams_move_a_beat_every_cycle(dut_class):
    data_width, width, count, vectors = 32, 8, 10, 4        # 3 beats per vector
    dut = dut_class(data_width, width, count)
    X = np.arange(vectors * count).reshape(vectors, count) % 100
    beats = beats_of(pack_vectors(X, width, data_width), data_width)
    ticks = [0]

    async def bench(ctx):
        if dut_class is BeatsToVectors:
            ctx.set(dut.o_stream.ready, 1)
            await send_beats(ctx, dut.i_axis, beats)
        else:
            ctx.set(dut.o_axis.tready, 1)
            for row in X:
                ctx.set(dut.i_stream.payload, {"vector": list(row), "last": 0})
                ctx.set(dut.i_stream.valid, 1)
                await wait_until(ctx, dut.i_stream.ready)
            ctx.set(dut.i_stream.valid, 0)
            await wait_until(ctx, ~dut.o_axis.tvalid)
        # One cycle per beat, plus loading the first vector and seeing the stream idle.
        assert ticks[0] <= len(beats) + 2, f"{len(beats)} beats took {ticks[0]} cycles"

    run(dut, bench, background=[cycle_counter(ticks)])


def frame_with_bad_keep(rng, X, width, data_width, bad_vectors):
    frame = pack_vectors(X, width, data_width)
    per_vector, data_bytes = len(frame) // len(X), X.shape[1] * -(-width // 8)
    keep = np.ones(len(frame), np.uint8)
    for k in bad_vectors:
        keep[k * per_vector + rng.integers(0, data_bytes)] = 0
    return beats_of(frame, data_width, keep)


@pytest.mark.parametrize("data_width, width, count", [(32, 9, 5), (8, 5, 3), (128, 27, 7)])
def test_partial_keep_on_data_bytes_drops_the_vector(data_width, width, count):
    rng = np.random.default_rng(7)
    X = random_elements(rng, (8, count), width, signed=True)
    bad = [1, 2, 6]
    beats = frame_with_bad_keep(rng, X, width, data_width, bad)
    dut = BeatsToVectors(data_width, width, count, signed=True)
    counts = {"keep_error": 0, "last_error": 0}
    kept = [k for k in range(len(X)) if k not in bad]

    async def consumer(ctx):
        items = await take(ctx, dut.o_stream.valid, dut.o_stream.ready, dut.o_stream.payload,
                           lambda v: len(v) == len(kept), rng, ready_p=0.7)
        assert np.array_equal([list(v.vector) for v in items], X[kept])
        await ctx.tick().repeat(4)

    run(dut, consumer, background=[
        sender(dut.i_axis, beats, rng, gap=0.2),
        count_pulses(dut, counts, "keep_error", "last_error")])
    assert counts == {"keep_error": len(bad), "last_error": 0}


def test_early_tlast_drops_the_partial_vector_and_resyncs_at_the_next_beat():
    data_width, width, count = 32, 9, 5                     # 3 beats per vector
    rng = np.random.default_rng(3)
    X = random_elements(rng, (4, count), width, signed=True)
    beats = beats_of(pack_vectors(X, width, data_width), data_width)
    beats[2][2] = 0
    # Vector 1 cut after two beats, vector 2 after one: each ends the frame early.
    beats = beats[0:3] + beats[3:5] + beats[6:7] + beats[9:12]
    beats[4][2] = beats[5][2] = 1
    dut = BeatsToVectors(data_width, width, count, signed=True)
    counts = {"keep_error": 0, "last_error": 0}

    async def consumer(ctx):
        items = await take(ctx, dut.o_stream.valid, dut.o_stream.ready, dut.o_stream.payload,
                           lambda v: len(v) == 2, rng, ready_p=0.7)
        assert np.array_equal([list(v.vector) for v in items], X[[0, 3]])
        assert [v.last for v in items] == [0, 1]
        await ctx.tick().repeat(4)

    run(dut, consumer, background=[
        sender(dut.i_axis, beats, rng, gap=0.2),
        count_pulses(dut, counts, "keep_error", "last_error")])
    assert counts == {"keep_error": 0, "last_error": 2}


# -- lanes -----------------------------------------------------------------------------------

def ref_lanes(beats, lanes, width, run_length):
    """Reference framing of the target stream: the lanes a consumer taking runs of `run_length`
    lanes receives, and the error pulses in order (the contract's rules, lane by lane)."""
    out, errors, taken = [], [], 0
    for tdata, tkeep, tlast in beats:
        for i in range(lanes):
            if (tkeep >> i) & 1 == 0:
                errors.append("last_error" if tlast else "keep_error")
                break
            out.append((tdata >> 8 * i) & ((1 << width) - 1))
            taken += 1
            if taken % run_length == 0:
                if not tlast:
                    errors.append("last_error")
                break
            if i == lanes - 1 and tlast:
                errors.append("last_error")
    return out, errors


def run_beats_to_lanes(data_width, width, beats, run_length, rng, expected):
    """Send `beats`, take `expected` lanes in runs of `run_length`; the lanes and error events."""
    dut = BeatsToLanes(data_width, width)
    items, events, sent = [], [], []

    async def consumer(ctx):
        for _ in range(5000):
            if len(items) == expected:
                break
            accept = rng.random() < 0.6
            ctx.set(dut.o_stream.ready, accept)
            ctx.set(dut.last, len(items) % run_length == run_length - 1)
            _, _, valid, value = await ctx.tick().sample(dut.o_stream.valid,
                                                         dut.o_stream.payload)
            if valid and accept:
                items.append(value)
        else:
            raise AssertionError(f"only {len(items)} of {expected} lanes in 5000 cycles")
        ctx.set(dut.o_stream.ready, 0)
        await ctx.tick().repeat(4)
        assert sent, "the adapter stopped taking beats"

    async def monitor(ctx):
        async for _, _, keep_error, last_error in ctx.tick().sample(
                dut.keep_error, dut.last_error):
            events.extend(["keep_error"] * keep_error + ["last_error"] * last_error)

    async def send(ctx):
        await send_beats(ctx, dut.i_axis, beats, rng, gap=0.3)
        sent.append(True)

    run(dut, consumer, background=[send, monitor])
    return items, events


@pytest.mark.parametrize("data_width", [8, 32, 64])
def test_beats_to_lanes_delivers_runs_of_targets(data_width):
    rng = np.random.default_rng(data_width)
    width, runs = 3, [11, 5, 16]
    levels = [rng.integers(0, 256, n) for n in runs]     # upper bits are ignored
    for n, level in zip(runs, levels):
        frame = pack_targets(level, data_width)
        # Padding after the run's last lane: tkeep 0, as an AXI source sends a short frame.
        keep = (np.arange(len(frame)) < n).astype(np.uint8)
        items, events = run_beats_to_lanes(data_width, width, beats_of(frame, data_width, keep),
                                           n, rng, n)
        assert items == list(level & 7)
        assert events == []


@pytest.mark.parametrize("keep_padding", [0, 1])
def test_beats_to_lanes_flags_early_tlast(keep_padding):
    rng = np.random.default_rng(5)
    frame = pack_targets(np.arange(1, 7), 32)            # 6 cells in two beats; run is 10
    keep = np.where(np.arange(8) < 6, 1, keep_padding)
    delivered = 6 if keep_padding == 0 else 8            # kept padding reads as cells
    items, events = run_beats_to_lanes(32, 8, beats_of(frame, 32, keep), 10, rng, delivered)
    assert items[:6] == list(range(1, 7))
    assert events == ["last_error"]


def test_beats_to_lanes_flags_late_tlast_and_partial_keep():
    rng = np.random.default_rng(6)
    beats = beats_of(pack_targets(np.arange(1, 13), 32), 32)    # 12 cells, tlast on beat 2
    beats[0][1] = 0b1011                                        # cell 3 not kept
    # Runs of 5: cells 1, 2 (the rest of beat 0 dropped), 5, 6, 7: the run ends on beat 1,
    # which lacks tlast; its cell 8 is dropped and the next run starts with beat 2.
    items, events = run_beats_to_lanes(32, 8, beats, 5, rng, 7)
    assert items == [1, 2, 5, 6, 7, 9, 10]
    assert events == ["keep_error", "last_error"]


@pytest.mark.parametrize("seed", range(4))
def test_beats_to_lanes_matches_reference_on_random_framing(seed):
    rng = np.random.default_rng(seed)
    data_width, lanes = 32, 4
    beats = []
    for _ in range(40):
        keep = 0xF if rng.random() < 0.7 else int(rng.integers(0, 16))
        beats.append([int(rng.integers(0, 1 << 32)), keep, int(rng.random() < 0.25)])
    run_length = int(rng.integers(1, 9))
    expected, errors = ref_lanes(beats, lanes, 6, run_length)
    items, events = run_beats_to_lanes(data_width, 6, beats, run_length, rng, len(expected))
    assert items == expected
    assert events == errors


@pytest.mark.parametrize("data_width", [32, 64, 128])
def test_lanes_to_beats_packs_cell_results_densely(data_width):
    rng = np.random.default_rng(data_width)
    runs = [7, 1, 4, 9]
    fields = [dict(pulses=rng.integers(0, 256, n), converged=rng.integers(0, 2, n),
                   code=rng.integers(0, 1 << 16, n)) for n in runs]
    dut = LanesToBeats(data_width, CELL_LANE_LAYOUT)
    beats = []

    async def producer(ctx):
        for run_fields, n in zip(fields, runs):
            for k in range(n):
                while rng.random() < 0.3:
                    ctx.set(dut.i_stream.valid, 0)
                    await ctx.tick()
                ctx.set(dut.i_stream.payload, {
                    "lane": {name: int(v[k]) for name, v in run_fields.items()},
                    "last": int(k == n - 1)})
                ctx.set(dut.i_stream.valid, 1)
                await ctx.tick().until(dut.i_stream.ready)
        ctx.set(dut.i_stream.valid, 0)

    async def monitor(ctx):
        async for _, _, valid, ready, tdata, tlast in ctx.tick().sample(
                dut.o_axis.tvalid, dut.o_axis.tready, dut.o_axis.tdata, dut.o_axis.tlast):
            if valid and ready:
                beats.append((tdata, tlast))

    async def consumer(ctx):
        expected = sum(-(-4 * n // (data_width // 8)) for n in runs)
        await take(ctx, dut.o_axis.tvalid, dut.o_axis.tready, dut.o_axis.tdata,
                   lambda b: len(b) == expected, rng, ready_p=0.5)

    run(dut, consumer, background=[producer, monitor])
    frames, frame = [], b""
    for tdata, tlast in beats:
        frame += tdata.to_bytes(data_width // 8, "little")
        if tlast:
            frames.append(frame)
            frame = b""
    assert frame == b"" and len(frames) == len(runs)
    for got, want, n in zip(frames, fields, runs):
        cells = unpack_cells(got, n, data_width)
        for name in want:
            assert np.array_equal(getattr(cells, name), want[name]), name
        assert got[4 * n:] == bytes(len(got) - 4 * n), "padding must be zero"
