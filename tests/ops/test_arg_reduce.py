"""ArgMax / ArgMin against onnxruntime: every axis (negative too), keepdims, select_last_index
(with ties, where first and last differ), a symbolic batch, int and float inputs."""
import numpy as np
import pytest
from onnx import helper

from support import assert_matches_onnxruntime, make_model, random_input, tensor_info


def _model(op, dtype="float32", shape=("n", 4, 5), opset=13, **attrs):
    node = helper.make_node(op, ["x"], ["y"], **attrs)
    return make_model([node], [tensor_info("x", dtype, list(shape))], [tensor_info("y", "int64", None)], opset=opset)


@pytest.mark.parametrize("op", ["ArgMax", "ArgMin"])
@pytest.mark.parametrize("axis", [0, 1, 2, -1, -3])
@pytest.mark.parametrize("keepdims", [0, 1])
@pytest.mark.parametrize("last", [0, 1])
def test_arg_reduce_with_ties(op, axis, keepdims, last):
    model = _model(op, axis=axis, keepdims=keepdims, select_last_index=last)
    for seed, batch in enumerate((1, 3)):
        # Few distinct values: many ties, where the first and the last index differ.
        x = random_input((batch, 4, 5), "int64", seed=seed, low=0, high=2).astype(np.float32)
        assert_matches_onnxruntime(model, {"x": x})


@pytest.mark.parametrize("op", ["ArgMax", "ArgMin"])
def test_defaults_and_opset_11(op):
    model = _model(op, opset=11)
    assert_matches_onnxruntime(model, {"x": random_input((2, 4, 5), seed=3)})


@pytest.mark.parametrize("dtype", ["int32", "int64", "float64", "uint8"])
def test_other_dtypes(dtype):
    model = _model("ArgMax", dtype, axis=1, keepdims=0)
    x = random_input((3, 4, 5), dtype, seed=4, low=0 if dtype == "uint8" else -100, high=100)
    assert_matches_onnxruntime(model, {"x": x})


def test_extreme_values_win():
    # The reduction's identity is the dtype's minimum: an input holding it (or -inf) must still win.
    x = np.array([[-np.inf, -np.inf, -np.inf], [np.finfo(np.float32).min, -np.inf, 3.0]], np.float32)
    model = _model("ArgMax", shape=(2, 3), axis=1, keepdims=0)
    got = assert_matches_onnxruntime(model, {"x": x})[0]
    np.testing.assert_array_equal(got, [0, 2])
