"""The ceiling simulator: the bulk top under a plain C++ main (Verilator, no cocotb).

It must give the bulk co-simulation's results, equal to the golden model, in the very same
cycles, through every ring refill and drain; a planted difference in the answers written
ahead must stop it (a wordline pattern) or reach the golden verdict (a code).
"""

import tomllib

import numpy as np
import pytest

from cimtile.flows.bench import ceiling_report, cosim_and_ceiling
from cimtile.models.golden import golden_mvm
from cimtile.spec.config import parse_config
from cimtile.spec.mapping import random_operands
from cimtile.tb.tops.bulk_layout import RINGS, Layout
from cimtile.tb.ceiling.ceiling import read_results, run_main, simulate_ceiling, verdict, write_batch
from cimtile.tb.ceiling.ceiling_build import building_ceiling
from cimtile.tb.transport.exchange import SimulationError
from cimtile.tb.runs.host_runner import simulate
from cimtile.tb.transport.memfiles import fread_image

from cli_helpers import SMALL

CFG = parse_config(tomllib.loads(SMALL))
SEED = 3
# One input beat and one result beat per vector, four bit planes: more than two halves of
# every ring, so each is refilled or drained several times.
VECTORS = 10_000
PAUSES = (0.2, 3, 0.3, 6)


def operands(n):
    return random_operands(CFG, n, np.random.default_rng(1))


@pytest.fixture(scope="module")
def cosim():
    W, X = operands(VECTORS)
    return simulate(CFG, W, X, seed=SEED, frame_vectors=7, pauses=PAUSES, drive="bulk")


def test_the_ceiling_equals_the_golden_model_in_the_cosimulations_cycles(cosim):
    assert VECTORS > 2 * max(RINGS.in_half, RINGS.out_half, RINGS.analog_half // 4)
    W, X = operands(VECTORS)
    run = simulate_ceiling(CFG, W, X, seed=SEED, frame_vectors=7, pauses=PAUSES)
    assert run.golden_mismatches == 0
    assert np.array_equal(run.Y, golden_mvm(CFG, W, X, SEED))
    assert np.array_equal(run.frame_cycles, cosim.frame_cycles), \
        f"frames ended in other cycles: {run.frame_cycles} vs {cosim.frame_cycles}"
    assert np.array_equal(run.frame_vectors, cosim.frame_vectors)
    assert run.first_request == cosim.first_request
    assert run.wakeups == 0


def plant(path, entry, field, bit):
    """Flip `bit` of `field` in analog answer `entry` of the ``$fread`` file `path`."""
    layout = Layout.of(CFG)
    offsets, width = Layout.offsets(layout.analog_fields)
    rows = np.frombuffer(path.read_bytes(), np.uint8).reshape(-1, width // 8)[:, ::-1].copy()
    at = offsets[field][0] + bit
    rows[entry, at // 8] ^= 1 << at % 8
    path.write_bytes(fread_image(rows))


@pytest.fixture
def batch(tmp_path):
    """A batch of 600 vectors (three halves of analog answers) written ahead."""
    W, X = operands(600)
    write_batch(tmp_path, CFG, W, X, seed=SEED)
    return W, X


def test_a_planted_wordline_difference_stops_the_run_naming_the_plane(tmp_path, batch):
    # The third half's 38th answer: plane 2 * 1024 + 37 = 2085, vector 521 plane 1.
    plant(tmp_path / "ceiling_analog_2.bin", 37, "wl", 0)
    with building_ceiling(CFG) as (binary, _):
        finished = run_main(binary, tmp_path)
    assert finished.status == 1
    assert "the analog queue stopped the run (kind 1)" in finished.stderr
    assert "plane 2085" in finished.stderr
    with pytest.raises(SimulationError,
                       match=r"analog queue: wordline or ADC range mismatch at cycle \d+, "
                             r"vector 521 plane 1: wordlines .* the answer assumed .* exit "
                             r"status 1"):
        verdict(finished, CFG, CFG.tile.in_bits)


def test_a_planted_code_difference_reaches_the_golden_verdict(tmp_path, batch):
    W, X = batch
    plant(tmp_path / "ceiling_analog_2.bin", 37, "codes", 0)
    with building_ceiling(CFG) as (binary, _):
        finished = run_main(binary, tmp_path)
    verdict(finished, CFG, CFG.tile.in_bits)
    Y = read_results(tmp_path, CFG, len(X), finished)["Y"]
    differs = np.flatnonzero((Y != golden_mvm(CFG, W, X, SEED)).any(axis=1))
    assert list(differs) == [521]


def test_the_bench_measures_the_ceiling_on_the_cosimulations_batch():
    cosim, ceiling = cosim_and_ceiling(CFG, 300, rounds=1)
    assert ceiling["cycles"] == cosim["cycles"] > 300 * CFG.analog_cycles_per_mvm
    assert cosim["golden_mismatches"] == ceiling["golden_mismatches"] == 0
    report = ceiling_report(cosim, ceiling)
    assert report["cosim_to_ceiling"] == round(cosim["mvm_per_s"] / ceiling["mvm_per_s"], 2)
    assert report["ceiling_cycles_per_s"] == ceiling["cycles_per_s"] > 0

