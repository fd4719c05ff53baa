"""``cimtile compile``: a network mapped onto a chip, the program file it writes, and the
networks it refuses in one line without writing anything."""

import json
import re

import numpy as np
import pytest
from onnx import helper

from cimtile import cli
from cimtile.flows.chip_compile import FitError, compile_network, requantisation
from cimtile.flows.graph import mlp_graph
from cimtile.flows.network import Layer, save_model
from cimtile.spec.chip_config import load_chip_config
from cimtile.spec.chip_program import load_program, save_program
from cimtile.spec.mapping import DataError

from onnx_graphs import model, save, tensor
from test_chip_config import CHIP, write

RNG = np.random.default_rng(3)
LAYERS = [Layer(RNG.normal(size=(20, 7)), RNG.normal(size=7)),
          Layer(RNG.normal(size=(7, 5)), RNG.normal(size=5))]


def files(tmp_path, chip=CHIP, layers=LAYERS):
    config = write(tmp_path, chip)
    save_model(tmp_path / "model.npz", layers)
    inputs = layers[0].W.shape[0]
    # A generator of its own: the data must not depend on which tests ran before.
    rng = np.random.default_rng(4)
    np.savez(tmp_path / "data.npz", x_test=rng.normal(size=(30, inputs)),
             y_test=rng.integers(0, layers[-1].W.shape[1], 30),
             x_cal=rng.normal(size=(40, inputs)))
    return ["compile", "--model", tmp_path / "model.npz", "--config", config,
            "--data", tmp_path / "data.npz", "-o", tmp_path / "program.npz"]


def main(args):
    return cli.main([str(a) for a in args])


def test_compile_writes_the_program_and_report(tmp_path, capsys):
    args = files(tmp_path)
    assert main(args + ["--report", tmp_path / "r.json"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"compiled {tmp_path / 'model.npz'} for ")
    assert "tiles used" in out and "8 of 8" in out
    program = load_program(tmp_path / "program.npz")
    chip = load_chip_config(args[4])
    x_cal = np.load(tmp_path / "data.npz")["x_cal"]
    expected = compile_network(mlp_graph(LAYERS), chip, x_cal)
    for key in ("words", "layers", "weights", "seeds", "mult", "bias"):
        assert np.array_equal(getattr(program, key), getattr(expected, key)), key
    # Two layers: the scores overwrite the inputs at address 0.
    assert program.output_address == 0 and program.output_length == 5
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["tiles_used"] == 8 and len(report["timing"]["layers"]) == 2
    # Ideal lossless tiles: the golden chip is the exact one.
    assert report["chip_golden_accuracy"] == report["chip_exact_accuracy"]


@pytest.mark.parametrize("change, message", [
    (("tiles = 8", "tiles = 7"), "the network needs 8 tiles (layer 0: 6, layer 1: 2 blocks "
     "of 12 x 3) but chip.tiles is 7"),
    (("act_memory_bytes = 64", "act_memory_bytes = 26"), "the activations need 27 bytes (20 "
     "+ 7 values of 1 byte, two buffers in turn) but chip.act_memory_bytes is 26"),
    (("acc_bits = 16", "acc_bits = 16\nmult_bits = 2\nshift_max = 0"), "layer 0: a scale of "),
    (("acc_bits = 16", "acc_bits = 16\nshift_max = 2"), "layer 0: a scale of 0.05277 rounds "
     "to a zero multiplier at shift 2 (chip.shift_max 2, chip.mult_bits 16, chip.bias_bits 32)"),
])
def test_networks_that_do_not_fit_are_refused(tmp_path, capsys, change, message):
    args = files(tmp_path, CHIP.replace(*change))
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"cimtile: error: {tmp_path / 'model.npz'} on {args[4]}: {message}")
    assert not (tmp_path / "program.npz").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def onnx_args(tmp_path, args, *tail):
    """`args` with the model an ONNX dense layer 20 -> 5 followed by the nodes `tail`
    (``(op, name)``, each on the previous one's output)."""
    nodes = [helper.make_node("Gemm", ["x", "W", "b"], ["t0"], name="dense")]
    nodes += [helper.make_node(op, [f"t{i}"], [f"t{i + 1}"], name=name)
              for i, (op, name) in enumerate(tail)]
    nodes[-1].output[0] = "y"
    weights = np.random.default_rng(5).normal(size=(20, 5))
    path = save(model(nodes, (20,), (5,), [tensor("W", weights),
                                          tensor("b", np.zeros(5))]), tmp_path / "m.onnx")
    return [path if a == tmp_path / "model.npz" else a for a in args]


def test_a_final_softmax_is_left_to_the_host(tmp_path):
    args = onnx_args(tmp_path, files(tmp_path), ("Softmax", "probabilities"))
    assert main(args) == 0
    assert len(load_program(tmp_path / "program.npz").weights) == 2 * 2


def test_unsupported_operation_is_refused(tmp_path, capsys):
    args = onnx_args(tmp_path, files(tmp_path), ("Relu", "relu"), ("Relu", "again"))
    assert main(args) == 2
    assert re.search(r"node again \(Relu\) cannot run on the chip: the compiler maps dense "
                     "layers", capsys.readouterr().err)
    assert not (tmp_path / "program.npz").exists()


def test_requantisation_takes_the_largest_shift_that_fits(tmp_path):
    chip = load_chip_config(write(tmp_path))
    mult, bias, shift = requantisation(0.01, np.array([0.5, -1.0]), chip)
    # 16-bit multiplier: 0.01 * 2**21 = 20971.5 rounds into range, 2**22 would not fit.
    assert (shift, mult.tolist(), bias.tolist()) == (21, [20972, 20972], [1 << 20, -(1 << 21)])
    with pytest.raises(FitError, match="does not fit chip.mult_bits"):
        requantisation(1e6, np.zeros(1), chip)


def test_program_file_refusals(tmp_path):
    chip = load_chip_config(write(tmp_path))
    program = compile_network(mlp_graph(LAYERS), chip,
                              np.random.default_rng(6).normal(size=(10, 20)))
    with open(tmp_path / "p.npz", "wb") as file:
        save_program(file, program)
    arrays = dict(np.load(tmp_path / "p.npz"))
    for change, message in [({"extra": np.zeros(1)}, "unknown key extra in program"),
                            ({"words": arrays["words"] | np.uint64(1 << 63)},
                             "words: instruction 0: word 0x"),
                            ({"mult": arrays["mult"].astype(float)}, "mult must be of kind"),
                            ({"io": np.zeros(3, np.int64)}, "io must be shaped (4,)")]:
        np.savez(tmp_path / "bad.npz", **(arrays | change))
        with pytest.raises(DataError, match=re.escape(message)):
            load_program(tmp_path / "bad.npz")
