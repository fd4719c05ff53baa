"""Leave no process behind: every descendant a block of work started is gone when it ends.

A Dask worker stopped mid-job (an interrupted regression) dies without running its own
clean-up, and the builds and simulators it started, each in a session of its own, are
re-parented to init and run on. Marked as a child subreaper (Linux ``prctl``), this process
adopts such orphans instead, so it can find them and kill them. A command interrupted by
SIGINT or SIGTERM unwinds the same way for both (:func:`exit_status_on_interrupt`), so its
clean-up runs.
"""

import contextlib
import ctypes
import os
import signal
import sys
import time

from cimtile.spec.processes import processes

__all__ = ["descendants", "exit_status_on_interrupt", "no_descendants_left"]

_PR_SET_CHILD_SUBREAPER = 36


def descendants(pid=None):
    """Pids of the live descendants of `pid` (default: this process)."""
    children = {}
    for process in processes():
        if process.alive:
            children.setdefault(process.ppid, []).append(process.pid)
    found, todo = [], [os.getpid() if pid is None else pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            found.append(child)
            todo.append(child)
    return found


def _become_subreaper():
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


@contextlib.contextmanager
def no_descendants_left(timeout=5.0):
    """On leaving, kill (SIGKILL) and reap every descendant started inside the block,
    orphans of its dead children included."""
    _become_subreaper()
    before = set(descendants())
    try:
        yield
    finally:
        killed, deadline = set(), time.monotonic() + timeout
        while (left := set(descendants()) - before) and time.monotonic() < deadline:
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            killed |= left
            time.sleep(0.01)
        # Killed orphans this process adopted are its zombies until collected.
        for pid in killed:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)


class _Terminated(BaseException):
    """SIGTERM, raised where the program is, so that it unwinds like an interrupt and ends
    what it started on the way."""


def _terminate(signum, frame):
    raise _Terminated


def exit_status_on_interrupt(name, run):
    """``run()``'s exit status; interrupted, one line on stderr (``<name>: interrupted`` or
    ``<name>: terminated``) and 130 for SIGINT or 143 for SIGTERM, after unwinding."""
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return run()
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT
    except _Terminated:
        print(f"{name}: terminated", file=sys.stderr)
        return 128 + signal.SIGTERM
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
