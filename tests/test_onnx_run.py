"""ONNX models through ``cimtile run`` (a convolution co-simulated on the small tile), the
command line's refusals, and the shipped CNNs of ``cimtile demo --cnn mnist|digits``."""

import json

import numpy as np
import onnxruntime
from onnx import helper

from cimtile.cli import main
from cimtile.flows.digits import DIGITS_CNN, demo_config, digits_split
from cimtile.flows.mnist import MNIST_CNN, mnist_split
from cimtile.flows.network import accuracy, split
from cimtile.flows.network_run import golden_layer_mvm, program_tiles
from cimtile.flows.onnx_import import load_onnx
from cimtile.flows.quantizer import quantize_graph
from cimtile.spec.config import reference_config

from cli_helpers import SMALL
from onnx_graphs import model, save, single_op_model, tensor


def _tiny_cnn(rng):
    """(1, 4, 4) -> conv 3x3 to 2 channels (2 x 2 pixels) -> ReLU -> flatten -> Gemm to 3."""
    n = helper.make_node
    nodes = [n("Conv", ["x", "w", "b"], ["c"]), n("Relu", ["c"], ["r"]),
             n("Flatten", ["r"], ["f"]), n("Gemm", ["f", "g"], ["y"])]
    return model(nodes, (1, 4, 4), (3,), [tensor("w", rng.normal(size=(2, 1, 3, 3))),
                                          tensor("b", [0.1, -0.1]),
                                          tensor("g", rng.normal(size=(8, 3)))])


def test_run_co_simulates_a_convolution_pixel_by_pixel(tmp_path, capsys):
    rng = np.random.default_rng(0)
    path = save(_tiny_cnn(rng), tmp_path / "cnn.onnx")
    (tmp_path / "small.toml").write_text(SMALL)
    np.savez(tmp_path / "data.npz", x_test=rng.normal(size=(3, 16)),
             y_test=np.array([0, 1, 2]), x_cal=rng.normal(size=(20, 16)))
    status = main(["run", "--model", str(path), "--config", str(tmp_path / "small.toml"),
                   "--data", str(tmp_path / "data.npz"), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert status == 0
    # 3 images of 2 x 2 output pixels on one 12 x 3 tile, then one MVM per image.
    assert [(layer["shape"], layer["tiles"], layer["mvms"]) for layer in
            report["layer_report"]] == [("conv 3x3/1 1->2", 1, 12), ("dense 8->3", 1, 3)]
    assert report["layers"] == [[9, 2], [8, 3]]
    assert report["tile_mvms"] == 15
    assert sum(layer["cycles"] for layer in report["layer_report"]) == report["cycles_total"]
    # The small tile is lossless and ideal: the tiles return the exact integers.
    assert [layer["cosim_rms_error"] for layer in report["layer_report"]] == [0, 0]
    assert report["agreement"] == 1.0 and report["tile_golden_mismatches"] == 0
    assert report["cosim_accuracy"] == report["quantized_accuracy"]


def test_run_refuses_an_unsupported_operator_in_one_line(tmp_path, capsys):
    path = save(single_op_model("Sigmoid", [], {}, []), tmp_path / "m.onnx")
    (tmp_path / "small.toml").write_text(SMALL)
    np.savez(tmp_path / "data.npz", x_test=np.zeros((1, 32)), y_test=np.array([0]),
             x_cal=np.zeros((1, 32)))
    assert main(["run", "--model", str(path), "--config", str(tmp_path / "small.toml"),
                 "--data", str(tmp_path / "data.npz")]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (f"cimtile: error: {path}: node bad (Sigmoid) is not supported; "
                            "supported operators: Gemm, MatMul, Add, Conv, Relu, Clip, "
                            "MaxPool, AveragePool, GlobalAveragePool, Flatten, Reshape, "
                            "BatchNormalization, Softmax\n")


def test_shipped_cnn_quantizes_within_a_point_and_a_half_of_float():
    (x_train, _), (x_cal, _), (x_test, y_test) = mnist_split()
    assert (len(x_train), len(x_cal), len(x_test)) == (3500, 500, 1000)
    graph, cfg = load_onnx(MNIST_CNN), demo_config()
    assert [op.describe() for op in graph.layers] == [
        "conv 3x3/1 1->8", "conv 3x3/1 8->16", "dense 144->10"]
    reference = graph.reference_forward(x_test)
    assert np.abs(graph.float_forward(x_test[:100])[0] - reference[:100]).max() < 1e-4
    qnet = quantize_graph(graph, x_cal, cfg)
    assert [len(split(q.Wq, cfg)) for q in qnet] == [1, 3, 5]
    quantized, _ = qnet.forward(x_test, cfg, qnet.exact_mvm)
    assert accuracy(reference, y_test) >= 0.97
    assert abs(accuracy(quantized, y_test) - accuracy(reference, y_test)) <= 0.015


def test_shipped_digits_cnn_maps_and_its_golden_model_agrees_with_onnxruntime():
    (_, _), (x_cal, _), (x_test, y_test) = digits_split()
    graph = load_onnx(DIGITS_CNN)
    assert [op.describe() for op in graph.layers] == [
        "conv 3x3/1 1->8", "conv 3x3/1 8->16", "dense 64->10"]
    cfg = demo_config()
    qnet = quantize_graph(graph, x_cal, cfg)
    assert [len(split(q.Wq, cfg)) for q in qnet] == [1, 3, 2]
    quantized, _ = qnet.forward(x_test, cfg, qnet.exact_mvm)
    reference = graph.reference_forward(x_test)
    assert accuracy(reference, y_test) >= 0.97
    assert abs(accuracy(quantized, y_test) - accuracy(reference, y_test)) <= 0.01
    # The golden model of a lossless tile of the demo's size returns the exact integers:
    # its scores differ from onnxruntime's by the 8-bit quantization alone.
    x = x_test[:20]
    session = onnxruntime.InferenceSession(str(DIGITS_CNN), providers=["CPUExecutionProvider"])
    expected = session.run(None, {"image": x.reshape(-1, 1, 8, 8).astype(np.float32)})[0]
    lossless = reference_config().replace(rows=32, cols=16)
    qnet = quantize_graph(graph, x_cal, lossless)
    tiles = program_tiles(lossless, qnet, seed=0, write_verify=False)
    golden, _ = qnet.forward(x, lossless, golden_layer_mvm(tiles, lossless))
    assert np.array_equal(golden, qnet.forward(x, lossless, qnet.exact_mvm)[0])
    assert np.abs(golden - expected).max() < 0.05 * np.abs(expected).max()
    assert np.array_equal(golden.argmax(1), expected.argmax(1))
