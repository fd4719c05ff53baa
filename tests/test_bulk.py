"""Bulk co-simulation against the event-driven reference (Verilator).

The bulk drive must give the results of the VIP drive bit for bit and in the same cycles,
through every ring refill and drain; a wordline pattern that differs from what an analog
answer assumed stops the run at that plane.
"""

import dataclasses
import functools

import numpy as np
import pytest

from cimtile.models.golden import golden_mismatches, golden_mvm
from cimtile.spec.config import parse_config
from cimtile.spec.config_physics import AnalogConfig
from cimtile.spec.mapping import random_operands
from cimtile.spec.npy_rows import NpyRows
from cimtile.tb.tops.bulk_top import RINGS
from cimtile.tb.transport.exchange import SimulationError
from cimtile.tb.runs.host_runner import Op, play, simulate

CFG = parse_config({
    "tile": dict(rows=12, cols=3, in_bits=6, w_bits=5, bits_per_cell=2, adc_bits=5,
                 adc_shift=0, cols_per_adc=2),
    "timing": dict(t_settle=2, t_adc=3),
    "host": dict(data_width=32),
})
PHYSICAL = dataclasses.replace(CFG, analog=AnalogConfig(model="physical"))
def operands(cfg, n, seed):
    return random_operands(cfg, n, np.random.default_rng(seed))


def assert_same_run(bulk, vip):
    assert np.array_equal(bulk.Y, vip.Y)
    assert np.array_equal(bulk.frame_cycles, vip.frame_cycles), \
        f"frames ended in other cycles: {bulk.frame_cycles} vs {vip.frame_cycles}"
    assert np.array_equal(bulk.frame_vectors, vip.frame_vectors)
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
    # Enough vectors for several halves of every ring: input beats, analog answers and
    # result beats; two batches, so the second starts its rings where the first ended.
    W, X = operands(PHYSICAL, 3000, seed=5)
    stream = functools.partial(Op.stream, "X", budget=500_000, in_bits=CFG.tile.in_bits,
                               adc_shift=0)
    played = play(PHYSICAL, [Op.pauses(0.1, 3, 0.2, 4), stream(frame_vectors=5),
                             stream(frame_vectors=3000)], {"W": W, "X": X, "seed": 8},
                  drive="bulk")
    first, second = played.records[1:]
    assert len(first["frame_vectors"]) == 600 and list(second["frame_vectors"]) == [3000]
    assert np.array_equal(np.concatenate([first["Y"], second["Y"]]),
                          golden_mvm(PHYSICAL, W, np.concatenate([X, X]), 8))
    # At least one wake-up per analog half refilled.
    assert second["wakeups"] >= 3000 * CFG.tile.in_bits // RINGS.analog_half


def test_a_wordline_fault_stops_the_run_naming_vector_plane_and_patterns():
    W, X = operands(CFG, 4, seed=9)
    with pytest.raises(SimulationError) as error:
        play(CFG, [Op.wl_fault(9), Op.stream("X", 1, 20_000, CFG.tile.in_bits, 0)],
             {"W": W, "X": X}, drive="bulk")
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


def test_streamed_inputs_and_results_equal_the_in_memory_run(tmp_path):
    # Inputs read from a file and results written to one, a chunk at a time, through the
    # ring halves: the same results and frame ends as the run that holds both in memory.
    W, X = operands(PHYSICAL, 2500, seed=11)
    np.save(tmp_path / "X.npy", X.astype(np.int16))
    pauses = (0.2, 4, 0.3, 5)
    held = simulate(PHYSICAL, W, X, seed=2, frame_vectors=3, pauses=pauses)
    streamed = simulate(PHYSICAL, W, NpyRows(tmp_path / "X.npy"), seed=2, frame_vectors=3,
                        pauses=pauses, out=tmp_path / "Y.npy")
    assert isinstance(streamed.Y, NpyRows) and streamed.golden_mismatches == 0
    assert np.array_equal(np.load(tmp_path / "Y.npy"), held.Y)
    assert np.array_equal(streamed.frame_cycles, held.frame_cycles)
    assert np.array_equal(streamed.frame_vectors, held.frame_vectors)
    assert np.array_equal(held.Y, golden_mvm(PHYSICAL, W, X, 2))


def test_a_streamed_verdict_counts_the_wrong_results(tmp_path):
    W, X = operands(CFG, 3000, seed=12)
    Y = golden_mvm(CFG, W, X, 5)
    Y[[7, 1500, 2999]] += 1
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "Y.npy", Y)
    assert golden_mismatches(CFG, W, NpyRows(tmp_path / "X.npy"),
                             NpyRows(tmp_path / "Y.npy"), 5) == 3
    assert golden_mismatches(CFG, W, X, Y[:-1], 5) == len(X)
