"""Softmax / LogSoftmax (per-opset axis semantics) and ReduceSum / ReduceMean / ReduceMax
(axes as attribute or input per opset, keepdims, noop_with_empty_axes) against onnxruntime."""
import numpy as np
import pytest
from onnx import helper

from support import assert_matches_onnxruntime, make_model, random_input, tensor_info


def _model(node, shape, opset, initializers=()):
    return make_model([node], [tensor_info("x", "float32", shape)], [tensor_info("out", "float32", None)],
                      [(n, np.asarray(v, np.int64)) for n, v in initializers], opset=opset)


def _check(model, shapes, **tolerances):
    for seed, shape in enumerate(shapes):
        assert_matches_onnxruntime(model, {"x": random_input(shape, seed=seed, low=-5, high=5)}, **tolerances)


@pytest.mark.parametrize("op", ["Softmax", "LogSoftmax"])
@pytest.mark.parametrize("opset,axis", [(11, None), (11, 1), (11, -1), (11, 0), (13, None), (13, 1), (13, 0)])
def test_softmax(op, opset, axis):
    node = helper.make_node(op, ["x"], ["out"], **({} if axis is None else {"axis": axis}))
    model = _model(node, ["batch", 4, 6], opset)
    _check(model, [(2, 4, 6), (1, 4, 6)] if axis != 0 else [(2, 4, 6)])


def test_softmax_is_numerically_stable():
    node = helper.make_node("Softmax", ["x"], ["out"])
    model = _model(node, [2, 3], 13)
    x = np.array([[1000.0, 1001.0, 999.0], [-1000.0, -1001.0, -1002.0]], np.float32)
    assert_matches_onnxruntime(model, {"x": x})


def test_softmax_large_rows():
    node = helper.make_node("Softmax", ["x"], ["out"], axis=1)
    _check(_model(node, [1, 64, 56, 56], 13), [(1, 64, 56, 56)], atol=1e-6)


REDUCTIONS = [([1], 1), ([1], 0), ([0, 2], 1), ([-1], 0), (None, 1), (None, 0), ([1, 2, 3], 0)]


@pytest.mark.parametrize("op", ["ReduceSum", "ReduceMean", "ReduceMax"])
@pytest.mark.parametrize("opset", [11, 13, 18])
@pytest.mark.parametrize("axes,keepdims", REDUCTIONS, ids=str)
def test_reduce(op, opset, axes, keepdims):
    axes_as_input = opset >= (13 if op == "ReduceSum" else 18)
    if axes is None:
        node = helper.make_node(op, ["x"], ["out"], keepdims=keepdims)
        inits = []
    elif axes_as_input:
        node, inits = helper.make_node(op, ["x", "axes"], ["out"], keepdims=keepdims), [("axes", axes)]
    else:
        node, inits = helper.make_node(op, ["x"], ["out"], keepdims=keepdims, axes=axes), []
    _check(_model(node, [2, 3, 4, 5], opset, inits), [(2, 3, 4, 5)])


@pytest.mark.parametrize("op", ["ReduceSum", "ReduceMean", "ReduceMax"])
def test_reduce_noop_with_empty_axes(op):
    node = helper.make_node(op, ["x"], ["out"], noop_with_empty_axes=1)
    _check(_model(node, [3, 4], 18), [(3, 4)])


@pytest.mark.parametrize("op", ["ReduceSum", "ReduceMean", "ReduceMax"])
def test_reduce_over_symbolic_batch(op):
    # Mean over time of a [batch, T, C] sequence; and over the batch itself.
    for axes in ([1], [0]):
        node = helper.make_node(op, ["x", "axes"], ["out"], keepdims=0)
        _check(_model(node, ["batch", "T", 8], 18, [("axes", axes)]), [(2, 5, 8), (3, 1, 8)])


def test_global_mean_of_large_feature_map():
    node = helper.make_node("ReduceMean", ["x", "axes"], ["out"], keepdims=1)
    _check(_model(node, [1, 64, 56, 56], 18, [("axes", [2, 3])]), [(1, 64, 56, 56)])


def test_reduce_max_of_bools():
    node = helper.make_node("ReduceMax", ["x", "axes"], ["out"], keepdims=1)
    model = make_model([node], [tensor_info("x", "bool", [4, 3])], [tensor_info("out", "bool", None)],
                       [("axes", np.array([1], np.int64))], opset=20)
    x = np.array([[1, 0, 0], [0, 0, 1], [1, 1, 1], [0, 0, 0]], bool)
    assert_matches_onnxruntime(model, {"x": x})
