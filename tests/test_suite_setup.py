"""The test command itself: options the suite relies on are really passed."""

import re
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
