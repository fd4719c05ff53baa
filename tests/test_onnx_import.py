"""ONNX import: every supported operator against onnxruntime, the folds, im2col against a
direct convolution, per-channel scales, round trips from scikit-learn and PyTorch through
the integer golden model, and one clear line for everything refused."""

import warnings

import numpy as np
import onnxruntime
import pytest
from onnx import helper

from cimtile.flows.digits import digits_split
from cimtile.flows.graph_ops import Conv
from cimtile.flows.network import ModelError, accuracy
from cimtile.flows.network_run import golden_layer_mvm, program_tiles
from cimtile.flows.onnx_import import load_onnx
from cimtile.flows.quantizer import quantize_graph
from cimtile.spec.config import reference_config

from onnx_graphs import int_tensor, model, save, single_op_model, tensor

SUPPORTED_LIST = ("Gemm, MatMul, Add, Conv, Relu, Clip, MaxPool, AveragePool, "
                  "GlobalAveragePool, Flatten, Reshape, BatchNormalization, Softmax")


def _runtime(path, x):
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return session.run(None, {name: x.astype(np.float32)})[0]


def _every_operator(rng):
    """Input (1, 9, 9): conv (stride 2, uneven pads), batch norm, ReLU, a residual branch
    through a second conv, a bias Add and a clip, max and average pooling with pads,
    reshape, Gemm with transB, alpha and beta, ReLU, MatMul with a bias Add, softmax."""
    n = helper.make_node
    init = {
        "w1": rng.normal(size=(4, 1, 3, 3)), "b1": rng.normal(size=4),
        "gamma": rng.uniform(0.5, 1.5, 4), "beta": rng.normal(size=4),
        "mean": rng.normal(size=4), "var": rng.uniform(0.5, 2, 4),
        "w2": rng.normal(size=(4, 4, 3, 3)) / 3, "b2": rng.normal(size=(1, 4, 1, 1)),
        "lo": 0.0, "hi": 1.5,
        "shape": np.array([-1, 16]), "wg": rng.normal(size=(6, 16)), "cg": rng.normal(size=6),
        "wm": rng.normal(size=(6, 3)), "bm": rng.normal(size=3),
    }
    nodes = [
        n("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", strides=[2, 2], pads=[1, 0, 0, 1]),
        n("BatchNormalization", ["c1", "gamma", "beta", "mean", "var"], ["bn"], name="bn",
          epsilon=1e-3),
        n("Relu", ["bn"], ["r1"]),
        n("Conv", ["r1", "w2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
        n("Add", ["c2", "b2"], ["c2b"], name="conv2_bias"),
        n("Clip", ["c2b", "lo", "hi"], ["clip"]),
        n("Add", ["r1", "clip"], ["res"], name="residual"),
        n("MaxPool", ["res"], ["mp"], kernel_shape=[2, 2], pads=[0, 0, 1, 1]),
        n("AveragePool", ["mp"], ["ap"], kernel_shape=[3, 3], strides=[2, 2],
          pads=[1, 1, 1, 1]),
        n("Reshape", ["ap", "shape"], ["flat"]),
        n("Gemm", ["flat", "wg", "cg"], ["g"], transB=1, alpha=0.5, beta=2.0),
        n("Relu", ["g"], ["r2"]),
        n("MatMul", ["r2", "wm"], ["m"], name="matmul"),
        n("Add", ["m", "bm"], ["logits"], name="bias"),
        n("Softmax", ["logits"], ["y"]),
    ]
    initializers = [(int_tensor if k == "shape" else tensor)(k, v) for k, v in init.items()]
    return model(nodes, (1, 9, 9), (3,), initializers), init


def _pooling_heads():
    """Input (2, 5, 5): average pooling counting pads, global average pooling, flatten."""
    n = helper.make_node
    nodes = [n("AveragePool", ["x"], ["a"], kernel_shape=[2, 2], pads=[1, 1, 0, 0],
               count_include_pad=1),
             n("GlobalAveragePool", ["a"], ["g"]),
             n("Flatten", ["g"], ["f"]),
             n("Gemm", ["f", "w"], ["y"])]
    return model(nodes, (2, 5, 5), (3,), [tensor("w", np.arange(6).reshape(2, 3) - 2.5)])


def test_every_supported_operator_matches_onnxruntime(tmp_path):
    rng = np.random.default_rng(0)
    path = save(_every_operator(rng)[0], tmp_path / "all.onnx")
    graph = load_onnx(path)
    x = rng.normal(size=(7, 81))
    expected = _runtime(path, x.reshape(7, 1, 9, 9))
    assert np.abs(graph.float_forward(x)[0] - expected).max() < 1e-5
    assert np.abs(graph.reference_forward(x) - expected).max() < 1e-6
    # Quantized (8-bit inputs and weights, exact integers) through the same residual,
    # pooling and folded layers: within a few hundredths of every probability.
    qnet = quantize_graph(graph, rng.normal(size=(50, 81)), reference_config())
    assert np.abs(qnet.forward(x, reference_config(), qnet.exact_mvm)[0]
                  - expected).max() < 0.02
    heads = load_onnx(save(_pooling_heads(), tmp_path / "heads.onnx"))
    x = rng.normal(size=(4, 50))
    assert np.abs(heads.float_forward(x)[0]
                  - _runtime(tmp_path / "heads.onnx", x.reshape(4, 2, 5, 5))).max() < 1e-5


def test_batchnorm_and_bias_adds_fold_into_the_layer_before(tmp_path):
    rng = np.random.default_rng(0)
    m, init = _every_operator(rng)
    graph = load_onnx(save(m, tmp_path / "all.onnx"))
    assert [node.kind for node in graph.nodes] == [
        "Conv", "Relu", "Conv", "Clip", "Add", "MaxPool", "AveragePool", "Reshape", "Gemm",
        "Relu", "MatMul", "Softmax"]
    conv, matmul = graph.layers[0], graph.layers[3]
    scale = (init["gamma"] / np.sqrt(init["var"] + 1e-3)).astype(np.float32)
    assert np.allclose(conv.W, init["w1"].astype(np.float32) * scale[:, None, None, None])
    assert np.allclose(conv.b, (init["b1"].astype(np.float32) - init["mean"]) * scale
                       + init["beta"], atol=1e-6)
    assert np.allclose(matmul.b, init["bm"].astype(np.float32))
    assert np.allclose(graph.layers[1].b, init["b2"].astype(np.float32).reshape(4))
    assert [op.describe() for op in graph.layers] == [
        "conv 3x3/2 1->4", "conv 3x3/1 4->4", "dense 16->6", "dense 6->3"]


@pytest.mark.parametrize("strides, pads", [((1, 1), (0, 0, 0, 0)), ((2, 1), (1, 0, 2, 1))])
def test_im2col_equals_a_direct_convolution(strides, pads):
    rng = np.random.default_rng(1)
    W, x = rng.integers(-5, 6, (3, 2, 3, 2)), rng.integers(-5, 6, (2, 2, 6, 5))
    conv = Conv(W, np.zeros(3), strides, pads)
    padded = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    oh = (padded.shape[2] - 3) // strides[0] + 1
    ow = (padded.shape[3] - 2) // strides[1] + 1
    expected = np.zeros((2, 3, oh, ow), np.int64)
    for n, o, i, j in np.ndindex(*expected.shape):
        r, c = i * strides[0], j * strides[1]
        expected[n, o, i, j] = np.sum(padded[n, :, r:r + 3, c:c + 2] * W[o])
    patches = conv.patches(x)
    assert patches.shape == (2 * oh * ow, 2 * 3 * 2)
    assert conv.matrix.shape == (2 * 3 * 2, 3)
    assert np.array_equal(conv.assemble(patches @ conv.matrix, x), expected)


def test_per_channel_scales_fit_every_output(tmp_path):
    rng = np.random.default_rng(2)
    W = rng.normal(size=(12, 4)) * np.array([1.0, 0.01, 3.0, 0.2])
    path = save(model([helper.make_node("MatMul", ["x", "w"], ["y"])], (12,), (4,),
                      [tensor("w", W)]), tmp_path / "m.onnx")
    graph, cfg = load_onnx(path), reference_config()
    x_cal = rng.normal(size=(50, 12))
    per_layer = quantize_graph(graph, x_cal, cfg)[0]
    per_channel = quantize_graph(graph, x_cal, cfg, per_channel=True)[0]
    W32 = W.astype(np.float32)
    assert np.array_equal(np.abs(per_channel.Wq).max(axis=0), [127] * 4)
    assert np.allclose(per_channel.w_scale, np.abs(W32).max(axis=0) / 127)
    assert np.all(np.abs(per_channel.Wq * per_channel.w_scale - W32)
                  <= per_channel.w_scale / 2 + 1e-12)
    # The small column keeps two significant levels on a shared scale, 127 on its own.
    assert np.abs(per_layer.Wq[:, 1]).max() <= 1
    error = [np.abs(q.Wq * q.w_scale - W32)[:, 1].max() for q in (per_layer, per_channel)]
    assert error[1] < error[0] / 50


def _golden_outputs(graph, x_cal, x, cfg, per_channel=False):
    """The quantized graph's outputs with every layer on the golden model's tiles."""
    qnet = quantize_graph(graph, x_cal, cfg, per_channel)
    tiles = program_tiles(cfg, qnet, seed=0, write_verify=False)
    return qnet.forward(x, cfg, golden_layer_mvm(tiles, cfg))[0]


def test_scikit_learn_mlp_round_trip_through_the_golden_model(tmp_path):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from skl2onnx import to_onnx
    (x_train, y_train), (x_cal, _), (x_test, y_test) = digits_split()
    mlp = MLPClassifier((40,), max_iter=200, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(x_train, y_train)
    onx = to_onnx(mlp, x_train[:1].astype(np.float32), target_opset=17,
                  options={id(mlp): {"zipmap": False}})
    path = tmp_path / "mlp.onnx"
    path.write_bytes(onx.SerializeToString())
    graph = load_onnx(path)
    assert [node.kind for node in graph.nodes] == ["MatMul", "Relu", "MatMul", "Softmax"]
    expected = mlp.predict_proba(x_test)
    assert np.abs(graph.reference_forward(x_test) - expected).max() < 1e-5
    cfg = reference_config().replace(rows=32, cols=16)
    assert cfg.lossless
    for per_channel in (False, True):
        out = _golden_outputs(graph, x_cal, x_test, cfg, per_channel)
        # 8-bit weights and inputs move a probability by at most a few hundredths and
        # change the class of at most one image in a hundred.
        assert np.abs(out - expected).max() < 0.05
        assert np.mean(out.argmax(1) == expected.argmax(1)) >= 0.99
        assert abs(accuracy(out, y_test) - mlp.score(x_test, y_test)) <= 0.01


# The exporter warns that its TorchScript path is legacy; the dynamo path needs onnxscript.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_pytorch_cnn_round_trip_through_the_golden_model(tmp_path):
    torch = pytest.importorskip("torch", reason="PyTorch is the optional 'train' extra "
                                "(pip install -e '.[train]'); the ONNX import needs none")
    from torch import nn

    class Residual(nn.Module):
        """``x + conv(x)``: a ResNet block's skip connection."""
        def __init__(self, channels):
            super().__init__()
            self.conv = nn.Conv2d(channels, channels, 3, padding=1)

        def forward(self, x):
            return x + torch.relu(self.conv(x))

    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                        nn.MaxPool2d(2), Residual(4), nn.Conv2d(4, 6, 3, stride=2),
                        nn.ReLU6(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(6, 5),
                        nn.Softmax(1))
    net.eval()
    path = tmp_path / "cnn.onnx"
    torch.onnx.export(net, torch.zeros(1, 1, 12, 12), str(path), dynamo=False,
                      input_names=["x"], dynamic_axes={"x": {0: "batch"}}, opset_version=17)
    graph = load_onnx(path)
    assert [op.describe() for op in graph.layers] == [
        "conv 3x3/1 1->4", "conv 3x3/1 4->4", "conv 3x3/2 4->6", "dense 6->5"]
    assert [node.kind for node in graph.nodes].count("Add") == 1
    rng = np.random.default_rng(3)
    x_cal, x = rng.uniform(0, 1, (40, 144)), rng.uniform(0, 1, (20, 144))
    with torch.no_grad():
        expected = net(torch.tensor(x, dtype=torch.float32).reshape(-1, 1, 12, 12)).numpy()
    assert np.abs(graph.float_forward(x)[0] - expected).max() < 1e-5
    out = _golden_outputs(graph, x_cal, x, reference_config().replace(rows=16, cols=8))
    assert np.abs(out - expected).max() < 0.05


#: Operators of the model zoo's small vision models (MNIST, SqueezeNet, MobileNet, ResNet,
#: ShuffleNet, GoogLeNet, Tiny YOLO, their int8 versions, ...) that cimtile does not map,
#: each as ``(operator, extra inputs, attributes, initializers)``.
REFUSED = [
    ("Concat", ["x"], {"axis": 1}, []),
    ("Dropout", [], {}, []),
    ("LRN", [], {"size": 3}, []),
    ("Sigmoid", [], {}, []),
    ("Tanh", [], {}, []),
    ("LeakyRelu", [], {"alpha": 0.1}, []),
    ("PRelu", ["slope"], {}, [tensor("slope", [0.1])]),
    ("HardSigmoid", [], {}, []),
    ("Transpose", [], {"perm": [0, 1, 3, 2]}, []),
    ("Mul", ["x"], {}, []),
    ("Sub", ["x"], {}, []),
    ("Div", ["x"], {}, []),
    ("Sum", ["x"], {}, []),
    ("Max", ["x"], {}, []),
    ("Exp", [], {}, []),
    ("Sqrt", [], {}, []),
    ("GlobalMaxPool", [], {}, []),
    ("InstanceNormalization", ["s", "b"], {}, [tensor("s", [1, 1]), tensor("b", [0, 0])]),
    ("ConvTranspose", ["w"], {}, [tensor("w", np.ones((2, 2, 1, 1)))]),
    ("Pad", ["p"], {}, [int_tensor("p", np.zeros(8))]),
    ("ReduceMean", [], {"axes": [1], "keepdims": 1}, []),
    ("ReduceMax", [], {}, []),
    ("ArgMax", [], {}, []),
    ("Elu", [], {}, []),
    ("Neg", [], {}, []),
    ("Pow", ["x"], {}, []),
    ("HardSwish", [], {}, []),
    ("Shape", [], {}, []),
    ("Gather", ["i"], {}, [int_tensor("i", [0])]),
    ("Unsqueeze", ["i"], {}, [int_tensor("i", [0])]),
    ("Squeeze", [], {}, []),
    ("Slice", ["i", "i"], {}, [int_tensor("i", [0])]),
    ("Split", [], {}, []),
    ("Resize", ["", "s"], {}, [tensor("s", [1, 1, 2, 2])]),
    ("DepthToSpace", [], {"blocksize": 2}, []),
    ("QuantizeLinear", ["s"], {}, [tensor("s", 0.1)]),
    ("DequantizeLinear", ["s"], {}, [tensor("s", 0.1)]),
]


@pytest.mark.parametrize("op, inputs, attrs, initializers", REFUSED,
                         ids=[entry[0] for entry in REFUSED])
def test_unsupported_operator_is_refused_in_one_line(tmp_path, op, inputs, attrs,
                                                     initializers):
    path = save(single_op_model(op, inputs, attrs, initializers), tmp_path / "m.onnx")
    with pytest.raises(ModelError) as error:
        load_onnx(path)
    assert str(error.value) == (f"{path}: node bad ({op}) is not supported; supported "
                                f"operators: {SUPPORTED_LIST}")


def _conv_model(**attrs):
    node = helper.make_node("Conv", ["x", "w"], ["c"], name="conv", **attrs)
    flat = helper.make_node("Flatten", ["c"], ["y"])
    return model([node, flat], (2, 6, 6), (2 * 16,), [tensor("w", np.ones((2, 2, 3, 3)))])


def _matmul(w, *, opset=17, input_shape=(4,), nodes=()):
    return model([helper.make_node("MatMul", ["x", "w"], ["m"], name="mm"), *nodes,
                  helper.make_node("Relu", ["m" if not nodes else "s"], ["y"])],
                 input_shape, (w.shape[-1],), [tensor("w", w)], opset=opset)


REFUSED_CONSTRUCTS = [
    (_conv_model(group=2), "node conv (Conv) group 2 is not supported (only 1)"),
    (_conv_model(dilations=[2, 2]),
     "node conv (Conv) dilations [2, 2] are not supported (only 1)"),
    (_conv_model(auto_pad="SAME_UPPER"),
     "node conv (Conv) auto_pad SAME_UPPER is not supported (give explicit pads)"),
    (single_op_model("MaxPool", [], {"kernel_shape": [2, 2], "ceil_mode": 1}, []),
     "node bad (MaxPool) ceil_mode 1 is not supported (only 0)"),
    (_matmul(np.ones((4, 3)), nodes=[helper.make_node("Softmax", ["m"], ["s"], name="sm")]),
     "node sm (Softmax) is supported only as the model's output"),
    (single_op_model("BatchNormalization", ["s", "b", "m", "v"], {},
                     [tensor(k, np.ones(2)) for k in "sbmv"]),
     "node bad (BatchNormalization) must follow a Conv, Gemm or MatMul whose output only "
     "it reads"),
    (model([helper.make_node("MatMul", ["x", "x"], ["y"], name="mm")], (4,), (4,)),
     "node mm (MatMul) the second factor, the weight (input 1) must be a constant "
     "initializer"),
    (_matmul(np.ones((5, 3))), "node mm (MatMul) does not fit its input shaped (4,)"),
    (_matmul(np.ones((4, 3)), input_shape=(2, 4)),
     "node mm (MatMul) does not fit its input shaped (2, 4) (a dense layer takes (batch, "
     "features), not 3 dimensions)"),
    (_matmul(np.ones((4, 3)), opset=8), "default-domain opset 8 is not supported (only 9.."),
    (_matmul(np.ones((4, 3)), input_shape=("features",)),
     "input x must have fixed dimensions after the batch, not ['?']"),
    (model([helper.make_node("Conv", ["x", "w"], ["y"], name="conv")], (2, 6, 6),
           (2, 4, 4), [tensor("w", np.ones((2, 2, 3, 3)))]),
     "output y must be shaped (batch, classes), not (batch, 2, 4, 4)"),
    (single_op_model("Relu", [], {}, []),
     "the model has no Conv, Gemm or MatMul to put on tiles"),
]


@pytest.mark.parametrize("onnx_model, message", REFUSED_CONSTRUCTS,
                         ids=[message[:40] for _, message in REFUSED_CONSTRUCTS])
def test_unsupported_construct_is_refused_in_one_line(tmp_path, onnx_model, message):
    path = save(onnx_model, tmp_path / "m.onnx")
    with pytest.raises(ModelError) as error:
        load_onnx(path)
    assert str(error.value).startswith(f"{path}: {message}")
    assert "\n" not in str(error.value)


def test_a_file_that_is_not_onnx_is_refused_in_one_line(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"\x08\x07 not a protobuf \xff\xff")
    with pytest.raises(ModelError) as error:
        load_onnx(path)
    assert str(error.value).startswith(f"{path}: not a valid ONNX model (")
    assert "\n" not in str(error.value)


def test_constant_nodes_supply_constant_inputs(tmp_path):
    w = np.arange(12.0).reshape(4, 3)
    nodes = [helper.make_node("Constant", [], ["w"], value=tensor("w", w)),
             helper.make_node("MatMul", ["x", "w"], ["y"])]
    path = save(model(nodes, (4,), (3,)), tmp_path / "m.onnx")
    graph = load_onnx(path)
    x = np.random.default_rng(4).normal(size=(5, 4))
    assert np.allclose(graph.float_forward(x)[0], x @ w)
    assert np.allclose(graph.reference_forward(x), x @ w, atol=1e-5)
    nodes[0] = helper.make_node("Constant", [], ["w"], name="c", value_float=1.0)
    with pytest.raises(ModelError, match=r"node c \(Constant\) with value_float is not "
                       r"supported \(only a tensor value\)$"):
        load_onnx(save(model(nodes, (4,), (3,)), tmp_path / "m2.onnx"))


def test_opset_10_clip_bounds_and_softmax_axis_match_onnxruntime(tmp_path):
    n = helper.make_node
    nodes = [n("MatMul", ["x", "w"], ["m"]), n("Clip", ["m"], ["c"], min=-0.5, max=0.75),
             n("Softmax", ["c"], ["y"])]
    w = np.random.default_rng(5).normal(size=(6, 4))
    path = save(model(nodes, (6,), (4,), [tensor("w", w)], opset=10), tmp_path / "m.onnx")
    graph = load_onnx(path)
    x = np.random.default_rng(6).normal(size=(9, 6))
    expected = _runtime(path, x)
    assert np.abs(graph.float_forward(x)[0] - expected).max() < 1e-6
    clipped = np.clip(x @ w.astype(np.float32), -0.5, 0.75)
    assert np.allclose(expected, np.exp(clipped) / np.exp(clipped).sum(1, keepdims=True),
                       atol=1e-6)
