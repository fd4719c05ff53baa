"""Pipelined tiles (``[tile] pipeline = true``) co-simulated in Verilator: exact against the
golden model on a small tile and on the reference shape, one plane every ``plane_cycles``
and one MVM every ``analog_cycles_per_mvm``, and the bulk drive equal to the VIP drive
result for result and cycle for cycle, with the physical model as with the ideal one."""

import dataclasses
import json
import tomllib

import numpy as np
import pytest

from cimtile.models.golden import golden_mvm
from cimtile.spec.config import parse_config
from cimtile.spec.config_physics import AnalogConfig
from cimtile.tb.runs.host_runner import simulate
from cimtile.tb.runs.runner import Scenario, simulate_tile

from cli_helpers import SMALL as SMALL_TOML, run
from test_bulk import CFG as BULK, assert_same_run, operands
from test_cosim import check_exact, make_config, random_problem, vectors_for

NAMES = [pytest.param(name, marks=pytest.mark.xdist_group(f"pipelined_{name}"))
         for name in ("minimal", "lossless", "rounding", "reference")]


def pipelined(name):
    return make_config(name).replace(pipeline=True)


@pytest.mark.parametrize("name", NAMES)
def test_pipelined_steady_state(name):
    cfg = pipelined(name)
    W, X = random_problem(cfg, vectors_for(cfg), seed=1)
    result = simulate_tile(cfg, W, X, scenario=Scenario(seed=1))
    check_exact(cfg, W, X, result.Y, seed=1)
    assert result.golden_mismatches == 0
    assert len(result.request_cycles) == len(X) * cfg.tile.in_bits
    assert np.all(np.diff(result.request_cycles) == cfg.plane_cycles)
    assert np.all(np.diff(result.out_cycles) == cfg.analog_cycles_per_mvm)
    assert result.cycles_per_mvm == cfg.analog_cycles_per_mvm
    assert cfg.analog_cycles_per_mvm <= make_config(name).analog_cycles_per_mvm


@pytest.mark.parametrize("name", NAMES)
def test_pipelined_gaps_and_back_pressure(name):
    cfg = pipelined(name)
    W, X = random_problem(cfg, vectors_for(cfg), seed=2)
    scenario = Scenario(seed=2, in_gap_prob=0.4, in_gap_max=cfg.analog_cycles_per_mvm + 3,
                        out_stall_prob=0.5, out_stall_max=2 * cfg.analog_cycles_per_mvm + 3)
    result = simulate_tile(cfg, W, X, scenario=scenario)
    check_exact(cfg, W, X, result.Y, seed=2)
    assert np.max(np.diff(result.out_cycles)) > cfg.analog_cycles_per_mvm


SMALL = BULK.replace(pipeline=True)
REFERENCE = pipelined("reference")


@pytest.mark.parametrize("cfg, n", [
    pytest.param(SMALL, 40, marks=pytest.mark.xdist_group("pipelined_bulk"), id="small"),
    pytest.param(dataclasses.replace(SMALL, analog=AnalogConfig(model="physical")), 40,
                 marks=pytest.mark.xdist_group("pipelined_bulk_physical"), id="physical"),
    pytest.param(REFERENCE, 12, marks=pytest.mark.xdist_group("pipelined_bulk_reference"),
                 id="reference")])
@pytest.mark.parametrize("frame_vectors, pauses", [(1, None), (7, (0.3, 30, 0.7, 20))])
def test_pipelined_bulk_equals_vip(cfg, n, frame_vectors, pauses):
    W, X = operands(cfg, n, seed=frame_vectors)
    runs = {drive: simulate(cfg, W, X, seed=3, frame_vectors=frame_vectors, pauses=pauses,
                            drive=drive) for drive in ("bulk", "vip")}
    assert runs["bulk"].golden_mismatches == 0
    assert_same_run(runs["bulk"], runs["vip"])
    assert np.array_equal(runs["bulk"].Y, golden_mvm(cfg, W, X, 3))
    if pauses is None:
        assert runs["bulk"].cycles_per_mvm == cfg.analog_cycles_per_mvm


@pytest.mark.xdist_group("pipelined_ppa")
def test_ppa_reports_the_pipelined_rate_and_crossbar_energy(tmp_path):
    reports = {}
    for pipeline in ("false", "true"):
        (tmp_path / f"{pipeline}.toml").write_text(
            SMALL_TOML.replace("[timing]", f"pipeline = {pipeline}\n\n[timing]"))
        proc = run("ppa", "--config", f"{pipeline}.toml", "--n", "6", "--report",
                   f"{pipeline}.json", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        reports[pipeline] = json.loads((tmp_path / f"{pipeline}.json").read_text())
    cfg = parse_config(tomllib.loads((tmp_path / "true.toml").read_text()))
    plain, piped = reports["false"], reports["true"]
    assert piped["golden_mismatches"] == 0
    assert piped["throughput"]["cycles_per_mvm"] == cfg.analog_cycles_per_mvm
    assert plain["throughput"]["cycles_per_mvm"] == cfg.replace(
        pipeline=False).analog_cycles_per_mvm
    breakdown = {name: (plain["energy"]["breakdown"][name]["pj"],
                        piped["energy"]["breakdown"][name]["pj"])
                 for name in ("crossbar", "wordline_drivers", "adcs")}
    before, after = breakdown["crossbar"]
    assert after == pytest.approx(before * cfg.drive_cycles / (cfg.timing.t_settle
                                                               + cfg.conversion_cycles))
    assert breakdown["wordline_drivers"][0] == breakdown["wordline_drivers"][1]
    assert breakdown["adcs"][0] == breakdown["adcs"][1]
    latency = piped["latency"]
    parts = latency["breakdown_cycles"]
    assert (parts["settle"] + parts["conversion"] - parts["overlap"] + parts["pipeline"]
            == latency["cycles"])
    assert "overlap" not in plain["latency"]["breakdown_cycles"]
