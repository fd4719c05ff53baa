# Every target bootstraps a local virtual environment from pyproject.toml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo demo-tiles demo-cnn demo-cnn-digits test bench fpga-check formal regress soak repair-study clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# setuptools warns that an editable install with package-dir mappings lets same-named
	# folders in the working directory shadow the package; the layout is deliberate.
	PYTHONWARNINGS="ignore:Editable installation" $(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# The digits MLP on the four-tile chip, programmed by write-verify and run in one
# co-simulation of the whole chip.
demo: $(STAMP)
	$(BIN)/cimtile demo --chip

# The digits MLP tile by tile, one co-simulation per tile.
demo-tiles: $(STAMP)
	$(BIN)/cimtile demo

# The shipped MNIST CNN (ONNX) on co-simulated physical tiles, 200 test images (about 1.5
# minutes).
demo-cnn: $(STAMP)
	$(BIN)/cimtile demo --cnn

# The shipped 8x8-digits CNN (ONNX) on co-simulated physical tiles, all 360 test images
# (about 30 s).
demo-cnn-digits: $(STAMP)
	$(BIN)/cimtile demo --cnn digits

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup

# The long regression (not part of `make test`): constrained-random seeds until every
# declared coverage bin is hit (at most 20 minutes), then every deliberate RTL bug of
# `cimtile regress --mutant`, each of which must make a seed fail.
MUTANTS := adc_off_by_one adc_step_one_short pipeline_release_at_sample pipeline_bank_overwritten tlast_dropped msb_sign wv_step_kept_on_flip soft_reset_cuts_result remap_off_by_one remap_spare_range_loose write_while_busy error_lost_beside_done
regress: $(STAMP)
	mkdir -p build/regress
	$(BIN)/cimtile regress --until-covered --time-budget 1200 --workers 2 \
		--junit build/regress/junit.xml --coverage build/regress/coverage.json
	for mutant in $(MUTANTS); do \
		$(BIN)/cimtile regress --mutant $$mutant --seeds 60 --stop-on-failure --workers 2 \
			> build/regress/mutant_$$mutant.txt; \
		test $$? -eq 1 || { echo "mutant $$mutant was not caught"; exit 1; }; \
		grep -m1 -A1 '^FAIL' build/regress/mutant_$$mutant.txt; \
	done

# 10,000 and 100,000 reference-tile MVMs in one co-simulation each, every result checked.
soak: $(STAMP)
	$(BIN)/python -m cimtile.tb.regression.soak --mvms 10000
	$(BIN)/python -m cimtile.tb.regression.soak --mvms 100000

bench: $(STAMP)
	$(BIN)/cimtile bench

# The demo network's accuracy against the stuck-cell rate, with and without column repair
# (golden model, a few minutes: not part of `make test`).
repair-study: $(STAMP)
	$(BIN)/python -m cimtile.flows.repair_study --out build/repair_study

# Bitstreams for both boards with the YoWASP toolchain (minutes: not part of `make test`); the
# crossbar emulator serves the reference tile on its unpipelined schedule, and each tile of
# the boards' chips (fpga/configs/chip_*.toml).
fpga-check: $(STAMP)
	$(BIN)/cimtile fpga build --board icebreaker --config fpga/configs/icebreaker.toml --out build/fpga/icebreaker
	$(BIN)/cimtile fpga build --board ulx3s-85f --config src/cimtile/configs/reference_unpipelined.toml --out build/fpga/ulx3s-85f
	$(BIN)/cimtile fpga build --chip --board icebreaker --config fpga/configs/chip_icebreaker.toml --out build/fpga/chip-icebreaker
	$(BIN)/cimtile fpga build --chip --board ulx3s-85f --config fpga/configs/chip_ulx3s.toml --out build/fpga/chip-ulx3s-85f

# Formal checks (SymbiYosys from PyPI): every property set on the small configs, the register
# block proven by k-induction (about 3 minutes; a quick subset runs in `make test`).
formal: $(STAMP)
	$(BIN)/python -m cimtile.flows.formal --out build/formal

clean:
	rm -rf $(VENV) build .pytest_cache
