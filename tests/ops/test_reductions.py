"""ReduceMin, ReduceProd, ReduceL1, ReduceL2, ReduceLogSum, ReduceLogSumExp, ReduceSumSquare
against onnxruntime: axes as attribute (before 18) or input (18), keepdims, noop_with_empty_axes,
symbolic dims, scalars, integer inputs, and LogSumExp's range."""
import numpy as np
import pytest
from onnx import helper

from support import assert_matches_onnxruntime, make_model, random_input, tensor_info

OPS = ["ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"]


def _model(op, shape, opset, axes=None, dtype="float32", **attrs):
    if axes is not None and opset >= 18:
        node, inits = helper.make_node(op, ["x", "axes"], ["out"], **attrs), [("axes", np.asarray(axes, np.int64))]
    else:
        node, inits = helper.make_node(op, ["x"], ["out"], **attrs, **({} if axes is None else {"axes": axes})), []
    return make_model([node], [tensor_info("x", dtype, shape)], [tensor_info("out", dtype, None)], inits, opset=opset)


def _input(op, shape, seed=0, dtype="float32"):
    # LogSum needs a positive sum; Prod stays well inside float32 over 1.5-wide factors.
    low, high = (0.1, 2.0) if op == "ReduceLogSum" else (-1.5, 1.5)
    return random_input(shape, dtype=dtype, seed=seed, low=low, high=high)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("opset,axes,keepdims", [(13, [1], 1), (13, [0, 2], 0), (18, [-1], 0), (18, None, 1),
                                                 (13, None, 0)], ids=str)
def test_reduce(op, opset, axes, keepdims):
    model = _model(op, ["batch", 3, 4], opset, axes, keepdims=keepdims)
    for batch in (2, 1):
        assert_matches_onnxruntime(model, {"x": _input(op, (batch, 3, 4), seed=batch)})


@pytest.mark.parametrize("op", OPS)
def test_noop_with_empty_axes_returns_the_input(op):
    model = _model(op, [3, 4], 18, noop_with_empty_axes=1)
    assert_matches_onnxruntime(model, {"x": _input(op, (3, 4))})


@pytest.mark.parametrize("op", ["ReduceL2", "ReduceSumSquare", "ReduceLogSumExp"])
def test_scalar_input(op):
    # A rank-0 input reduces over its one element: L2 is |x|, SumSquare x*x (not x itself).
    model = _model(op, [], 18, keepdims=0)
    assert_matches_onnxruntime(model, {"x": np.array(-1.5, np.float32)})


@pytest.mark.parametrize("op", ["ReduceMin", "ReduceProd", "ReduceL1", "ReduceSumSquare"])
def test_int32_input(op):
    model = _model(op, [3, 4], 18, [1], dtype="int32", keepdims=0)
    assert_matches_onnxruntime(model, {"x": random_input((3, 4), dtype="int32", low=-3, high=3)})


def test_reduce_min_of_bools_is_all():
    node = helper.make_node("ReduceMin", ["x", "axes"], ["out"], keepdims=0)
    model = make_model([node], [tensor_info("x", "bool", [4, 3])], [tensor_info("out", "bool", None)],
                       [("axes", np.array([1], np.int64))], opset=20)
    x = np.array([[1, 0, 0], [1, 1, 1], [0, 0, 0], [1, 1, 0]], bool)
    assert_matches_onnxruntime(model, {"x": x})


def test_log_sum_exp_does_not_overflow():
    model = _model("ReduceLogSumExp", [2, 3], 18, [1], keepdims=0)
    x = np.array([[1000.0, 1001.0, 999.0], [-1000.0, -1001.0, -1002.0]], np.float32)
    assert_matches_onnxruntime(model, {"x": x})
