"""The builds and simulators this process starts, each in a session of its own, and their
killing when this process is interrupted."""

import contextlib
import os
import signal
import time

from cimtile.spec.processes import processes

__all__ = ["kill_child_sessions"]


def kill_child_sessions():
    """Kill the process group of every child of this process that leads a session of its
    own (a build or a simulator), reap it, and wait until its group is gone."""
    for pid in _child_session_leaders():
        # The leader is not reaped yet, so its pid still names the group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        _wait_for_group_exit(pid)


def _child_session_leaders():
    me = os.getpid()
    return [p.pid for p in processes() if p.ppid == me and p.session == p.pid]


def _wait_for_group_exit(pgid, timeout=5.0):
    """Wait until no live process is left in group `pgid` (killed members of a build, such
    as compilers, may outlive make by a moment and still write into its directory)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _group_members(pgid):
        time.sleep(0.01)


def _group_members(pgid):
    """Pids of the live (not zombie) processes in process group `pgid`."""
    return [p.pid for p in processes() if p.pgrp == pgid and p.alive]
