"""Dask runs share nothing with other clusters on the machine and leave nothing behind: no
dashboard unless asked, no library warning, no scratch files, no process."""

import contextlib
import csv
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from cimtile.flows.engine import run_jobs
from cimtile.flows.process_tree import descendants, no_descendants_left
from cli_helpers import CIMTILE, SMALL


@contextlib.contextmanager
def port_8787_taken():
    """Hold the dashboard's well-known port, as another cluster or notebook would (or find
    it held already)."""
    with socket.socket() as held:
        held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        with contextlib.suppress(OSError):
            held.bind(("", 8787))
            held.listen()
        yield


def marked_env(tmp_path):
    """An environment with an empty temporary folder and a marker that every process the
    command starts inherits, so that any process it leaves can be found."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    mark = uuid.uuid4().hex
    return os.environ | {"TMPDIR": str(temp), "CIMTILE_TEST_MARK": mark}, temp, mark


def marked_processes(mark):
    """Pids of live processes whose environment holds `mark`."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if f"CIMTILE_TEST_MARK={mark}".encode() in Path(entry.path, "environ").read_bytes():
                status = Path(entry.path, "stat").read_text().rpartition(")")[2].split()[0]
                if status not in "ZX":
                    found.append(int(entry.name))
    return found


def assert_nothing_left(temp, mark, timeout=10):
    deadline = time.monotonic() + timeout
    while marked_processes(mark) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert marked_processes(mark) == [], "processes left running"
    assert sorted(p.name for p in temp.iterdir()) == []


@pytest.fixture
def work(tmp_path):
    (tmp_path / "small.toml").write_text(SMALL)
    return tmp_path


def test_sweep_on_two_workers_beside_another_cluster_says_nothing_and_leaves_nothing(work):
    env, temp, mark = marked_env(work)
    with port_8787_taken():
        proc = subprocess.run([CIMTILE, "sweep", "--config", "small.toml", "--param",
                               "analog.adc_noise=0,1", "--out", "out", "--n", "8",
                               "--workers", "2"], cwd=work, env=env, capture_output=True,
                              text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert_nothing_left(temp, mark)


def test_the_dashboard_is_served_only_when_asked(capsys):
    with port_8787_taken():
        for _ in run_jobs(abs, [-1], workers=1):
            pass
        assert capsys.readouterr().err == ""
        served = []
        for _ in run_jobs(abs, [-1, -2], workers=1, dashboard="127.0.0.1:8787"):
            if not served:
                line = capsys.readouterr().err
                link = line.removeprefix("cimtile: dashboard at ").strip()
                with urllib.request.urlopen(link, timeout=30) as page:
                    served.append((page.status, b"Bokeh" in page.read()))
    assert line.startswith("cimtile: dashboard at http://127.0.0.1:") and line.count("\n") == 1
    assert served == [(200, True)]


def test_orphans_of_the_block_are_killed_and_reaped():
    with no_descendants_left():
        # A child that leaves a grandchild behind, re-parented when the child exits.
        orphan = int(subprocess.run(["sh", "-c", "sleep 600 >/dev/null 2>&1 & echo $!"],
                                    capture_output=True, check=True, text=True).stdout)
        assert orphan in descendants()
    assert orphan not in descendants()
    assert not Path(f"/proc/{orphan}").exists()


@pytest.mark.parametrize("signum, status, line", [
    (signal.SIGINT, 130, "cimtile: interrupted"),
    (signal.SIGTERM, 143, "cimtile: terminated"),
])
def test_an_interrupted_regression_leaves_no_file_and_no_process(work, signum, status, line):
    env, temp, mark = marked_env(work)
    proc = subprocess.Popen([CIMTILE, "regress", "--seeds", "200", "--workers", "2"],
                            cwd=work, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    # Signal while the workers are at work: a seed's files are in the scratch directory.
    deadline = time.monotonic() + 240
    while proc.poll() is None and time.monotonic() < deadline and \
            not any(temp.glob("cimtile-dask-*/cimtile-*")):
        time.sleep(0.1)
    assert proc.poll() is None, proc.stderr.read()
    proc.send_signal(signum)
    err = proc.communicate(timeout=120)[1]
    assert proc.returncode == status, err
    assert err.splitlines() == [line], err
    assert_nothing_left(temp, mark)


def test_a_run_with_a_foreign_dask_cluster_running_is_unaffected(work):
    """Two sweeps at once, each with its own cluster, beside a user's scheduler."""
    env, temp, mark = marked_env(work)
    bin_dir = Path(sys.executable).parent
    scheduler = subprocess.Popen([bin_dir / "dask", "scheduler", "--host", "127.0.0.1",
                                  "--port", "0", "--dashboard-address", ":8787"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 start_new_session=True)
    try:
        runs = [subprocess.Popen([CIMTILE, "sweep", "--config", "small.toml", "--param",
                                  "analog.adc_noise=0,1", "--out", f"out{i}", "--n", "8",
                                  "--workers", "1"], cwd=work, env=env, text=True,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                for i in range(2)]
        outcomes = [run.communicate(timeout=300) for run in runs]
    finally:
        os.killpg(scheduler.pid, signal.SIGTERM)
        scheduler.wait(30)
    assert [run.returncode for run in runs] == [0, 0], outcomes
    assert [err for _, err in outcomes] == ["", ""]
    errors = [[row["rms_error"] for row in csv.DictReader(open(work / f"out{i}" / "sweep.csv"))]
              for i in range(2)]
    assert errors[0] == errors[1] and len(errors[0]) == 2
    assert_nothing_left(temp, mark)
