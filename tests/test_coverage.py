"""The coverage model: bins, merging, reports; and the monitor's bins are honest.

The honesty tests play a stimulus that cannot reach a set of bins and check that the RTL
monitor leaves each of them at zero, then a stimulus that can, and check that it counts them;
the same stimulus counts the same in both drive modes.
"""

import json
import os

import numpy as np
import pytest

from cimtile.flows.coverage import Coverage, CoverageError
from cimtile.flows.regress import declared_coverage
from cimtile.spec.regmap import REGISTERS, Access, register
from cimtile.tb.regression.control_episodes import arbitration, busy_refusals, remap_table
from cimtile.tb.tops.coverage_bins import (BUSY_ACCEPTED, BUSY_REFUSED, Bin, clip_reachable,
                                      declare_bins, unpack_counts)
from cimtile.tb.tops.coverage_tops import COVERAGE_TOPS
from cimtile.tb.runs.host_runner import TOPS, Op, play
from cimtile.tb.regression.random_scenario import Scenario, pool_config
from cimtile.tb.regression.scenario_builder import SLVERR, ScenarioBuilder
from cimtile.tb.regression.scenario_check import check, first_difference

CFG = pool_config(0)
SETTINGS, CTRL, IRQ_ENABLE = register("SETTINGS"), register("CTRL"), register("IRQ_ENABLE")
BUDGET = 50_000


class TestCoverage:
    def test_merge_adds_counts_and_unions_bins(self):
        a = Coverage(["g/a", "g/b"]).add({"g/a": 2})
        b = Coverage(["g/b", "h/c"]).add({"g/b": 1, "h/c": 0})
        merged = a.merged(b)
        assert merged.counts == {"g/a": 2, "g/b": 1, "h/c": 0}
        assert (merged.hit, merged.total, merged.holes()) == (2, 3, ["h/c"])
        assert merged.groups() == {"g": (2, 2), "h": (0, 1)}

    def test_table_lists_groups_total_and_holes(self):
        text = Coverage(["g/a", "g/b", "h/c"]).add({"g/a": 5}).table()
        assert "g" in text and "1/2" in text and "1/3" in text and " 33.3 %" in text
        assert text.splitlines()[-2:] == ["holes (2):", "  g/b"] or "  h/c" in text

    def test_json_round_trip(self):
        cov = Coverage(["g/a", "g/b"]).add({"g/b": 3})
        data = json.loads(cov.to_json(seeds=[1, 2]))
        assert data["hit"] == 1 and data["total"] == 2 and data["holes"] == ["g/a"]
        assert data["seeds"] == [1, 2]
        assert Coverage.from_json(cov.to_json()).counts == cov.counts

    @pytest.mark.parametrize("bad, message", [
        (lambda: Coverage(["nogroup"]), "bin names are 'group/name'"),
        (lambda: Coverage(["g/a"]).add({"g/z": 1}), "undeclared bin 'g/z'"),
        (lambda: Coverage(["g/a"]).add({"g/a": -1}), "hits must be >= 0"),
        (lambda: Coverage.from_json("[1]", "cov.json"), "cov.json: not a coverage file"),
    ])
    def test_refusals_name_the_problem(self, bad, message):
        with pytest.raises(CoverageError, match=message):
            bad()


def test_first_difference_is_one_short_line():
    got = np.zeros((1000, 16), np.int64)
    expected = got.copy()
    expected[417, 3] = 99
    assert first_difference(got, expected) == "at [417, 3]: got 0, expected 99"
    assert first_difference(got[:10], expected).startswith("10 results, expected 1000")
    assert first_difference(got, got) is None


def test_top_code_bins_only_where_the_largest_count_reaches_the_top_code():
    names = {b.name for b in declare_bins(CFG)}
    for shift in range(CFG.adc_shift_max + 1):
        count = CFG.tile.rows * CFG.max_level
        reachable = min((count + (1 << shift >> 1)) >> shift, CFG.max_code) == CFG.max_code
        assert clip_reachable(CFG, shift) == reachable
        assert (f"code max (clipped) at adc_shift={shift}" in names) == reachable


def _counts(tmp_path, ops, arrays, drive, top=None):
    path = str(tmp_path / f"counts_{drive}.txt")
    played = play(CFG, ops, arrays | {"coverage_out": path}, drive=drive,
                  top=COVERAGE_TOPS[drive] if top is None else top)
    assert not played.violations
    bins = declare_bins(CFG)
    with open(path) as file:
        counts = unpack_counts(int(file.read(), 2), len(bins))
    os.remove(path)
    return played, {str(b): c for b, c in zip(bins, counts)}


