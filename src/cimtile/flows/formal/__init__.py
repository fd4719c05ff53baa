"""Formal verification with SymbiYosys, from PyPI alone (YoWASP Yosys, SymbiYosys and
Boolector).

- :mod:`.harness`: one harness per property set, the design's inputs free.
- :mod:`.sby`: the tool wrappers, the .sby file, running SymbiYosys and reading its verdict.
- :mod:`.trace`: counterexample traces as cycle tables.
- :mod:`.checks`: the property sets, their depths and configurations; the runner.
- ``cimtile formal`` is in :mod:`cimtile.cli.formal`.

The properties themselves live beside the blocks, in :mod:`cimtile.hdl.properties`.
"""
