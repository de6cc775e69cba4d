"""Selu, Celu, Softsign, ThresholdedRelu, Shrink, Mish, Gelu against onnxruntime: defaults and
set attributes, a symbolic batch, and each in an elementwise chain after Add."""
import numpy as np
import pytest
from onnx import helper

from support import assert_matches_onnxruntime, make_model, random_input, tensor_info

CASES = [
    ("Selu", 13, {}), ("Selu", 13, {"alpha": 2.0, "gamma": 3.0}),
    ("Celu", 13, {}), ("Celu", 13, {"alpha": 2.0}),
    ("Softsign", 13, {}),
    ("ThresholdedRelu", 13, {}), ("ThresholdedRelu", 13, {"alpha": 0.5}),
    ("Shrink", 13, {}), ("Shrink", 13, {"lambd": 1.5, "bias": 1.5}),
    ("Mish", 18, {}),
    ("Gelu", 20, {}), ("Gelu", 20, {"approximate": "tanh"}),
]


@pytest.mark.parametrize("op,opset,attrs", CASES, ids=lambda c: str(c))
def test_activation(op, opset, attrs):
    node = helper.make_node(op, ["x"], ["out"], **attrs)
    model = make_model([node], [tensor_info("x", "float32", ["batch", 3, 17])], [tensor_info("out", "float32", None)],
                       opset=opset)
    for batch in (2, 1):
        x = random_input((batch, 3, 17), seed=batch, low=-4, high=4)
        assert_matches_onnxruntime(model, {"x": x}, rtol=1e-4, atol=2e-5)


@pytest.mark.parametrize("op,opset", [("Selu", 13), ("Mish", 18), ("Gelu", 20)])
def test_activation_after_add(op, opset):
    # Fused into one elementwise kernel with the Add.
    nodes = [helper.make_node("Add", ["x", "b"], ["sum"]), helper.make_node(op, ["sum"], ["out"])]
    model = make_model(nodes, [tensor_info("x", "float32", [4, 16])], [tensor_info("out", "float32", None)],
                       [("b", random_input((16,), seed=3))], opset=opset)
    assert_matches_onnxruntime(model, {"x": random_input((4, 16), low=-6, high=6)}, atol=2e-5)


def test_gelu_rejects_an_unknown_approximation():
    from convrnn.compiler.errors import ModelError
    from convrnn.frontend import import_onnx

    node = helper.make_node("Gelu", ["x"], ["out"], approximate="sigmoid")
    model = make_model([node], [tensor_info("x", "float32", [4])], [tensor_info("out", "float32", None)], opset=20)
    with pytest.raises(ModelError, match="approximate"):
        import_onnx(model)