#: Bins the quiet stimulus cannot reach, and why.
UNREACHED = {
    "arithmetic/plane all ones": "every input is 0, so every plane is all zero",
    "arithmetic/input most negative": "no input is negative",
    f"arithmetic/code max (clipped) at adc_shift=0": "all-zero planes give code 0",
    "stream/input gap": "no TVALID pause",
    "stream/output stall 1": "TREADY never drops",
    "stream/batch of 1": "every batch has 4 vectors",
    "reset/soft reset while idle": "no soft reset",
    "interrupts/irq raised on done": "no interrupt enabled",
    "settings/in_bits=1,adc_shift=0": "in_bits stays at its maximum",
    "registers/cause IN_BITS": "no refused write",
}


def test_bins_a_stimulus_cannot_reach_stay_unhit_and_are_hit_when_it_can(tmp_path):
    W = np.full((CFG.tile.rows, CFG.tile.cols), 2 ** (CFG.tile.w_bits - 1) - 1)
    in_max = CFG.tile.in_bits
    quiet = [Op.write(SETTINGS.offset, SETTINGS.pack(mode=0, in_bits=in_max, adc_shift=0)),
             Op.stream("Z", 4, BUDGET, in_max, 0), Op.read(register("STATUS").offset)]
    zeros = np.zeros((8, CFG.tile.rows), np.int64)
    _, counts = _counts(tmp_path, quiet, {"W": W, "Z": zeros}, "bulk")
    assert counts["arithmetic/plane all zero"] > 0, "the quiet run computed nothing"
    for name, reason in UNREACHED.items():
        assert name in counts, name
        assert counts[name] == 0, f"{name} counted {counts[name]} times, yet {reason}"
    for name, count in counts.items():
        if name.partition("/")[0] in ("busy", "arbitration", "remap"):
            assert count == 0, f"{name} counted {count} times, yet no write was refused " \
                "or made while busy, and no remap entry written"
    lowest = -2 ** (in_max - 1)
    X = np.full((5, CFG.tile.rows), lowest)
    busy = [Op.write(IRQ_ENABLE.offset, IRQ_ENABLE.pack(done=1)),
            Op.write(SETTINGS.offset, SETTINGS.pack(mode=0, in_bits=in_max, adc_shift=0)),
            Op.write(SETTINGS.offset, SETTINGS.pack(mode=0, in_bits=0, adc_shift=0)),
            Op.read(register("STATUS").offset),
            Op.pauses(0.5, 3, 0.5, 1), Op.stream("X", 1, BUDGET, in_max, 0),
            Op.write(SETTINGS.offset, SETTINGS.pack(mode=0, in_bits=1, adc_shift=0)),
            Op.stream("Y", 4, BUDGET, 1, 0),
            Op.write(CTRL.offset, CTRL.pack(soft_reset=1))]
    arrays = {"W": W, "X": X, "Y": np.full((4, CFG.tile.rows), -1)}
    played, bulk = _counts(tmp_path, busy, arrays, "bulk")
    assert played.records[1]["resp"] == 0 and played.records[2]["resp"] == 2
    for name in UNREACHED:
        assert bulk[name] > 0, f"{name} never counted by a stimulus that reaches it"
    _, vip = _counts(tmp_path, busy, arrays, "vip")
    assert vip == bulk, [b for b in bulk if vip[b] != bulk[b]][:5]
    # The default tops carry no monitor: their counters read zero.
    _, plain = _counts(tmp_path, busy, arrays, "vip", top=TOPS["vip"])
    assert not any(plain.values())


def test_every_declared_bin_has_its_condition():
    bins = declare_bins(CFG)
    assert len(set(bins)) == len(bins)
    assert all(isinstance(b, Bin) and "/" not in b.group for b in bins)


def test_busy_bins_name_every_writable_register_once():
    writable = {r.name for r in REGISTERS if r.access is not Access.RO}
    named = [name.partition(".")[0] for name in BUSY_REFUSED + BUSY_ACCEPTED]
    assert sorted(named) == sorted(writable)


