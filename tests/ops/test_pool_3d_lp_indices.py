"""3-d MaxPool / AveragePool, LpPool and GlobalLpPool, and MaxPool's Indices output
(storage_order 0 and 1), against onnxruntime."""
import numpy as np
import pytest
from onnx import helper

import support


def pool_case(op, x_shape, opset=17, batch_name=None, **attrs):
    node = helper.make_node(op, ["X"], ["Y"], **attrs)
    inputs = [support.tensor_info("X", "float32", [batch_name or x_shape[0], *x_shape[1:]])]
    model = support.make_model([node], inputs, [support.tensor_info("Y", "float32", None)], opset=opset)
    return model, {"X": support.random_input(x_shape, seed=7)}

WINDOWS_3D = {
    "2x2x2_s2": dict(kernel_shape=[2, 2, 2], strides=[2, 2, 2]),
    "3x3x3_p1": dict(kernel_shape=[3, 3, 3], pads=[1, 1, 1, 1, 1, 1]),
    "dilations_ceil": dict(kernel_shape=[2, 2, 2], strides=[2, 1, 2], dilations=[2, 2, 1], ceil_mode=1),
}


@pytest.mark.parametrize("window", WINDOWS_3D)
def test_max_pool_3d(window):
    model, feeds = pool_case("MaxPool", (2, 3, 7, 6, 9), opset=19, batch_name="N", **WINDOWS_3D[window])
    support.assert_matches_onnxruntime(model, feeds)


@pytest.mark.parametrize("window", WINDOWS_3D)
@pytest.mark.parametrize("count_include_pad", [0, 1])
def test_average_pool_3d(window, count_include_pad):
    model, feeds = pool_case("AveragePool", (1, 2, 7, 6, 9), opset=19, count_include_pad=count_include_pad,
                             **WINDOWS_3D[window])
    support.assert_matches_onnxruntime(model, feeds)


@pytest.mark.parametrize("p", [1, 2, 3])
@pytest.mark.parametrize("window", [dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
                                    dict(kernel_shape=[2], strides=[1])], ids=["2d", "1d"])
def test_lp_pool(p, window):
    shape = (2, 3, 9, 8) if len(window["kernel_shape"]) == 2 else (2, 3, 9)
    model, feeds = pool_case("LpPool", shape, opset=18, p=p, **window)
    support.assert_matches_onnxruntime(model, feeds, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("p", [1, 2, 3])
def test_global_lp_pool(p):
    model, feeds = pool_case("GlobalLpPool", (2, 3, 5, 4), batch_name="N", p=p)
    support.assert_matches_onnxruntime(model, feeds, rtol=1e-4, atol=1e-4)


def _with_indices(x_shape, storage_order, x=None, **window):
    node = helper.make_node("MaxPool", ["X"], ["Y", "I"], storage_order=storage_order, **window)
    model = support.make_model([node], [support.tensor_info("X", "float32", ["N", *x_shape[1:]])],
                               [support.tensor_info("Y", "float32", None), support.tensor_info("I", "int64", None)],
                               opset=12)
    return model, {"X": support.random_input(x_shape, seed=3) if x is None else x}


@pytest.mark.parametrize("storage_order", [0, 1])
@pytest.mark.parametrize("window", [dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
                                    dict(kernel_shape=[2, 3], dilations=[2, 1], ceil_mode=1, strides=[2, 2])],
                         ids=["pads", "dilated_ceil"])
def test_max_pool_indices(storage_order, window):
    model, feeds = _with_indices((2, 3, 7, 8), storage_order, **window)
    support.assert_matches_onnxruntime(model, feeds)


def test_max_pool_indices_name_the_first_maximum_on_ties():
    x = np.zeros((1, 1, 4, 4), np.float32)
    x[0, 0, 1, 2] = x[0, 0, 2, 1] = 5.0
    model, feeds = _with_indices(x.shape, 1, x=x, kernel_shape=[3, 3])
    values, indices = support.assert_matches_onnxruntime(model, feeds)
    # Every window holds both: (1, 2) comes first row by row; column-major it is 1 + 2 * 4
    # (the smaller column-major offset, 6, is (2, 1)'s).
    assert (values == 5).all() and indices.ravel().tolist() == [9, 9, 9, 9]


def test_max_pool_indices_3d():
    model, feeds = _with_indices((1, 2, 4, 5, 6), 0, kernel_shape=[2, 2, 2], strides=[2, 2, 2])
    support.assert_matches_onnxruntime(model, feeds)
