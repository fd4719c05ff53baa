"""The chip's energy per image and area: the breakdown adds up, the memories' accesses are
those the program implies, leakage follows the cycles, more tiles for the same work cost
area and not MVM energy, and a program for another chip is refused."""

import dataclasses
import json
import math

import numpy as np
import pytest

from cimtile import cli
from cimtile.flows.chip_compile import compile_network
from cimtile.flows.chip_report import chip_images
from cimtile.flows.graph import mlp_graph
from cimtile.flows.ppa.area import tile_area
from cimtile.flows.ppa.chip import chip_ppa, tile_inputs
from cimtile.models.chip_golden import ProgramError
from cimtile.models.chip_batch import image_batch
from cimtile.spec.chip_config import load_chip_config
from cimtile.spec.chip_isa import Instruction, Opcode, encode_program

from test_chip_compile import LAYERS, files, main
from test_chip_config import CHIP, write

# The network of test_chip_compile (20-7-5) on eight tiles of 12 x 3: layer 0 in two row
# blocks (12 + 8 inputs) by three column blocks (3 + 3 + 1 outputs), layer 1 in one row
# block by two column blocks (3 + 2).
INPUTS, HIDDEN, OUTPUTS = 20, 7, 5


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    chip = load_chip_config(write(tmp_path_factory.mktemp("chip")))
    rng = np.random.default_rng(5)
    program = compile_network(mlp_graph(LAYERS), chip, rng.normal(size=(40, INPUTS)))
    X = chip_images(program, chip, rng.normal(size=(6, INPUTS)))
    _, inputs = tile_inputs(chip, program, X)
    return chip, program, inputs, len(X)


def items(ppa):
    return {item.name: item for item in ppa.energy.items}


def sram_pj(cfg):
    """Read and write energy of one SRAM bit at the tile's node, from its [ppa] table."""
    shrink = cfg.ppa.node_nm / 45
    return cfg.ppa.sram_read_fj * 1e-3 * shrink, cfg.ppa.sram_write_fj * 1e-3 * shrink


def test_breakdown_adds_up_to_the_total(compiled):
    chip, program, inputs, images = compiled
    ppa = chip_ppa(chip, program, inputs, images)
    energy, area = ppa.sections()
    assert energy["per_image_pj"] == math.fsum(i["pj"] for i in energy["breakdown"].values())
    assert energy["breakdown"]["tiles_mvm"]["pj"] == pytest.approx(
        sum(energy["tiles_mvm_breakdown_pj"].values()))
    assert area["total_um2"] == pytest.approx(sum(area["parts_um2"].values()))
    assert area["parts_um2"]["tiles"] == pytest.approx(8 * tile_area(chip.tile).total_um2)
    # Every tile computes once per image: eight MVMs of the network's 20*7 + 7*5 MACs.
    assert items(ppa)["tiles_mvm"].count == 8
    assert energy["macs_per_image"] == INPUTS * HIDDEN + HIDDEN * OUTPUTS
    assert energy["tops_per_w"] == pytest.approx(2 * 175 / energy["per_image_pj"])
    batch = image_batch(chip, program)
    assert energy["cycles_per_image"] == batch.timing.cycles / batch.images
    assert all(i.pj > 0 for i in ppa.energy.items)


def test_memory_accesses_are_the_programs(compiled):
    chip, program, inputs, images = compiled
    ppa = chip_ppa(chip, program, inputs, images)
    found = items(ppa)
    # Each of layer 0's three column blocks reads the 20 inputs and layer 1's two the 7
    # hidden values; the host reads the 5 scores. The host writes the image, the ACCs the
    # hidden values and the scores. No MOVE.
    reads = 3 * INPUTS + 2 * HIDDEN + OUTPUTS
    writes = INPUTS + HIDDEN + OUTPUTS
    lengths = {op: sum(ins["length"] for ins in program.instructions if ins.op is op)
               for op in (Opcode.MVM, Opcode.ACC)}
    assert (lengths[Opcode.MVM] + OUTPUTS, lengths[Opcode.ACC] + INPUTS) == (reads, writes)
    assert (ppa.events.act_reads, ppa.events.act_writes) == (reads, writes)
    # 64 activations of 4 bits are flip-flops (below sram_min_bits): one element's share of
    # the memory's gates switches per access.
    toggle_pj = chip.tile.ppa.ge_toggle_fj * 1e-3 * chip.tile.ppa.node_nm / 45
    assert ppa.macro_bits["activation_memory"] == 0 and "activation_memory_read" not in found
    assert found["activation_memory_switching"].pj == pytest.approx(
        (reads + writes) * 0.5 * ppa.ge["activation_memory"] / 64 * toggle_pj)
    # The 256 multipliers and biases (16 + 32 bits) are SRAM, in one bank per column: each
    # ACC output reads one pair.
    read_pj, _ = sram_pj(chip.tile)
    assert ppa.macro_bits["parameter_memory"] == 3 * math.ceil(256 / 3) * 48
    assert ppa.events.param_reads == lengths[Opcode.ACC] == HIDDEN + OUTPUTS
    assert found["parameter_memory_read"].pj == pytest.approx(12 * 48 * read_pj)


