"""Import an ONNX model as a :class:`~cimtile.flows.graph.Graph` of tile layers and digital
operations.

Accepted: the operators of :data:`SUPPORTED` in the default domain, opsets
:data:`MIN_OPSET` to the installed ``onnx``'s newest. The model's input is its one graph
input that is not an initializer, shaped (batch, ...) with every dimension but the batch
fixed; its output is the first graph output of a floating-point type (a scikit-learn
classifier's ``probabilities``, not its ``label``). Only the nodes that output depends on
are imported. Gemm and MatMul with constant weights and Conv (2-D, groups 1, dilation 1)
run on tiles; BatchNormalization is folded into the Conv, Gemm or MatMul before it, and an
Add of a constant to such a layer's output into its bias; an Add of two computed tensors is
a residual connection; Softmax may only produce the output. Identity and Cast to a float
type only rename a tensor; Constant nodes supply constant inputs. Anything else is refused
with one line naming the node, its operator and the supported list.
"""

import dataclasses

import numpy as np
import onnx
from onnx import numpy_helper

from .graph import Graph, Node, is_layer
from .network import ModelError
from .onnx_ops import CONVERTERS, FOLDED, PASS_THROUGH, Site, Unsupported

__all__ = ["SUPPORTED", "MIN_OPSET", "load_onnx"]

#: The operators a model may use (besides Identity, Cast to float and Constant).
SUPPORTED = ("Gemm", "MatMul", "Add", "Conv", "Relu", "Clip", "MaxPool", "AveragePool",
             "GlobalAveragePool", "Flatten", "Reshape", "BatchNormalization", "Softmax")
#: The oldest default-domain opset accepted.
MIN_OPSET = 9
_FLOAT_TYPES = (onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT16)


def _read(path):
    try:
        with open(path, "rb") as file:
            data = file.read()
        model = onnx.load_model_from_string(data)
        onnx.checker.check_model(model)
    except OSError as error:
        raise ModelError(f"{path}: {error.strerror or error}") from None
    except Exception as error:  # protobuf's DecodeError and onnx's ValidationError
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error)
        raise ModelError(f"{path}: not a valid ONNX model ({first})") from None
    return model, data


def _opset(path, model):
    versions = {o.domain: o.version for o in model.opset_import}
    opset = versions.get("", versions.get("ai.onnx"))
    newest = onnx.defs.onnx_opset_version()
    if opset is None or not MIN_OPSET <= opset <= newest:
        raise ModelError(f"{path}: default-domain opset {opset} is not supported (only "
                         f"{MIN_OPSET}..{newest})")
    return opset


def _input(path, graph, constants):
    inputs = [i for i in graph.input if i.name not in constants]
    if len(inputs) != 1:
        raise ModelError(f"{path}: the model must have one input, not {len(inputs)} "
                         f"({', '.join(i.name for i in inputs)})")
    value = inputs[0]
    dims = value.type.tensor_type.shape.dim
    if value.type.tensor_type.elem_type not in _FLOAT_TYPES or len(dims) < 2:
        raise ModelError(f"{path}: input {value.name} must be a floating-point tensor "
                         "shaped (batch, ...)")
    shape = tuple(d.dim_value if d.HasField("dim_value") else None for d in dims[1:])
    if any(d is None or d <= 0 for d in shape):
        raise ModelError(f"{path}: input {value.name} must have fixed dimensions after the "
                         f"batch, not {['?' if d is None else d for d in shape]}")
    return value.name, shape, dims[0].dim_value if dims[0].HasField("dim_value") else None


def _output(path, graph):
    for value in graph.output:
        if value.type.tensor_type.elem_type in _FLOAT_TYPES:
            return value.name
    raise ModelError(f"{path}: the model has no floating-point output")


def _needed(graph, output):
    """The nodes the tensor `output` depends on, in the file's (topological) order."""
    producer = {name: node for node in graph.node for name in node.output}
    wanted, stack = set(), [output]
    while stack:
        node = producer.get(stack.pop())
        if node is not None and id(node) not in wanted:
            wanted.add(id(node))
            stack.extend(node.input)
    return [node for node in graph.node if id(node) in wanted]


def _node_name(node, index):
    return node.name or f"#{index}"


def _refusal(path, node, index, reason):
    return ModelError(f"{path}: node {_node_name(node, index)} ({node.op_type}) {reason}")


