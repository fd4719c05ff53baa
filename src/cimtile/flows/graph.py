"""A network as a graph of operations in execution order, and its float forward pass.

A :class:`Graph` names its tensors: one input, one output, and for every :class:`Node` the
tensors it reads and the one it writes. The nodes whose operation runs on tiles
(:class:`~cimtile.flows.graph_ops.Dense` and :class:`~cimtile.flows.graph_ops.Conv`) are the
network's *layers*, numbered in execution order; everything else is digital. The multilayer
perceptron of a ``.npz`` model file is the graph ``Dense, Relu, Dense, ..., Dense``.
"""

from dataclasses import dataclass, field

import numpy as np

from .graph_ops import Dense, Relu

__all__ = ["Node", "Graph", "is_layer", "mlp_graph"]


def is_layer(op):
    """Whether `op` runs on tiles."""
    return hasattr(op, "matrix")


@dataclass(frozen=True)
class Node:
    """One operation: `op` applied to the tensors `inputs`, written to `output`; `name` and
    `kind` (the ONNX node name and operator, or ours) name it in messages."""
    name: str
    kind: str
    op: object
    inputs: tuple
    output: str


@dataclass(frozen=True)
class Graph:
    """Nodes in execution order from the tensor `input` (samples shaped `input_shape`) to
    `output`. `reference`, when given, computes the float outputs independently of these
    nodes (onnxruntime on the imported file); :meth:`reference_forward` falls back to
    :meth:`float_forward`."""
    nodes: tuple
    input: str
    output: str
    input_shape: tuple
    reference: object = field(default=None, compare=False)

    @property
    def layers(self):
        """The tile layers' operations, in order."""
        return [node.op for node in self.nodes if is_layer(node.op)]

    @property
    def layer_nodes(self):
        return [node for node in self.nodes if is_layer(node.op)]

    @property
    def inputs(self):
        """Input features per sample."""
        return int(np.prod(self.input_shape))

    def run(self, x, layer_fn):
        """The graph's output for samples `x` (N, features or N, *input_shape), each layer
        computed by ``layer_fn(l, op, tensor)``."""
        tensors = {self.input: np.asarray(x, np.float64).reshape(len(x), *self.input_shape)}
        l = 0
        for node in self.nodes:
            if is_layer(node.op):
                tensors[node.output] = layer_fn(l, node.op, *(tensors[name]
                                                              for name in node.inputs))
                l += 1
            else:
                tensors[node.output] = self.run_node(node, tensors)
        return tensors[self.output]

    @staticmethod
    def run_node(node, tensors):
        """The float output of `node` on `tensors` (``{name: array}``)."""
        args = [tensors[name] for name in node.inputs]
        return (_float_layer if is_layer(node.op) else _call)(node.op, *args)

    def float_forward(self, x):
        """Float outputs, and the tensor entering every layer."""
        inputs = []

        def layer(l, op, tensor):
            inputs.append(tensor)
            return _float_layer(op, tensor)
        return self.run(x, layer), inputs

    def reference_forward(self, x):
        """Float outputs from `reference` if the graph has one, else :meth:`float_forward`."""
        if self.reference is not None:
            return self.reference(x)
        return self.float_forward(x)[0]

    @property
    def outputs(self):
        """Outputs per sample."""
        return self.float_forward(np.zeros((1, self.inputs)))[0].shape[1]


def _float_layer(op, tensor):
    return op.with_bias(op.assemble(op.patches(tensor) @ op.matrix, tensor))


def _call(op, *args):
    return op(*args)


def mlp_graph(layers):
    """The graph of a multilayer perceptron: the :class:`~cimtile.flows.network.Layer` list
    with ReLU after every layer but the last."""
    nodes = []
    for l, layer in enumerate(layers):
        nodes.append(Node(f"layer{l}", "Dense", Dense(layer.W, layer.b), (f"x{l}",),
                          f"y{l}"))
        if l < len(layers) - 1:
            nodes.append(Node(f"relu{l}", "Relu", Relu(), (f"y{l}",), f"x{l + 1}"))
    return Graph(tuple(nodes), "x0", f"y{len(layers) - 1}", (layers[0].W.shape[0],))