def test_post_processing_and_datapath_events_are_the_programs(compiled):
    chip, program, inputs, images = compiled
    ppa = chip_ppa(chip, program, inputs, images)
    found = items(ppa)
    # Row blocks into the post-processing unit: layer 0's three ACCs add two tiles each,
    # layer 1's two ACCs one each.
    assert ppa.events.row_blocks == 3 * 2 + 2 * 1
    # Beats of 64 bits: every MVM's at most 12 four-bit inputs take one, every tile's at
    # most 3 partial sums one, every ACC's at most 3 outputs one.
    assert chip.tile.result_width * 3 <= 64
    mvm_beats, sum_beats, out_beats = 8, 3 * 2 + 2 * 1, 3 + 2
    assert ppa.events.beats == mvm_beats + sum_beats + out_beats
    toggle_pj = chip.tile.ppa.ge_toggle_fj * 1e-3 * chip.tile.ppa.node_nm / 45
    assert found["post_process_switching"].pj == pytest.approx(
        8 * 0.5 * ppa.ge["post_process"] * toggle_pj)
    # One unit's share of the datapath's units per beat: ten units (8 MVM units, the ACC
    # unit, the mover).
    assert found["datapath_switching"].pj == pytest.approx(
        21 * 0.5 * ppa.ge["datapath"] / 10 * toggle_pj)


def test_the_sequencer_reads_a_word_per_instruction(compiled):
    chip, program, inputs, images = compiled
    ppa = chip_ppa(chip, program, inputs, images)
    found = items(ppa)
    # Eight MVMs, five ACCs and the HALT, each fetched once from the 256-word memory, a
    # 16-Kbit SRAM macro.
    assert len(program.instructions) == 8 + 5 + 1
    read_pj, _ = sram_pj(chip.tile)
    assert found["instruction_memory_read"].pj == pytest.approx(14 * 64 * read_pj)
    assert ppa.area["instruction_memory"] == pytest.approx(
        256 * 64 * chip.tile.ppa.sram_bit_um2 * (chip.tile.ppa.node_nm / 45) ** 2)
    toggle_pj = chip.tile.ppa.ge_toggle_fj * 1e-3 * chip.tile.ppa.node_nm / 45
    assert found["sequencer_switching"].pj == pytest.approx(
        14 * 0.5 * ppa.ge["sequencer"] * toggle_pj)
    assert ppa.ge["sequencer"] > 0


def serialised(program):
    """`program` with a BARRIER after every MVM: the same work in more cycles."""
    code, tags = [], []
    for ins, tag in zip(program.instructions, program.layers):
        code.append(ins)
        tags.append(tag)
        if ins.op is Opcode.MVM:
            code.append(Instruction.make(Opcode.BARRIER))
            tags.append(tag)
    return dataclasses.replace(program, words=np.asarray(encode_program(code), np.uint64),
                               layers=np.asarray(tags, np.int64))


