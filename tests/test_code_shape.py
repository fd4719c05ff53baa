"""The code's shape: one concept per module, so no module over 400 lines and no function
over 80 (an Amaranth ``elaborate`` method excepted: it describes one block's hardware).
"""

import ast

from test_layers import ROOT, modules, package_dirs

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80
#: Methods exempt from the function limit.
EXEMPT_METHODS = ("elaborate",)


def _functions(tree):
    """``(qualified name, lines, is a method)`` of every function in `tree`, nested ones
    too."""
    found = []

    def visit(node, prefix, in_class):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{prefix}{child.name}"
                found.append((name, child.end_lineno - child.lineno + 1, in_class))
                visit(child, f"{name}.", False)
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.", True)
            else:
                visit(child, prefix, in_class)

    visit(tree, "", False)
    return found


def offenders(root, dirs):
    """``{"path": lines}`` of every module over :data:`MAX_MODULE_LINES` and
    ``{"path:function": lines}`` of every function over :data:`MAX_FUNCTION_LINES` in the
    folders `dirs` (``{package: folder}``) under `root`."""
    found = {}
    for path, _ in modules(root, dirs).values():
        where = path.relative_to(root).as_posix()
        text = path.read_text()
        lines = len(text.splitlines())
        if lines > MAX_MODULE_LINES:
            found[where] = lines
        for name, length, is_method in _functions(ast.parse(text, str(path))):
            exempt = is_method and name.rpartition(".")[2] in EXEMPT_METHODS
            if length > MAX_FUNCTION_LINES and not exempt:
                found[f"{where}:{name}"] = length
    return found


def test_no_module_or_function_is_too_long():
    found = offenders(ROOT, package_dirs(ROOT))
    assert found == {}, (f"over {MAX_MODULE_LINES} lines a module or {MAX_FUNCTION_LINES} a "
                         f"function: {found}")


def _function(name, lines, indent=""):
    """A function of `lines` lines in all, at `indent`."""
    body = "".join(f"{indent}    x{i} = {i}\n" for i in range(lines - 1))
    return f"{indent}def {name}():\n{body}"


def test_checker_reports_a_long_module_and_a_long_function(tmp_path):
    files = {
        "pkg/__init__.py": "",
        "pkg/long.py": "X = 1\n" * 401,
        "pkg/short.py": "X = 1\n" * 400,
        "pkg/funcs.py": (_function("long", 81) + _function("fits", 80)
                         + "def outer():\n" + _function("elaborate", 81, "    ")),
        "pkg/top.py": ("class Top:\n" + _function("elaborate", 200, "    ")
                       + _function("long_method", 81, "    ")),
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert offenders(tmp_path, {"pkg": "pkg"}) == {
        "pkg/long.py": 401,
        "pkg/funcs.py:long": 81,
        "pkg/top.py:Top.long_method": 81,
        # A function named elaborate that is no method is no exception.
        "pkg/funcs.py:outer": 82,
        "pkg/funcs.py:outer.elaborate": 81,
    }
