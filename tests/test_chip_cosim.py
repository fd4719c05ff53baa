"""The whole chip co-simulated in Verilator, one simulator run for programming every tile and
then every image: the programming equals the golden program-and-verify and the outputs the
golden chip model bit for bit, the images go through in runs of as many as the chip's
memories hold, every run takes the timing model's cycles plus the fetch, and each tile
answers one analog request per bit plane of each MVM it was given. Four chips:
eight tiles of 12 x 3; three pipelined tiles of 16 x 4 on a 32-bit interconnect; two tiles
with spare columns, one activation a beat, ideal and physical (stuck cells repaired)."""

import dataclasses
import json

import numpy as np
import pytest

from cimtile.flows.chip_compile import compile_network
from cimtile.flows.chip_report import chip_images
from cimtile.flows.graph import mlp_graph
from cimtile.flows.network import Layer
from cimtile.models.chip_batch import batch_capacity, image_batch
from cimtile.models.chip_golden import ProgramError, run_chip
from cimtile.models.verdict import compare
from cimtile.spec.chip_isa import Opcode, encode_program
from cimtile.spec.chip_config import load_chip_config
from cimtile.tb.runs.chip_runner import CHIP_GOLDEN, simulate_chip

from cli_helpers import SMALL
from test_chip_compile import files, main
from test_chip_config import CHIP, write

PIPELINED_TILE = """\
[tile]
rows = 16
cols = 4
in_bits = 6
w_bits = 6
bits_per_cell = 2
adc_bits = 7
adc_shift = 0
cols_per_adc = 4
pipeline = true

[timing]
t_settle = 2
t_adc = 1
"""
PIPELINED_CHIP = """\
[chip]
tile = "tile.toml"
tiles = 3
act_memory_bytes = 48
interconnect_width = 32
out_bits = 4
acc_bits = 20
"""
SPARE_TILE = SMALL.replace("rows = 12", "rows = 8").replace("cols = 3", "cols = 2\n"
                                                             "spare_cols = 2")
# Physical: every analog effect at its default, 5 % stuck cells; write-verify finds them and
# the columns move to spares.
PHYSICAL_TILE = SPARE_TILE.replace("spare_cols = 2", "spare_cols = 4") + """
[analog]
model = "physical"
fault_rate = 0.05
"""
SPARE_CHIP = """\
[chip]
tile = "tile.toml"
tiles = 2
act_memory_bytes = 32
interconnect_width = 8
out_bits = 4
acc_bits = 16
"""
# (chip TOML, tile TOML, layer sizes): every chip's network splits a layer into row blocks.
CHIPS = {"eight": (CHIP, SMALL, (20, 7, 5)), "pipelined": (PIPELINED_CHIP, PIPELINED_TILE,
                                                           (20, 4, 3)),
         "spares": (SPARE_CHIP, SPARE_TILE, (10, 2)),
         "physical": (SPARE_CHIP, PHYSICAL_TILE, (10, 2))}


def chip_and_program(tmp_path, name, images=7):
    chip_toml, tile_toml, sizes = CHIPS[name]
    chip = load_chip_config(write(tmp_path, chip_toml, tile_toml))
    rng = np.random.default_rng(5)
    layers = [Layer(rng.normal(size=(n, m)), rng.normal(size=m))
              for n, m in zip(sizes, sizes[1:])]
    program = compile_network(mlp_graph(layers), chip, rng.normal(size=(40, sizes[0])))
    return chip, program, chip_images(program, chip, rng.normal(size=(images, sizes[0])))


@pytest.mark.parametrize("name", list(CHIPS))
def test_chip_equals_the_golden_chip(tmp_path, name):
    chip, program, images = chip_and_program(tmp_path, name)
    run = simulate_chip(chip, program, images)
    assert run.verdict.ok, run.verdict.describe()
    assert run.verdict.compared == len(images) and run.verdict.check == CHIP_GOLDEN
    assert run.program_verdict.ok, run.program_verdict.describe()
    cells = len(program.weights) * chip.tile.tile.rows * chip.tile.cols_phys
    assert run.program_verdict.compared >= cells
    if name == "physical":
        assert any(remap.any() for remap in run.remaps)
    # Runs of two images (the memory holds two images' activations), the last of one.
    assert run.run_images.tolist() == [2, 2, 2, 1]
    assert batch_capacity(chip, program) == 2
    assert run.cycles.tolist() == [image_batch(chip, program, n).timing.cycles + 1
                                   for n in run.run_images]
    mvms = np.bincount([ins["tile"] for ins in program.instructions if ins.op is Opcode.MVM],
                       minlength=len(program.weights))
    assert run.requests.tolist() == (mvms * chip.tile.tile.in_bits * len(images)).tolist()


def test_the_outputs_follow_the_tiles_weights(tmp_path):
    """Tile 0 holding the opposite weights gives other outputs, equal to its own golden
    chip's and unequal to the program's: the comparison can fail."""
    chip, program, images = chip_and_program(tmp_path, "eight", images=3)
    weights = program.weights.copy()
    weights[0] = -weights[0]
    run = simulate_chip(chip, dataclasses.replace(program, weights=weights), images,
                        write_verify=False)
    assert run.verdict.ok and run.program_verdict is None
    expected, _ = run_chip(chip, program, images)
    assert not compare(CHIP_GOLDEN, run.outputs, expected).ok


def test_bad_program_is_refused_before_building(tmp_path):
    chip, program, images = chip_and_program(tmp_path, "eight", images=1)
    words = encode_program(program.instructions[:-1])
    bad = dataclasses.replace(program, words=np.asarray(words, np.uint64),
                              layers=np.zeros(len(words), np.int64))
    with pytest.raises(ProgramError, match="^the program must end with HALT$"):
        simulate_chip(chip, bad, images)


def test_run_on_the_chip(tmp_path, capsys):
    """``cimtile run --chip``: the same network, compiled and co-simulated on the chip; its
    report gives the golden chip model's figures beside the co-simulation's."""
    args = files(tmp_path)[:7] + ["--chip", "--report", tmp_path / "r.json"]
    assert main(["run", *args[1:]]) == 0
    out = capsys.readouterr().out
    assert out.startswith("PASS: 0 of 1152 programmed cells differ from the golden "
                          "program-and-verify; 0 of 30 results differ from the golden chip "
                          "model\n")
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["agreement"] == 1.0 and report["program_cells"] == 1152
    # Ideal tiles: write-verify leaves the levels, so the programmed chip is the golden one.
    assert (report["cosim_accuracy"] == report["programmed_golden_accuracy"]
            == report["chip_golden_accuracy"])
    assert report["cosim_cycles_per_run"] == report["timing"]["cycles_per_run"] + 1
    assert main(["run", *args[1:], "--plots", tmp_path / "plots"]) == 2
    assert capsys.readouterr().err == "cimtile: error: --plots: not available with --chip\n"
    assert not (tmp_path / "plots").exists()
    tile_args = [a for a in args[1:] if a != "--chip"]
    assert main(["run", *tile_args, "--ppa"]) == 2
    assert capsys.readouterr().err == ("cimtile: error: --ppa: only with --chip (cimtile ppa "
                                       "prices a tile)\n")
