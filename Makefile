# Every target bootstraps a local virtual environment from pyproject.toml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench fpga-check formal clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/cimtile demo

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup

bench: $(STAMP)
	$(BIN)/cimtile bench

# Bitstreams for both boards with the YoWASP toolchain (minutes: not part of `make test`).
fpga-check: $(STAMP)
	$(BIN)/cimtile fpga build --board icebreaker --config fpga/configs/icebreaker.toml --out build/fpga/icebreaker
	$(BIN)/cimtile fpga build --board ulx3s-85f --config src/cimtile/configs/reference.toml --out build/fpga/ulx3s-85f

# Formal checks (SymbiYosys from PyPI): every property set on the small configs, the register
# block proven by k-induction (about 3 minutes; a quick subset runs in `make test`).
formal: $(STAMP)
	$(BIN)/python -m cimtile.formal --out build/formal

clean:
	rm -rf $(VENV) build .pytest_cache
