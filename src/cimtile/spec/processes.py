"""The processes of this machine, read from /proc: the one walker that the formal flow,
the clean-up of process trees and the Verilator build share.

Linux only (as the rest of the process handling). A process's ``stat`` holds its command
name in parentheses, which may itself hold spaces and parentheses, so the fields are read
after its last closing parenthesis.
"""

import os
from typing import NamedTuple

__all__ = ["Process", "processes", "session_members"]


class Process(NamedTuple):
    """One process, as /proc showed it: its `pid`, `state` letter (``R``, ``S``, ``Z``...),
    parent `ppid`, process group `pgrp` and `session`."""
    pid: int
    state: str
    ppid: int
    pgrp: int
    session: int

    @property
    def alive(self):
        """Neither a zombie nor dead: it still runs, or can."""
        return self.state not in "ZX"


def processes():
    """Every process in /proc, zombies included; those gone while being read are left out."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(os.path.join(entry.path, "stat")) as file:
                stat = file.read()
        except OSError:
            continue
        # Fields after the parenthesised command name: state, ppid, pgrp, session, ...
        state, *ids = stat.rpartition(")")[2].split()[:4]
        found.append(Process(int(entry.name), state, *map(int, ids)))
    return found


def session_members(session):
    """Pids of the live processes of `session`."""
    return [p.pid for p in processes() if p.session == session and p.alive]
