"""The package's layers: an import never points from a lower layer to a higher one, and no
two folders import each other.

Every import is counted: at module level, inside functions (lazy imports), relative ones
resolved against the importing module's package.
"""

import ast
import tomllib
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: The layers, bottom to top; packages in one layer may import each other (without a cycle
#: between their folders), a layer may import any layer below it.
LAYERS = (
    ("cimtile.spec", "cimtile.configs"),
    ("cimtile.hdl", "cimtile.behavioral"),
    ("cimtile.models",),
    # The simulation layer, bottom to top: builds, simulation-only RTL, what crosses into
    # the simulator, the benches that run there, their launchers, what runs many launches.
    ("cimtile.tb.build",),
    ("cimtile.tb.tops",),
    ("cimtile.tb.transport",),
    ("cimtile.tb.benches",),
    ("cimtile.tb.runs",),
    ("cimtile.tb.regression", "cimtile.tb.ceiling"),
    ("cimtile.fpga",),
    ("cimtile.flows",),
    ("cimtile.cli",),
)

#: Packages whose own module only holds their sub-packages (no code of a layer).
OUTSIDE_LAYERS = ("cimtile", "cimtile.tb")


def package_dirs(root):
    """``{package: folder}`` of the distribution, from pyproject.toml's package-dir."""
    with open(root / "pyproject.toml", "rb") as file:
        return tomllib.load(file)["tool"]["setuptools"]["package-dir"]


def modules(root, dirs):
    """``{module name: (path, is_package)}`` of every Python file under the folders `dirs`
    (``{package: folder}``); a folder nested in another is named by the longer mapping."""
    found = {}
    for package, folder in sorted(dirs.items(), key=lambda item: len(item[1])):
        for path in sorted((root / folder).rglob("*.py")):
            parts = path.relative_to(root / folder).with_suffix("").parts
            is_package = parts[-1] == "__init__"
            name = ".".join((package, *(parts[:-1] if is_package else parts)))
            found[name] = (path, is_package)
    return found


def imports(name, path, is_package, known):
    """The project modules `name` imports anywhere in its source, as ``(line, module)``,
    including modules of the project's packages that do not exist."""
    roots = {module.partition(".")[0] for module in known}
    package = name if is_package else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            submodules = [f"{target}.{alias.name}" for alias in node.names
                          if f"{target}.{alias.name}" in known]
            if len(submodules) < len(node.names):
                found.append((node.lineno, target))
            found += [(node.lineno, module) for module in submodules]
    return [(line, target) for line, target in found if target.partition(".")[0] in roots]


def layer_of(module, layers):
    """Index of the layer holding `module`, or None (the root package, outside the layers)."""
    for index, packages in enumerate(layers):
        if any(module == p or module.startswith(p + ".") for p in packages):
            return index
    return None


def folder_of(module, known):
    return module if known[module][1] else module.rpartition(".")[0]


def violations(root, dirs, layers):
    """Every import of a module that does not exist and every upward import, as
    ``"path:line: a imports b ..."``, then every cycle between folders, as ``"folder cycle:
    a -> b -> a"``. (A lazy import of a missing module fails only when its function runs.)"""
    known = modules(root, dirs)
    found = []
    edges = defaultdict(set)
    for name, (path, is_package) in sorted(known.items()):
        for line, target in imports(name, path, is_package, known):
            if target not in known:
                found.append(f"{path.relative_to(root)}:{line}: {name} imports {target}, "
                             "which does not exist")
                continue
            low, high = layer_of(name, layers), layer_of(target, layers)
            if low is not None and high is not None and high > low:
                found.append(f"{path.relative_to(root)}:{line}: {name} imports {target} "
                             f"(layer {high} {layers[high]} over layer {low} {layers[low]})")
            source, sink = folder_of(name, known), folder_of(target, known)
            # A package and its own sub-packages are one folder for cycles: a package's
            # __init__ re-exporting its modules is not a cycle.
            if not (sink.startswith(source + ".") or source.startswith(sink + ".")) \
                    and source != sink:
                edges[source].add(sink)
    found += [f"folder cycle: {' -> '.join(cycle)}" for cycle in _cycles(edges)]
    return found


def _cycles(edges):
    """One shortest cycle through each folder that lies on one, deduplicated."""
    cycles = set()
    for start in sorted(edges):
        paths = {start: [start]}
        queue = [start]
        while queue:
            node = queue.pop(0)
            for nxt in sorted(edges[node]):
                if nxt == start:
                    cycle = paths[node] + [start]
                    k = cycle.index(min(cycle[:-1]))
                    cycles.add(tuple(cycle[k:-1] + cycle[:k] + [cycle[k]]))
                    queue.clear()
                    break
                if nxt not in paths:
                    paths[nxt] = paths[node] + [nxt]
                    queue.append(nxt)
    return sorted(cycles)


def test_every_module_is_in_a_layer():
    known = modules(ROOT, package_dirs(ROOT))
    outside = [name for name in known
               if name not in OUTSIDE_LAYERS and layer_of(name, LAYERS) is None]
    assert outside == [], f"modules outside every layer: {outside}"


def test_no_import_points_up():
    found = violations(ROOT, package_dirs(ROOT), LAYERS)
    assert found == [], "\n".join(found)


def test_checker_reports_a_missing_module_an_upward_import_and_a_cycle(tmp_path):
    files = {
        "low/__init__.py": "",
        "low/base.py": "import os\n",
        "low/sneaky.py": "def later():\n    from ..high import top\n",
        "high/__init__.py": "",
        "high/top.py": "from pkg.low import base\nfrom ..low.base import os\n",
        "high/ghost.py": "def later():\n    from pkg.low.gone import thing\n",
        "side/__init__.py": "",
        "side/a.py": "from ..other import b\n",
        "other/__init__.py": "",
        "other/b.py": "from pkg.side import a\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    dirs = {"pkg.low": "low", "pkg.high": "high", "pkg.side": "side", "pkg.other": "other"}
    layers = (("pkg.low",), ("pkg.side", "pkg.other"), ("pkg.high",))
    assert violations(tmp_path, dirs, layers) == [
        "high/ghost.py:2: pkg.high.ghost imports pkg.low.gone, which does not exist",
        "low/sneaky.py:2: pkg.low.sneaky imports pkg.high.top "
        "(layer 2 ('pkg.high',) over layer 0 ('pkg.low',))",
        "folder cycle: pkg.high -> pkg.low -> pkg.high",
        "folder cycle: pkg.other -> pkg.side -> pkg.other",
    ]