def test_remap_entry_bins_only_on_tiles_with_spares():
    for index, spares in ((0, 0), (1, 2), (2, 3), (3, 1)):
        cfg = pool_config(index)
        names = {str(b) for b in declare_bins(cfg)}
        assert cfg.tile.spare_cols == spares
        assert {"remap/refused: column beyond the data columns",
                "remap/refused: spare beyond the spares"} <= names
        entries = {name for name in names if name.startswith("remap/entry set to spare")}
        assert entries == {f"remap/entry set to spare {k}" for k in range(1, spares + 1)}
        assert ("remap/MVM with a remapped column" in names) == bool(spares)


def test_the_pool_declares_every_schedule_bin_so_closure_needs_both_schedules():
    held = "a plane held back by a full result path"
    expected = {0: {"unpipelined, planes back to back", f"unpipelined, {held}"},
                1: {"pipelined, planes back to back", f"pipelined, {held}",
                    "several conversions a cycle, planes back to back",
                    "short last step, planes back to back"},
                2: {"unpipelined, planes back to back", f"unpipelined, {held}",
                    "several conversions a cycle, planes back to back"},
                3: {"pipelined, planes back to back", f"pipelined, {held}"}}
    for index, names in expected.items():
        cfg = pool_config(index)
        declared = {b.name for b in declare_bins(cfg) if b.group == "schedule"}
        assert declared == names, (index, cfg.tile.pipeline, cfg.timing.adc_per_step)
    assert pool_config(1).tile.cols_per_adc % pool_config(1).timing.adc_per_step == 1
    union = {name for name in declared_coverage().counts if name.startswith("schedule/")}
    assert union == {f"schedule/{name}" for names in expected.values() for name in names}


def test_schedule_bin_counts_the_planes_that_follow_their_previous(tmp_path):
    # One vector at every precision: each plane after its first is sampled plane_cycles
    # after the one before (nothing stalls), none later; at one plane a vector, none is.
    W = np.ones((CFG.tile.rows, CFG.tile.cols), np.int64)
    in_max = CFG.tile.in_bits
    ops = [Op.write(SETTINGS.offset, SETTINGS.pack(mode=0, in_bits=in_max, adc_shift=0)),
           Op.stream("X", 1, BUDGET, in_max, 0), Op.idle(50),
           Op.write(SETTINGS.offset, SETTINGS.pack(mode=0, in_bits=1, adc_shift=0)),
           Op.stream("Y", 1, BUDGET, 1, 0)]
    arrays = {"W": W, "X": np.ones((1, CFG.tile.rows), np.int64),
              "Y": np.zeros((1, CFG.tile.rows), np.int64)}
    _, counts = _counts(tmp_path, ops, arrays, "bulk")
    assert counts["schedule/unpipelined, planes back to back"] == in_max - 1
    assert counts["schedule/unpipelined, a plane held back by a full result path"] == 0


def test_control_bins_count_exactly_what_the_episodes_do(tmp_path):
    # Every register written once while busy, a start refused by the write-verify engine,
    # a soft reset written with a start, refused remap writes: each counted as often as
    # it happened, and the played answers meet every expectation.
    sc = Scenario(seed=0, pool_index=0, cfg=CFG, drive="bulk")
    b = ScenarioBuilder(sc, np.random.default_rng(11))
    W = np.ones((CFG.tile.rows, CFG.tile.cols), np.int64)
    sc.arrays["W"] = W
    busy_refusals(b, W)
    arbitration(b, W)
    first = len(sc.ops)
    remap_table(b, W)
    played, counts = _counts(tmp_path, sc.ops, sc.arrays, "bulk")
    assert check(sc, played) is None, check(sc, played)
    for name in BUSY_REFUSED:
        assert counts[f"busy/{name} refused while busy"] == 1, name
    for name in BUSY_ACCEPTED:
        assert counts[f"busy/{name} accepted while busy"] >= 1, name
    assert counts["arbitration/done and error in one cycle"] == 1
    assert counts["arbitration/soft reset and start in one write"] == 1
    assert counts["arbitration/done and its W1C clear in one cycle"] == 0
    refused = [sc.ops[c["op"]]["offset"] for c in sc.checks
               if c["op"] >= first and c["kind"] == "resp" and c["expect"] == SLVERR]
    assert refused
    assert counts["remap/refused: column beyond the data columns"] == \
        refused.count(register("REMAP_COL").offset)
    assert counts["remap/refused: spare beyond the spares"] == \
        refused.count(register("REMAP_SPARE").offset)
