"""The regression: a short run of seeds on Dask, its reports, a real scheduler, bugs caught.

Seeds 0 and 12 share pool configuration 0, so the short run needs that configuration's two
builds only (one per drive mode); seed 5 is a bulk-drive seed of configuration 1, which has
two spare columns.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np
import pytest

from cimtile.cli import main
from cimtile.flows.regress import declared_coverage, junit_xml, regress
from cimtile.models.golden import golden_mvm
from cimtile.tb.build.elaboration import elaborated
from cimtile.tb.tops.coverage_tops import COVERAGE_SOURCE
from cimtile.tb.tops.mutants import MUTANTS
from cimtile.tb.regression.random_scenario import POOL_SIZE, pool_config, scenario
from cimtile.tb.regression.scenario_check import run_seed

SHORT = [0, 12]
SPARE_SEED = 5
BIN = Path(sys.executable).parent


def _first_failure(out):
    """The first FAIL line of a regression's output and its reproduce command, else its
    summary line: what a failed assertion shows instead of the whole coverage table."""
    lines = out.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("FAIL"):
            return "\n".join(lines[index:index + 2])
    return lines[-1] if lines else out


def test_a_seed_is_reproducible():
    a, b = scenario(5), scenario(5)
    assert (a.drive, a.pool_index, len(a.ops)) == (b.drive, b.pool_index, len(b.ops))
    assert json.dumps(a.ops, default=str) == json.dumps(b.ops, default=str)
    assert scenario(6).ops != a.ops
    assert {scenario(s).pool_index for s in range(POOL_SIZE)} == set(range(POOL_SIZE))


def test_short_regression_passes_with_junit_and_coverage(tmp_path, capsys):
    outcome = regress(SHORT, workers=2)
    assert [r["seed"] for r in outcome.results] == SHORT
    assert not outcome.failures, outcome.failures[0]["message"]
    assert {r["drive"] for r in outcome.results} == {"bulk", "vip"}
    hit = {name for r in outcome.results for name, count in r["coverage"].items() if count}
    assert outcome.coverage.hit == len(hit) > 0, f"{outcome.coverage.hit} merged, {len(hit)}"
    root = ElementTree.fromstring(junit_xml(outcome))
    suite = root.find("testsuite")
    assert suite.get("tests") == "2" and suite.get("failures") == "0"
    assert [case.get("name") for case in suite.iter("testcase")] == ["seed 0", "seed 12"]


def test_the_command_writes_valid_junit_and_coverage(tmp_path, capsys):
    junit, cov = tmp_path / "r.xml", tmp_path / "c.json"
    status = main(["regress", "--seeds", "1", "--workers", "1", "--junit", str(junit),
                   "--coverage", str(cov)])
    out = capsys.readouterr().out
    assert status == 0, _first_failure(out)
    assert "1 seeds: 1 passed, 0 failed" in out and "holes" in out
    suite = ElementTree.parse(junit).getroot().find("testsuite")
    assert suite.get("tests") == "1" and suite.find("testcase").get("name") == "seed 0"
    data = json.loads(cov.read_text())
    assert data["total"] == declared_coverage().total and data["seeds"] == [0]
    assert data["hit"] == sum(1 for v in data["bins"].values() if v)


def test_a_broken_rtl_fails_with_a_reproduce_command(tmp_path, capsys):
    junit = tmp_path / "r.xml"
    status = main(["regress", "--seeds", "1", "--workers", "1", "--mutant", "msb_sign",
                   "--junit", str(junit)])
    out = capsys.readouterr().out
    assert status == 1
    assert "FAIL seed 0" in out
    assert "reproduce: cimtile regress --seed 0 --mutant msb_sign --waves seed0.vcd" in out
    failure = ElementTree.parse(junit).getroot().find("testsuite/testcase/failure")
    assert "results differ from the golden model at" in failure.get("message")
    assert len(failure.get("message")) < 300
    assert main(["regress", "--seed", "0", "--mutant", "msb_sign"]) == 1


@pytest.mark.parametrize("args, message", [
    (["--seeds", "0"], "argument --seeds: must be in 1..5000, not 0"),
    (["--workers", "0"], "argument --workers: must be in 1..64, not 0"),
    (["--time-budget", "-1"], "argument --time-budget: must be a number of seconds in"),
    (["--waves", "w.vcd"], "--waves records one seed: give it with --seed"),
    (["--mutant", "nothing"], "--mutant must be one of adc_off_by_one"),
    (["--junit", "missing/r.xml"], "missing/r.xml"),
    (["--seed", "-3"], "argument --seed: must be in 0..9223372036854775807, not -3"),
])
def test_bad_options_exit_2_with_one_line(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    assert main(["regress", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_seeds_run_on_a_separately_started_dask_scheduler_and_worker(tmp_path, capsys):
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = os.environ | {"DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    scheduler = subprocess.Popen([BIN / "dask", "scheduler", "--host", "127.0.0.1", "--port",
                                  str(port), "--no-dashboard"], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, start_new_session=True, env=env)
    worker = subprocess.Popen([BIN / "dask", "worker", address, "--nthreads", "1",
                               "--no-dashboard"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the scheduler did not start"
                time.sleep(0.5)
        status = main(["regress", "--seeds", "1", "--scheduler", address])
        out = capsys.readouterr().out
        assert status == 0, _first_failure(out)
        assert "1 seeds: 1 passed, 0 failed" in out
    finally:
        for process in (worker, scheduler):
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(30)


def test_an_unreachable_scheduler_exits_2(capsys):
    assert main(["regress", "--seeds", "1", "--scheduler", f"tcp://127.0.0.1:{_free_port()}"]) \
        == 2
    assert "cannot connect" in capsys.readouterr().err


def test_run_seed_reports_coverage_of_its_own_bins():
    result = run_seed(12)
    assert result["passed"], result["message"]
    assert set(result["coverage"]) <= set(declared_coverage().counts)
    assert result["coverage"]["arithmetic/plane all zero"] > 0


def test_a_spare_column_seed_passes_and_hits_the_remap_bins():
    sc = scenario(SPARE_SEED)
    assert sc.cfg.tile.spare_cols == 2 and sc.drive == "bulk"
    result = run_seed(SPARE_SEED)
    assert result["passed"], result["message"]
    hit = {name for name, count in result["coverage"].items() if count}
    for name in ("remap/entry set to spare 1", "remap/entry set to spare 2",
                 "remap/MVM with a remapped column", "remap/refused: spare beyond the spares",
                 "busy/REMAP_SPARE refused while busy", "arbitration/done and error in one cycle"):
        assert name in hit, name


def test_the_remap_expectations_read_through_the_table_written():
    # The golden results of a batch after remap writes differ from those of the same
    # batch without the table: an RTL that ignored the table would fail the seed.
    sc = scenario(SPARE_SEED)
    differ = 0
    for c in sc.checks:
        op = sc.ops[c["op"]]
        if c["kind"] == "results" and op["op"] == "stream":
            plain = golden_mvm(sc.cfg, sc.arrays["W"], sc.arrays[op["x"]],
                               conductances=sc.arrays["G"], in_bits=op["in_bits"],
                               adc_shift=op["adc_shift"])
            differ += not np.array_equal(plain, c["expect"])
    assert differ >= 1


def test_the_remap_index_mutant_is_caught_by_a_spare_column_seed():
    result = run_seed(SPARE_SEED, mutant="remap_off_by_one")
    assert not result["passed"]
    assert "results differ from the golden model" in result["message"], result["message"]


@pytest.fixture(scope="module")
def pool_verilog():
    # Through the elaboration cache, as the regression's own builds read it: the same text,
    # without elaborating the pool again in every worker.
    return [elaborated(COVERAGE_SOURCE, pool_config(index)) for index in range(POOL_SIZE)]


#: The pool tiles whose Verilog each mutant changes (the others do not generate its
#: statement: no spare to choose among on tiles 0 and 3, one conversion a step on tiles 0
#: and 3, the unpipelined controller on tiles 0 and 2).
MUTATED = {"remap_off_by_one": {1, 2}, "adc_step_one_short": {1, 2},
           "pipeline_release_at_sample": {1, 3}, "pipeline_bank_overwritten": {1, 3}}


@pytest.mark.parametrize("name", list(MUTANTS))
def test_every_mutant_changes_the_verilog_it_targets(pool_verilog, name):
    changed = {index for index, text in enumerate(pool_verilog)
               if MUTANTS[name].apply(text) != text}
    assert changed == MUTATED.get(name, set(range(POOL_SIZE)))
