"""The post-processing unit against its golden function: partial sums added with
saturation, scaled, biased, rectified and requantised, under stalls on both sides."""

import numpy as np
import pytest

from cimtile.hdl.post_process import PostProcess
from cimtile.models.post_process import PostProcessing, post_process, saturate

from amaranth_sim import run

WIDTHS = dict(lanes=4, in_bits=12, acc_bits=13, mult_bits=8, bias_bits=16, out_bits=8,
              shift_max=12)


def test_the_golden_function_saturates_rounds_and_rectifies():
    settings = PostProcessing(mult=(3, -2), bias=(4, 0), shift=3, relu=True)
    partials = [[[8000, -7], [8000, 5]], [[8000, 1], [-9000, 2]]]
    # Vector 0, lane 0: 8000 + 8000 saturates at 8191, then (8191 * 3 + 4 + 4) >> 3 = 3072
    # saturates at 127; lane 1: (-6 * -2 + 0 + 4) >> 3 = 2 (1.5 rounded half up).
    # Vector 1: (-1000 * 3 + 8) >> 3 = -374 and (7 * -2 + 4) >> 3 = -2, both rectified.
    got = post_process(partials, settings, acc_bits=14, out_bits=8)
    assert got.tolist() == [[127, 2], [0, 0]]
    assert saturate(np.array([-200, 200]), 8).tolist() == [-128, 127]


def rtl_post_process(partials, settings, rng):
    """The RTL's results for `partials` (blocks, n, lanes), with random gaps on the input
    and back-pressure on the output."""
    dut = PostProcess(**WIDTHS)
    blocks, vectors, lanes = partials.shape
    results = []

    async def source(ctx):
        ctx.set(dut.mult, list(settings.mult))
        ctx.set(dut.bias, list(settings.bias))
        ctx.set(dut.shift, settings.shift)
        ctx.set(dut.relu, settings.relu)
        for n in range(vectors):
            for b in range(blocks):
                while rng.random() < 0.3:
                    await ctx.tick()
                ctx.set(dut.i_stream.payload, {"data": partials[b, n].tolist(),
                                               "first": b == 0, "last": b == blocks - 1})
                ctx.set(dut.i_stream.valid, 1)
                await ctx.tick().until(dut.i_stream.ready)
                ctx.set(dut.i_stream.valid, 0)

    async def sink(ctx):
        while len(results) < vectors:
            ctx.set(dut.o_stream.ready, rng.random() < 0.6)
            _, _, valid, ready, payload = await ctx.tick().sample(
                dut.o_stream.valid, dut.o_stream.ready, dut.o_stream.payload)
            if valid and ready:
                results.append([int(v) for v in payload])

    run(dut, sink, background=[source])
    return np.array(results)


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("blocks", [1, 3])
def test_the_rtl_equals_the_golden_function(blocks, relu):
    rng = np.random.default_rng(blocks * 2 + relu)
    partials = rng.integers(-2 ** 11, 2 ** 11, (blocks, 12, WIDTHS["lanes"]))
    partials[:, 0] = 2 ** 11 - 1  # with three blocks the accumulator saturates
    settings = PostProcessing(mult=tuple(rng.integers(-128, 128, 4).tolist()),
                              bias=tuple(rng.integers(-2 ** 15, 2 ** 15, 4).tolist()),
                              shift=int(rng.integers(0, 13)), relu=relu)
    expected = post_process(partials, settings, acc_bits=WIDTHS["acc_bits"],
                            out_bits=WIDTHS["out_bits"])
    assert np.array_equal(rtl_post_process(partials, settings, rng), expected)


def test_widths_are_checked():
    with pytest.raises(ValueError, match=r"^lanes must be a positive integer, not 0$"):
        PostProcess(**{**WIDTHS, "lanes": 0})
    with pytest.raises(ValueError, match=r"^acc_bits must be at least in_bits \(12\), not 10$"):
        PostProcess(**{**WIDTHS, "acc_bits": 10})
