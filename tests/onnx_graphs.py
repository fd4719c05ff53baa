"""Small ONNX models written with ``onnx.helper``, for the import tests (no exporter needed)."""

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

__all__ = ["OPSET", "model", "save", "tensor", "int_tensor", "single_op_model"]

OPSET = 17


def tensor(name, array):
    return numpy_helper.from_array(np.asarray(array, np.float32), name)


def int_tensor(name, array):
    return numpy_helper.from_array(np.asarray(array, np.int64), name)


def model(nodes, input_shape, output_shape, initializers=(), *, opset=OPSET,
          input_name="x", output_name="y", input_type=TensorProto.FLOAT):
    """A model from `nodes` reading `input_name` (``["batch", *input_shape]``) and writing
    `output_name`."""
    graph = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info(input_name, input_type, ["batch", *input_shape])],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT,
                                       ["batch", *output_shape])],
        list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def save(m, path):
    onnx.save(m, str(path))
    return path


def single_op_model(op, inputs, attrs, initializers, input_shape=(2, 4, 4)):
    """``x -> op -> y`` with the node named ``bad``; `inputs` after x name initializers."""
    node = helper.make_node(op, ["x", *inputs], ["y"], name="bad", **attrs)
    return model([node], input_shape, input_shape, initializers)
