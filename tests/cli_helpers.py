"""Running the ``cimtile`` command as users run it, and the small tile the command-line tests
share."""

import subprocess
import sys
from pathlib import Path

__all__ = ["CIMTILE", "SMALL", "run", "assert_bad_input", "children", "small_at"]

CIMTILE = Path(sys.executable).with_name("cimtile")

SMALL = """\
[tile]
rows = 12
cols = 3
in_bits = 4
w_bits = 5
bits_per_cell = 2
adc_bits = 6
adc_shift = 0
cols_per_adc = 3

[timing]
t_settle = 2
t_adc = 2
"""


def small_at(t_settle, t_adc, tables=""):
    """The small tile's TOML at another timing, with the TOML `tables` appended."""
    return (SMALL.replace("t_settle = 2", f"t_settle = {t_settle}")
            .replace("t_adc = 2", f"t_adc = {t_adc}") + tables)


def run(*args, cwd):
    return subprocess.run([str(CIMTILE), *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=600)


def assert_bad_input(proc, *fragments):
    """Exit status 2 and exactly one line on stderr, holding every fragment."""
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("cimtile: error: ")
    assert "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def children(pid):
    """Process ids of the children of `pid` (none once it has ended)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return path.read_text().split() if path.exists() else []
