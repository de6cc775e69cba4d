"""MaxPool, AveragePool, GlobalMaxPool, GlobalAveragePool against onnxruntime."""
import pytest
from onnx import helper

import support


def pool_case(op, x_shape, opset=17, batch_name=None, dtype="float32", **attrs):
    node = helper.make_node(op, ["X"], ["Y"], **attrs)
    inputs = [support.tensor_info("X", dtype, [batch_name or x_shape[0], *x_shape[1:]])]
    model = support.make_model([node], inputs, [support.tensor_info("Y", dtype, None)], opset=opset)
    return model, {"X": support.random_input(x_shape, dtype=dtype, seed=7, low=-50 if dtype != "float32" else -2,
                                             high=50 if dtype != "float32" else 2)}


WINDOWS = {
    "3x3_s2_p1": dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
    "2x2_s2": dict(kernel_shape=[2, 2], strides=[2, 2]),
    "3x2_asym_pads": dict(kernel_shape=[3, 2], pads=[0, 1, 2, 0]),
    "ceil_mode": dict(kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1),
    "ceil_mode_pads": dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1),
    "dilation2": dict(kernel_shape=[2, 3], dilations=[2, 2], pads=[1, 1, 1, 1]),
    "same_upper": dict(kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER"),
    "same_lower": dict(kernel_shape=[2, 2], auto_pad="SAME_LOWER"),
    "valid": dict(kernel_shape=[3, 3], auto_pad="VALID"),
}


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("x_shape", [(1, 3, 11, 12), (2, 8, 8, 35)], ids=str)
def test_max_pool(window, x_shape):
    support.assert_matches_onnxruntime(*pool_case("MaxPool", x_shape, **WINDOWS[window]))


@pytest.mark.parametrize("window", [w for w in WINDOWS if w != "dilation2"])
@pytest.mark.parametrize("count_include_pad", [0, 1])
def test_average_pool(window, count_include_pad):
    model, feeds = pool_case("AveragePool", (2, 3, 11, 12), count_include_pad=count_include_pad, **WINDOWS[window])
    support.assert_matches_onnxruntime(model, feeds)


@pytest.mark.parametrize("count_include_pad", [0, 1])
def test_average_pool_dilations_opset19(count_include_pad):
    model, feeds = pool_case("AveragePool", (1, 3, 10, 9), opset=19, count_include_pad=count_include_pad,
                             **WINDOWS["dilation2"])
    support.assert_matches_onnxruntime(model, feeds)


@pytest.mark.parametrize("op", ["MaxPool", "AveragePool"])
@pytest.mark.parametrize("opset", [11, 21])
def test_pool1d_and_opsets(op, opset):
    model, feeds = pool_case(op, (2, 4, 17), opset=opset, kernel_shape=[3], strides=[2], pads=[1, 1])
    support.assert_matches_onnxruntime(model, feeds)


@pytest.mark.parametrize("op", ["MaxPool", "AveragePool", "GlobalMaxPool", "GlobalAveragePool"])
def test_pool_symbolic_batch(op):
    attrs = {} if op.startswith("Global") else dict(kernel_shape=[2, 2], strides=[2, 2])
    for batch in (1, 3):
        support.assert_matches_onnxruntime(*pool_case(op, (batch, 5, 6, 7), batch_name="N", **attrs))


@pytest.mark.parametrize("op", ["GlobalMaxPool", "GlobalAveragePool"])
@pytest.mark.parametrize("x_shape", [(2, 16, 7, 7), (1, 3, 10), (1, 4, 3, 5)], ids=str)
def test_global_pool(op, x_shape):
    support.assert_matches_onnxruntime(*pool_case(op, x_shape))


def test_max_pool_int8():
    support.assert_matches_onnxruntime(*pool_case("MaxPool", (1, 2, 6, 6), dtype="int8", kernel_shape=[3, 3],
                                                   pads=[1, 1, 1, 1]))


