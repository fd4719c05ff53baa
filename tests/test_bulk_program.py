"""Bulk write-verify programming against the event-driven reference (Verilator).

In bulk drive the golden write-verify computes every verify read and pulse ahead and the
bulk top checks each request the tile makes; it must give the event-driven drive's results,
device state and cycles exactly, and stop on the first request that differs.
"""

import dataclasses

import numpy as np
import pytest

from cimtile.behavioral.device import MemdiodeArray
from cimtile.models.program import Rectangle, program_golden
from cimtile.spec.config import parse_config
from cimtile.spec.host_driver import program_writes
from cimtile.spec.regmap import register
from cimtile.tb.transport.exchange import SimulationError
from cimtile.tb.runs.host_runner import Op, play, program

CFG = parse_config({
    "tile": dict(rows=12, cols=3, in_bits=6, w_bits=5, bits_per_cell=2, adc_bits=5,
                 adc_shift=0, cols_per_adc=2),
    "timing": dict(t_settle=2, t_adc=3),
    "host": dict(data_width=32),
})
SHAPE = (CFG.tile.rows, CFG.cols_phys)
BUDGET = 200_000


def levels_and_faults(seed, fault_rate=0.08):
    rng = np.random.default_rng(seed)
    levels = rng.integers(0, 2 ** CFG.tile.bits_per_cell, SHAPE)
    faults = (rng.random(SHAPE) < fault_rate) * rng.integers(1, 3, SHAPE)
    return levels, faults


def test_bulk_programming_equals_vip_in_results_state_and_cycles():
    levels, faults = levels_and_faults(1)
    runs = {drive: program(CFG, levels, faults=faults, runs=2, seed=4, drive=drive)
            for drive in ("bulk", "vip")}
    bulk, vip = runs["bulk"], runs["vip"]
    for name in ("pulses", "converged", "state", "conductance"):
        assert np.array_equal(getattr(bulk, name), getattr(vip, name)), name
    assert (bulk.cycles_total, bulk.reads, bulk.pulses_applied) == \
        (vip.cycles_total, vip.reads, vip.pulses_applied)
    # Stuck cells make some fail, so both outcomes are exercised.
    assert 0 < bulk.converged.sum() < bulk.converged.size
    device = MemdiodeArray(CFG.device, SHAPE, np.random.default_rng(4), faults)
    golden = program_golden(device, levels, Rectangle.whole(*SHAPE), CFG.write_verify,
                            bits_per_cell=CFG.tile.bits_per_cell, adc_bits=CFG.tile.adc_bits)
    assert np.array_equal(bulk.pulses[:levels.size], golden.pulses)


def _program_and_read_back(rect, pauses):
    """Operations: program `rect`, then read it back, under `pauses`."""
    settings = CFG.write_verify
    cells = rect.shape[0] * rect.shape[1]
    ops = [Op.pauses(*pauses)] if pauses else []
    for read_back, levels in ((False, "targets"), (True, None)):
        ops += [Op.write(register(name).offset, word) for name, word in
                program_writes(CFG, settings, rect, read_back=read_back)]
        ops.append(Op.program(levels, cells, BUDGET, settings, rect))
    return ops


@pytest.mark.parametrize("pauses", [None, (0.5, 6, 0.6, 9)], ids=["free", "paused"])
def test_bulk_program_and_read_back_equal_vip_under_gaps_and_back_pressure(pauses):
    levels, faults = levels_and_faults(2)
    rect = Rectangle(2, 9, 1, 10)
    targets = levels[2:10, 1:11].reshape(-1)
    arrays = {"targets": targets, "faults": faults, "seed": 6}
    played = {drive: play(CFG, _program_and_read_back(rect, pauses), arrays, drive=drive)
              for drive in ("bulk", "vip")}
    bulk, vip = played["bulk"], played["vip"]
    assert bulk.cycles == vip.cycles
    for got, expected in zip(bulk.records, vip.records):
        assert got.keys() == expected.keys()
        for key in got:
            assert np.array_equal(got[key], expected[key]), key
    assert np.array_equal(bulk.arrays["state"], vip.arrays["state"])
    programmed, read = bulk.records[-9], bulk.records[-1]
    # The read-back reports the codes the programming converged to.
    converged = programmed["converged"].astype(bool)
    assert converged.sum() > 0
    assert np.array_equal(read["code"][converged], programmed["code"][converged])


def test_a_request_other_than_the_expected_one_stops_the_run_naming_both():
    # The tile is given a SET step of 2, the queue's expectation assumes 5: the first cell
    # that needs a second SET pulse in a row shows the difference.
    levels, faults = levels_and_faults(3, fault_rate=0)
    rect = Rectangle.whole(*SHAPE)
    given = dataclasses.replace(CFG.write_verify, set_step=2)
    assumed = dataclasses.replace(CFG.write_verify, set_step=5)
    requests = {}
    for name, settings in (("given", given), ("assumed", assumed)):
        device = MemdiodeArray(CFG.device, SHAPE, np.random.default_rng(7), faults)
        requests[name] = program_golden(device, levels, rect, settings,
                                        bits_per_cell=CFG.tile.bits_per_cell,
                                        adc_bits=CFG.tile.adc_bits).requests
    differs = np.flatnonzero(requests["given"].amplitude[:len(requests["assumed"].cell)]
                             != requests["assumed"].amplitude[:len(requests["given"].cell)])
    first = differs[0]
    cell = int(requests["given"].cell[first])
    ops = [Op.write(register(name).offset, word)
           for name, word in program_writes(CFG, given, rect)]
    ops.append(Op.program("targets", levels.size, BUDGET, assumed, rect))
    with pytest.raises(SimulationError) as error:
        play(CFG, ops, {"targets": levels.reshape(-1), "faults": faults, "seed": 7},
             drive="bulk")
    message = str(error.value)
    request = first - int(np.argmax(requests["given"].cell == cell))
    row, col = divmod(cell, CFG.cols_phys)
    assert f"request {request} of cell ({row}, {col})" in message, message
    for name, key in (("given", "the tile issued"), ("assumed", "the queue expected")):
        amplitude = requests[name].amplitude[first]
        assert (f"{key} SET pulse ({row}, {col}) amplitude {amplitude} width "
                f"{given.pulse_width}") in message, message
