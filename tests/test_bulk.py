"""Bulk co-simulation against the event-driven reference (Verilator).

The bulk drive must give the results of the VIP drive bit for bit and in the same cycles,
through every ring refill and drain; a wordline pattern that differs from what an analog
answer assumed stops the run at that plane.
"""

import dataclasses
import functools

import numpy as np
import pytest

from cimtile.config import AnalogConfig, parse_config
from cimtile.golden import golden_mvm
from cimtile.mapping import random_operands
from cimtile.tb.bulk_top import BULK_TOP, Rings, bulk_verilog
from cimtile.tb.exchange import SimulationError
from cimtile.tb.host_runner import Op, play, simulate

CFG = parse_config({
    "tile": dict(rows=12, cols=3, in_bits=6, w_bits=5, bits_per_cell=2, adc_bits=5,
                 adc_shift=0, cols_per_adc=2),
    "timing": dict(t_settle=2, t_adc=3),
    "host": dict(data_width=32),
})
PHYSICAL = dataclasses.replace(CFG, analog=AnalogConfig(model="physical"))
#: Rings of a few entries, so a short batch refills and drains each many times.
SMALL_RINGS = Rings(in_half=8, analog_half=16, out_half=8)


def small_rings_verilog(cfg):
    return bulk_verilog(cfg, SMALL_RINGS)


def operands(cfg, n, seed):
    return random_operands(cfg, n, np.random.default_rng(seed))


def assert_same_run(bulk, vip):
    assert np.array_equal(bulk.Y, vip.Y)
    assert np.array_equal(bulk.frame_cycles, vip.frame_cycles), \
        f"frames ended in other cycles: {bulk.frame_cycles} vs {vip.frame_cycles}"
    assert bulk.frame_vectors == vip.frame_vectors
    assert bulk.first_request == vip.first_request


@pytest.mark.parametrize("cfg", [CFG, PHYSICAL], ids=["ideal", "physical"])
@pytest.mark.parametrize("frame_vectors, pauses", [
    (1, None), (1, (0.4, 5, 0.5, 9)), (7, (0.3, 30, 0.7, 20)), (40, (0.2, 3, 0.3, 60))])
def test_bulk_equals_vip_bit_for_bit_and_cycle_for_cycle(cfg, frame_vectors, pauses):
    W, X = operands(cfg, 40, seed=frame_vectors)
    runs = {drive: simulate(cfg, W, X, seed=3, frame_vectors=frame_vectors, pauses=pauses,
                            drive=drive) for drive in ("bulk", "vip")}
    assert runs["bulk"].golden_mismatches == 0
    assert_same_run(runs["bulk"], runs["vip"])
    assert np.array_equal(runs["bulk"].Y, golden_mvm(cfg, W, X, 3))


def test_rings_refilled_and_drained_many_times_lose_nothing():
    W, X = operands(PHYSICAL, 60, seed=5)
    ops = [Op.pauses(0.3, 4, 0.4, 6), Op.stream("X", 5, 50_000, CFG.tile.in_bits, 0),
           Op.stream("X", 60, 50_000, CFG.tile.in_bits, 0)]
    arrays = {"W": W, "X": X, "seed": 8}
    bulk = play(PHYSICAL, ops, arrays, drive="bulk",
                top=(small_rings_verilog, BULK_TOP))
    vip = play(PHYSICAL, ops, arrays, drive="vip")
    expected = golden_mvm(PHYSICAL, W, np.concatenate([X, X]), 8)
    for played in (bulk, vip):
        Y = np.concatenate([played.records[1]["Y"], played.records[2]["Y"]])
        assert np.array_equal(Y, expected)
    for index in (1, 2):
        assert np.array_equal(bulk.records[index]["frame_cycles"],
                              vip.records[index]["frame_cycles"])


def test_a_wordline_fault_stops_the_run_naming_vector_plane_and_patterns():
    W, X = operands(CFG, 4, seed=9)
    faulty = functools.partial(bulk_verilog, wl_fault_at=9)
    with pytest.raises(SimulationError) as error:
        play(CFG, [Op.stream("X", 1, 20_000, CFG.tile.in_bits, 0)], {"W": W, "X": X},
             drive="bulk", top=(faulty, BULK_TOP))
    # Plane 9 is plane 3 of vector 1; the fault flips wordline 0.
    planes = (X[1] >> 3) & 1
    expected = int("".join(map(str, planes[::-1])), 2)
    message = str(error.value)
    assert (f"wordline or ADC range mismatch at cycle" in message
            and "vector 1 plane 3" in message), message
    assert f"wordlines {expected ^ 1:03x}" in message, message
    assert f"the answer assumed {expected:03x}" in message, message


def test_operations_that_need_the_bus_vip_are_refused_in_bulk_drive():
    W, X = operands(CFG, 2, seed=1)
    with pytest.raises(SimulationError, match="operation 'send' needs the vip drive"):
        play(CFG, [Op.send("X", 1)], {"W": W, "X": X}, drive="bulk")


def test_unknown_drive_is_refused():
    with pytest.raises(ValueError, match="drive must be one of vip, bulk, not 'dpi'"):
        play(CFG, [], {}, drive="dpi")
