"""The test command itself: options the suite relies on are really passed."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_xdist_groups_take_effect_under_make_test():
    # pytest-xdist honours xdist_group marks only with --dist loadgroup; without it they
    # silently do nothing.
    marked = [path.name for path in (ROOT / "tests").glob("*.py")
              if "xdist_group(" in path.read_text() and path.name != Path(__file__).name]
    recipe = re.search(r"^test:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(),
                       re.MULTILINE)
    assert recipe, "Makefile has no test target"
    pytest_line = next(line for line in recipe.group(1).splitlines() if "pytest" in line)
    assert not marked or "--dist loadgroup" in pytest_line, \
        f"{', '.join(marked)} use xdist_group marks, but make test runs: {pytest_line.strip()}"


GROUPED = """
import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.xdist_group("together")


@pytest.mark.parametrize("n", range(6))
def test_worker(n):
    (Path(__file__).parent / f"worker_{n}").write_text(os.environ["PYTEST_XDIST_WORKER"])
"""


def test_grouped_tests_share_one_worker(tmp_path):
    # pytest-xdist groups by rewriting an attribute of the test items that newer pytest
    # releases no longer read: the marks are then ignored without a word.
    (tmp_path / "test_grouped.py").write_text(GROUPED)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"),
                           "--rootdir", str(tmp_path), "-n", "2", "--dist", "loadgroup",
                           "-p", "no:cacheprovider", str(tmp_path)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:]
    workers = [(tmp_path / f"worker_{n}").read_text() for n in range(6)]
    assert len(set(workers)) == 1, workers


def test_a_failing_block_check_reports_its_message_under_xdist(tmp_path):
    # CPython 3.11's AST constructor can fail while pytest re-parses a failing test's source
    # for its long tracebacks (an INTERNALERROR in place of the failure); the suite uses
    # native tracebacks, which print the assertion message without that step.
    source = (ROOT / "tests" / "test_hdl_blocks.py").read_text()
    broken = source.replace("assert accepting == (not valid)", "assert accepting == valid")
    assert broken != source
    (tmp_path / "test_broken_buffer.py").write_text(broken)
    (tmp_path / "amaranth_sim.py").write_text((ROOT / "tests" / "amaranth_sim.py").read_text())
    proc = subprocess.run([sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"),
                           "--rootdir", str(tmp_path), "-n", "2", "-p", "no:cacheprovider",
                           "-k", "vector_buffer", str(tmp_path)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout[-2000:]
    assert "INTERNALERROR" not in proc.stdout + proc.stderr
    assert "AssertionError: cycle 0: i_stream.ready 1 with o_stream.valid 0" in proc.stdout
    assert len(proc.stdout) < 8000, f"{len(proc.stdout)} characters for one failure"
    import tomllib
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]
    assert "--tb=native" in options["ini_options"]["addopts"].split()