def test_4d_window_is_unsupported():
    from convrnn.compiler.errors import UnsupportedError

    node = helper.make_node("MaxPool", ["X"], ["Y"], kernel_shape=[2, 2, 2, 2])
    model = support.make_model([node], [support.tensor_info("X", "float32", [1, 1, 4, 4, 4, 4])],
                               [support.tensor_info("Y", "float32", None)])
    with pytest.raises(UnsupportedError, match="4-d MaxPool"):
        support.compile_cached(model)


SYMBOLIC_TIME_WINDOWS = {
    "crnn_2x1_s2x1": ([16, 8], dict(kernel_shape=[2, 1], strides=[2, 1])),
    "3x3_pad1": ([3, 7], dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1])),
    "ceil_rows_only": ([3, 7], dict(kernel_shape=[2, 3], strides=[2, 1], pads=[0, 1, 0, 1], ceil_mode=1)),
    "1d_k3_pad1": ([16], dict(kernel_shape=[3], pads=[1, 1])),
    "1d_same_upper": ([4], dict(kernel_shape=[4], auto_pad="SAME_UPPER")),
    # windows that change the time axis's length: the output's is a derived dim
    "2x2_s2": ([3, 6], dict(kernel_shape=[2, 2], strides=[2, 2])),
    "3x3_s2_pad1": ([3, 5], dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])),
    "1d_k2_s2": ([4], dict(kernel_shape=[2], strides=[2])),
    "1d_k3_s3_pads": ([4], dict(kernel_shape=[3], strides=[3], pads=[2, 1])),
}


@pytest.mark.parametrize("window", SYMBOLIC_TIME_WINDOWS)
@pytest.mark.parametrize("op", ["MaxPool", "AveragePool"])
def test_pool_symbolic_time_axis(op, window):
    """A symbolic last dim kept by the window; one compiled artifact serves two lengths."""
    dims, attrs = SYMBOLIC_TIME_WINDOWS[window]
    node = helper.make_node(op, ["X"], ["Y"], **attrs)
    model = support.make_model([node], [support.tensor_info("X", "float32", ["N", *dims, "T"])],
                               [support.tensor_info("Y", "float32", None)])
    for batch, length in ((2, 5), (1, 14)):
        support.assert_matches_onnxruntime(model, {"X": support.random_input((batch, *dims, length), seed=length)})


def test_average_pool_count_include_pad_symbolic_time_axis():
    node = helper.make_node("AveragePool", ["X"], ["Y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=1)
    model = support.make_model([node], [support.tensor_info("X", "float32", [1, 3, 5, "T"])],
                               [support.tensor_info("Y", "float32", None)])
    for length in (4, 9):
        support.assert_matches_onnxruntime(model, {"X": support.random_input((1, 3, 5, length), seed=length)})


def test_pool_halving_the_time_axis_twice_names_the_derived_dims():
    nodes = [helper.make_node("MaxPool", ["X"], ["P"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("AveragePool", ["P"], ["Y"], kernel_shape=[1, 3], strides=[1, 2], pads=[0, 1, 0, 1])]
    model = support.make_model(nodes, [support.tensor_info("X", "float32", [1, 2, 4, "T"])],
                               [support.tensor_info("Y", "float32", None)])
    assert support.compile_cached(model).outputs[0].shape == (1, 2, 2, "(T // 2 + 1) // 2")
    for length in (2, 9, 16):
        support.assert_matches_onnxruntime(model, {"X": support.random_input((1, 2, 4, length), seed=length)})


def test_pool_ceil_mode_stride_over_symbolic_time_axis_is_rejected():
    from convrnn.compiler.errors import ConvrnnError

    model, _ = pool_case("MaxPool", (1, 3, 6, 6), kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1)
    model.graph.input[0].type.tensor_type.shape.dim[3].dim_param = "T"
    with pytest.raises(ConvrnnError, match="ceil_mode with stride 2 over the symbolic dim 'T'"):
        support.compile_cached(model)