def test_leakage_scales_with_cycles(compiled):
    chip, program, inputs, images = compiled
    fast = chip_ppa(chip, program, inputs, images)
    slow = chip_ppa(chip, serialised(program), inputs, images)
    ratio = slow.cycles_per_image / fast.cycles_per_image
    assert ratio > 2
    a, b = items(fast), items(slow)
    for name in ("post_process_leakage", "datapath_leakage", "sequencer_leakage",
                 "instruction_memory_leakage", "activation_memory_leakage",
                 "parameter_memory_leakage", "parameter_memory_sram_leakage"):
        assert b[name].pj == pytest.approx(a[name].pj * ratio), name
    # The tiles leak while idle: the extra cycles of all eight, at the same rate.
    extra = 8 * (slow.cycles_per_image - fast.cycles_per_image)
    assert b["tiles_idle_leakage"].pj - a["tiles_idle_leakage"].pj == pytest.approx(
        extra * a["tiles_idle_leakage"].pj_per)
    for name in ("tiles_mvm", "post_process_switching", "datapath_switching",
                 "activation_memory_switching", "parameter_memory_read"):
        assert b[name].pj == a[name].pj, name
    # Leakage per cycle of one SRAM bit at the node, by hand.
    cfg = chip.tile
    bit_cycle_pj = cfg.ppa.sram_leak_nw * 1e-9 * (1e-6 / cfg.ppa.clock_mhz) * 1e12 \
        * cfg.ppa.node_nm / 45
    assert a["parameter_memory_sram_leakage"].pj == pytest.approx(
        3 * 86 * 48 * fast.cycles_per_image * bit_cycle_pj)


def test_more_tiles_for_the_same_work_cost_area_not_mvm_energy(compiled, tmp_path):
    chip, program, inputs, images = compiled
    # Two idle tiles more (a small step keeps the extra syntheses quick).
    more = load_chip_config(write(tmp_path, CHIP.replace("tiles = 8", "tiles = 10")))
    eight = chip_ppa(chip, program, inputs, images)
    ten = chip_ppa(more, program, inputs, images)
    assert items(ten)["tiles_mvm"].pj == items(eight)["tiles_mvm"].pj
    assert ten.area["tiles"] == pytest.approx(10 / 8 * eight.area["tiles"])
    # Two MVM units more, and two more read ports on the activation memory.
    assert ten.ge["datapath"] > eight.ge["datapath"]
    assert ten.ge["activation_memory"] > eight.ge["activation_memory"]
    assert ten.ge["sequencer"] > eight.ge["sequencer"]
    assert ten.area["parameter_memory"] == eight.area["parameter_memory"]
    assert sum(ten.area.values()) > sum(eight.area.values())


def test_a_program_for_another_chip_is_refused(compiled, tmp_path):
    chip, program, inputs, images = compiled
    seven = load_chip_config(write(tmp_path, CHIP.replace("tiles = 8", "tiles = 7")))
    with pytest.raises(ProgramError, match=r"^the weights are shaped \(8, 12, 3\); the chip "
                       r"holds at most 7 blocks of 12 x 3$"):
        chip_ppa(seven, program, inputs, images)
    # Inputs of another run: a tile too many, a tile missing, one image too many.
    with pytest.raises(ProgramError, match=r"^the inputs of tile 8 are shaped \(6, 12\); the "
                       r"program's MVMs on it over 6 images take \(0, 12\)$"):
        chip_ppa(chip, program, inputs | {8: inputs[0]}, images)
    with pytest.raises(ProgramError, match=r"^the inputs of tile 3 are shaped \(0, 12\); "):
        chip_ppa(chip, program, {t: X for t, X in inputs.items() if t != 3}, images)
    with pytest.raises(ProgramError, match=r"^the inputs of tile 0 are shaped \(6, 12\); the "
                       r"program's MVMs on it over 7 images take \(7, 12\)$"):
        chip_ppa(chip, program, inputs, images + 1)
    with pytest.raises(ValueError, match=r"^images must be a positive integer, not 0$"):
        chip_ppa(chip, program, inputs, 0)


def test_compile_reports_energy_and_area(tmp_path, capsys):
    args = files(tmp_path)
    assert main(args + ["--report", tmp_path / "r.json"]) == 0
    out = capsys.readouterr().out
    report = json.loads((tmp_path / "r.json").read_text())
    energy, area = report["energy"], report["area"]
    assert set(area["parts_um2"]) == {"tiles", "datapath", "post_process", "activation_memory",
                                      "parameter_memory", "sequencer", "instruction_memory"}
    assert energy["images_per_s"] == pytest.approx(report["timing"]["images_per_s"], abs=0.1)
    assert f"{energy['per_image_pj'] / 1e3:,.2f}" in out and "TOPS/W" in out
