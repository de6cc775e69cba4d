"""Hardmax (per-opset axis semantics, ties), LpNormalization and InstanceNormalization against
onnxruntime."""
import numpy as np
import pytest
from onnx import helper

from support import assert_matches_onnxruntime, make_model, random_input, tensor_info


def _model(op, shape, opset, inits=(), inputs=("x",), **attrs):
    node = helper.make_node(op, list(inputs), ["out"], **attrs)
    return make_model([node], [tensor_info("x", "float32", shape)], [tensor_info("out", "float32", None)],
                      list(inits), opset=opset)


@pytest.mark.parametrize("opset,axis", [(11, None), (11, 0), (11, 2), (13, None), (13, 1), (13, 0)])
def test_hardmax(opset, axis):
    model = _model("Hardmax", ["batch", 4, 5], opset, **({} if axis is None else {"axis": axis}))
    for batch in ((2, 1) if axis != 0 else (2,)):
        assert_matches_onnxruntime(model, {"x": random_input((batch, 4, 5), seed=batch)})


def test_hardmax_marks_only_the_first_of_tied_maxima():
    x = np.array([[3, 1, 3, 3], [0, 2, 2, 1], [5, 5, 5, 5]], np.float32)
    result = assert_matches_onnxruntime(_model("Hardmax", [3, 4], 13), {"x": x})[0]
    assert result.tolist() == [[1, 0, 0, 0], [0, 1, 0, 0], [1, 0, 0, 0]]


@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("axis", [None, 1, 0])
def test_lp_normalization(p, axis):
    model = _model("LpNormalization", [3, 4, 5], 13, p=p, **({} if axis is None else {"axis": axis}))
    assert_matches_onnxruntime(model, {"x": random_input((3, 4, 5))})


def test_lp_normalization_of_a_zero_row_is_zero():
    x = np.array([[3, 4, 0], [0, 0, 0]], np.float32)
    result = assert_matches_onnxruntime(_model("LpNormalization", [2, 3], 13, axis=1), {"x": x})[0]
    assert result[1].tolist() == [0, 0, 0]


@pytest.mark.parametrize("shape", [["batch", 3, 7], ["batch", 3, 5, 6]], ids=str)
def test_instance_normalization(shape):
    rng = np.random.default_rng(0)
    inits = [("scale", rng.standard_normal(3).astype("float32")), ("bias", rng.standard_normal(3).astype("float32"))]
    model = _model("InstanceNormalization", shape, 13, inits, inputs=("x", "scale", "bias"), epsilon=1e-3)
    for batch in (2, 1):
        x = random_input((batch, *shape[1:]), seed=batch, low=-3, high=5)
        assert_matches_onnxruntime(model, {"x": x}, atol=1e-4)