class _Builder:
    """Converts the needed nodes in order, folding and renaming as it goes."""

    def __init__(self, path, constants, opset, users):
        self.path, self.constants, self.opset, self.users = path, constants, opset, users
        self.nodes, self.alias = [], {}

    def name(self, tensor):
        return self.alias.get(tensor, tensor)

    def add(self, node, index):
        if node.domain not in ("", "ai.onnx") or node.op_type not in (
                SUPPORTED + PASS_THROUGH + ("Constant",)):
            raise _refusal(self.path, node, index,
                           f"is not supported; supported operators: {', '.join(SUPPORTED)}")
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "Constant":
            if "value" not in attrs:
                raise _refusal(self.path, node, index, f"with {', '.join(attrs)} is not "
                               "supported (only a tensor value)")
            self.constants[node.output[0]] = numpy_helper.to_array(attrs["value"])
            return
        consts = tuple(self.constants.get(name) for name in node.input)
        site = Site(node, attrs, consts, self.opset)
        try:
            if node.op_type in PASS_THROUGH:
                self._pass_through(site)
            elif node.op_type in FOLDED or self._bias(site):
                self._fold(site)
            else:
                op, inputs = CONVERTERS[node.op_type](site)
                self.nodes.append(Node(_node_name(node, index), node.op_type, op,
                                       tuple(self.name(i) for i in inputs), node.output[0]))
        except Unsupported as error:
            raise _refusal(self.path, node, index, str(error)) from None

    def _pass_through(self, site):
        if site.node.op_type == "Cast" and site.attr("to", 0) not in _FLOAT_TYPES:
            raise Unsupported("casts to a type other than floating point")
        self.alias[site.node.output[0]] = self.name(site.node.input[0])

    def _folding_target(self, site):
        """The layer node whose output `site` reads, if only `site` reads it."""
        source = self.name(site.node.input[0])
        for k, node in enumerate(self.nodes):
            if node.output == source and is_layer(node.op) and self.users[source] == 1:
                return k
        return None

    def _bias(self, site):
        """Whether `site` adds a constant bias to a layer's output, one value per output."""
        if site.node.op_type != "Add" or len(site.dynamic()) != 1 or site.consts[0] is not None:
            return False
        k = self._folding_target(site)
        return k is not None and site.consts[1].shape in self.nodes[k].op.bias_shapes

    def _fold(self, site):
        k = self._folding_target(site)
        if k is None:
            raise Unsupported("must follow a Conv, Gemm or MatMul whose output only it reads")
        node = self.nodes[k]
        width = node.op.matrix.shape[1]
        if site.node.op_type == "Add":
            scale, shift = np.ones(width), site.const(1, "the bias").reshape(width)
        else:
            gamma, beta, mean, var = (site.const(i, name).reshape(-1) for i, name in
                                      ((1, "scale"), (2, "B"), (3, "mean"), (4, "var")))
            scale = gamma / (var + site.attr("epsilon", 1e-5)) ** 0.5
            shift = beta - mean * scale
        op = node.op.scaled(scale, shift)
        self.nodes[k] = Node(node.name, node.kind, op, node.inputs, site.node.output[0])


def _users(nodes, output):
    users = {output: 1}
    for node in nodes:
        for name in node.input:
            users[name] = users.get(name, 0) + 1
    return users


def _check(path, graph):
    """Run one zero sample through the graph, node by node, so that a shape that does not
    fit is refused naming its node; the output must be (batch, classes), and only the
    output may be a Softmax."""
    tensors = {graph.input: np.zeros((1, *graph.input_shape))}
    for node in graph.nodes:
        if node.kind == "Softmax" and node.output != graph.output:
            raise ModelError(f"{path}: node {node.name} (Softmax) is supported only as the "
                             "model's output")
        try:
            tensors[node.output] = graph.run_node(node, tensors)
        except (ValueError, IndexError) as error:
            shapes = ", ".join(str(tensors[name].shape[1:]) for name in node.inputs)
            raise ModelError(f"{path}: node {node.name} ({node.kind}) does not fit its "
                             f"input shaped {shapes} ({error})") from None
    shape = tensors[graph.output].shape
    if len(shape) != 2:
        raise ModelError(f"{path}: output {graph.output} must be shaped (batch, classes), "
                         f"not (batch, {', '.join(map(str, shape[1:]))})")


def _reference(path, data, input_name, output_name, input_shape, batch, elem_type):
    """onnxruntime on the file itself: float outputs independent of the imported graph."""
    import onnxruntime
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    try:
        session = onnxruntime.InferenceSession(data, options,
                                               providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own exception types
        first = str(error).strip().splitlines()[0]
        raise ModelError(f"{path}: onnxruntime cannot run the model ({first})") from None
    dtype = onnx.helper.tensor_dtype_to_np_dtype(elem_type)

    def forward(x):
        x = np.asarray(x, dtype).reshape(len(x), *input_shape)
        step = batch or max(len(x), 1)
        return np.concatenate([session.run([output_name], {input_name: x[i:i + step]})[0]
                               for i in range(0, len(x), step)]).astype(np.float64)
    return forward


def load_onnx(path):
    """Read the ONNX model at `path` (module docstring) as a Graph whose ``reference`` is
    onnxruntime on the same file.

    Raises
    ------
    ModelError
        One line naming the file, and the node and its operator when one is at fault.
    """
    model, data = _read(path)
    opset = _opset(path, model)
    graph = model.graph
    constants = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    input_name, input_shape, batch = _input(path, graph, constants)
    output = _output(path, graph)
    needed = _needed(graph, output)
    builder = _Builder(path, constants, opset, _users(needed, output))
    for index, node in enumerate(needed):
        builder.add(node, index)
    result = Graph(tuple(builder.nodes), input_name, builder.name(output), input_shape)
    if not result.layers:
        raise ModelError(f"{path}: the model has no Conv, Gemm or MatMul to put on tiles")
    _check(path, result)
    elem_type = next(i for i in graph.input if i.name == input_name).type.tensor_type.elem_type
    return dataclasses.replace(result, reference=_reference(
        path, data, input_name, output, input_shape, batch, elem_type))
