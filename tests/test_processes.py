"""The /proc walker shared by the formal flow, the process-tree clean-up and the build."""

import os
import shutil
import signal
import subprocess

from cimtile.spec.processes import processes, session_members


def test_this_process_is_read_with_its_parent_group_and_session():
    me, = [p for p in processes() if p.pid == os.getpid()]
    assert (me.ppid, me.pgrp, me.session) == (os.getppid(), os.getpgrp(), os.getsid(0))
    assert me.alive


def test_a_command_name_with_spaces_and_parentheses_is_read_past(tmp_path):
    # The kernel shows the name of the file run, here "a) 1 2 (b".
    odd = tmp_path / "a) 1 2 (b"
    odd.symlink_to(shutil.which("sleep"))
    child = subprocess.Popen([odd, "30"], start_new_session=True)
    try:
        found, = [p for p in processes() if p.pid == child.pid]
        assert (found.ppid, found.pgrp, found.session) == (os.getpid(), child.pid, child.pid)
    finally:
        child.kill()
        child.wait()


def test_session_members_are_the_live_processes_of_the_session():
    child = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        assert session_members(child.pid) == [child.pid]
        os.kill(child.pid, signal.SIGKILL)
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)   # a zombie, not reaped
        zombie, = [p for p in processes() if p.pid == child.pid]
        assert not zombie.alive
        assert session_members(child.pid) == []
    finally:
        child.kill()
        child.wait()
