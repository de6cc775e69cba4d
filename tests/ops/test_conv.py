"""Conv against onnxruntime: 1-d and 2-d, strides, pads, dilations, groups, auto_pad, bias,
symbolic batch, weights as a graph input, and widths that the register tiles do not divide."""
import numpy as np
import pytest
from onnx import helper

import support


def conv_case(x_shape, w_shape, **options):
    return support.weighted_node_case("Conv", x_shape, w_shape, w_shape[0], seed=1, **options)


CASES_2D = {
    "3x3_pad1": ((1, 16, 9, 9), (32, 16, 3, 3), dict(pads=[1, 1, 1, 1])),
    "3x3_stride2_asym_pads": ((2, 8, 11, 10), (16, 8, 3, 3), dict(strides=[2, 2], pads=[1, 0, 2, 1])),
    "dilation2": ((1, 4, 12, 12), (16, 4, 3, 3), dict(dilations=[2, 2], pads=[2, 2, 2, 2])),
    "1x1": ((1, 32, 7, 7), (64, 32, 1, 1), {}),
    "1x1_stride2": ((1, 16, 8, 8), (32, 16, 1, 1), dict(strides=[2, 2])),
    "stem_7x7_s2": ((1, 3, 23, 23), (16, 3, 7, 7), dict(strides=[2, 2], pads=[3, 3, 3, 3])),
    "groups2": ((1, 16, 8, 8), (32, 8, 3, 3), dict(group=2, pads=[1, 1, 1, 1])),
    "groups4_small_per_group": ((1, 8, 6, 6), (8, 2, 3, 3), dict(group=4)),
    "depthwise": ((1, 16, 10, 10), (16, 1, 3, 3), dict(group=16, pads=[1, 1, 1, 1])),
    "depthwise_s2_multiplier2": ((1, 8, 9, 9), (16, 1, 3, 3), dict(group=8, strides=[2, 2], pads=[1, 1, 1, 1])),
    "odd_out_channels": ((1, 5, 8, 8), (3, 5, 3, 3), dict(pads=[1, 1, 1, 1])),
    "prime_width_53": ((1, 4, 3, 53), (16, 4, 1, 3), dict(pads=[0, 1, 0, 1])),
    "wide_rect_kernel": ((1, 4, 6, 40), (8, 4, 2, 5), dict(strides=[1, 3])),
}


@pytest.mark.parametrize("name", CASES_2D)
def test_conv2d(name):
    x_shape, w_shape, attrs = CASES_2D[name]
    support.assert_matches_onnxruntime(*conv_case(x_shape, w_shape, **attrs), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("auto_pad", ["SAME_UPPER", "SAME_LOWER", "VALID"])
@pytest.mark.parametrize("stride", [1, 2])
def test_conv2d_auto_pad(auto_pad, stride):
    model, feeds = conv_case((1, 4, 8, 7), (16, 4, 4, 3), auto_pad=auto_pad, strides=[stride, stride])
    support.assert_matches_onnxruntime(model, feeds, atol=1e-4)


@pytest.mark.parametrize("attrs", [dict(pads=[1, 2]), dict(strides=[2], dilations=[2], pads=[2, 2]),
                                   dict(auto_pad="SAME_UPPER"), dict(group=4)], ids=str)
def test_conv1d(attrs):
    model, feeds = conv_case((2, 8, 19), (16, 8 // attrs.get("group", 1), 3), **attrs)
    support.assert_matches_onnxruntime(model, feeds, atol=1e-4)


@pytest.mark.parametrize("batch", [1, 3])
def test_conv_symbolic_batch(batch):
    model, feeds = conv_case((batch, 8, 6, 6), (16, 8, 3, 3), batch_name="N", pads=[1, 1, 1, 1])
    support.assert_matches_onnxruntime(model, feeds, atol=1e-4)
    model, feeds = conv_case((batch, 8, 6, 6), (8, 1, 3, 3), batch_name="N", group=8, bias=False)
    support.assert_matches_onnxruntime(model, feeds, atol=1e-4)


@pytest.mark.parametrize("group", [1, 2])
def test_conv_weight_as_graph_input(group):
    model, feeds = conv_case((1, 8, 5, 5), (16, 8 // group, 3, 3), weight_input=True, group=group, bias=False)
    support.assert_matches_onnxruntime(model, feeds, atol=1e-4)


@pytest.mark.parametrize("opset", [11, 21])
def test_conv_opsets_and_inferred_kernel_shape(opset):
    model, feeds = conv_case((1, 4, 6, 6), (16, 4, 3, 2), bias=False, opset=opset, strides=[1, 2])
    support.assert_matches_onnxruntime(model, feeds, atol=1e-4)


def test_conv_rejects_inconsistent_weight():
    from convrnn.compiler.errors import ModelError

    model, _ = conv_case((1, 4, 6, 6), (8, 3, 3, 3))
    with pytest.raises(ModelError, match="Conv"):
        support.compile_cached(model)


@pytest.mark.parametrize("attrs", [{"pads": [1, 1, 1, 1]}, {"strides": [2, 2], "pads": [1, 0, 1, 0]},
                                   {"dilations": [2, 1]}], ids=str)
def test_conv_over_symbolic_height_and_width(attrs):
    # every axis symbolic, as real models declare them: one artifact for every image size
    model, _ = conv_case((1, 4, 6, 6), (8, 4, 3, 3), **attrs)
    for axis, name in ((0, "N"), (1, "C"), (2, "H"), (3, "W")):
        model.graph.input[0].type.tensor_type.shape.dim[axis].dim_param = name
    for seed, shape in enumerate([(1, 4, 9, 11), (2, 4, 16, 7), (1, 4, 5, 5)]):
        support.assert_matches_onnxruntime(model, {"X": support.random_input(shape, seed=seed)})
    compiled = support.compile_cached(model)
    assert compiled.inputs[0].shape[1] == 4  # the weight fixes the channels
    assert all(isinstance(d, str) for d in compiled.outputs[0].shape[2:])


def symbolic_time_conv(x_names, w_shape, relu=True, **attrs):
    """Conv (+ bias, + Relu that fuse_epilogue fuses) over an input whose last dim is a name."""
    rng = np.random.default_rng(5)
    inits = [("W", (rng.standard_normal(w_shape) * 0.3).astype("float32")),
             ("B", rng.standard_normal(w_shape[0]).astype("float32"))]
    nodes = [helper.make_node("Conv", ["X", "W", "B"], ["C" if relu else "Y"], **attrs)]
    if relu:
        nodes.append(helper.make_node("Relu", ["C"], ["Y"]))
    return support.make_model(nodes, [support.tensor_info("X", "float32", x_names)],
                              [support.tensor_info("Y", "float32", None)], inits)


SYMBOLIC_TIME_CASES = {
    # name: (input dims, weight shape, attrs, the concrete non-time dims)
    "conv1d_k3_pad1": (["N", 64, "seq"], (32, 64, 3), dict(pads=[1, 1])),
    "conv1d_k4_same_upper": (["N", 8, "seq"], (16, 8, 4), dict(auto_pad="SAME_UPPER")),
    "conv1d_k3_dilation2_pad2": (["N", 8, "seq"], (16, 8, 3), dict(dilations=[2], pads=[2, 2])),
    "conv1d_odd_channels": (["N", 5, "seq"], (3, 5, 3), dict(pads=[1, 1])),
    "conv2d_3x3_pad1_crnn": (["N", 1, 8, "frames"], (16, 1, 3, 3), dict(pads=[1, 1, 1, 1])),
    "conv2d_stride2_rows_only": (["N", 8, 9, "frames"], (16, 8, 3, 3), dict(pads=[1, 1, 1, 1], strides=[2, 1])),
    "conv2d_depthwise": (["N", 8, 6, "frames"], (8, 1, 3, 3), dict(pads=[1, 1, 1, 1], group=8)),
    # swift_f0's: static frequency rows, a symbolic time axis, windows tall and dilated
    "conv2d_7x3_static_rows": (["N", 12, 16, "frames"], (16, 12, 7, 3), dict(pads=[3, 1, 3, 1])),
    "conv2d_7x1_dilated_static_rows": (["N", 16, 32, "frames"], (16, 16, 7, 1),
                                       dict(dilations=[5, 1], pads=[15, 0, 15, 0])),
    # windows that change the time axis's length: the output's is a derived dim (seq - 2, ...)
    "conv1d_k3_no_pads": (["N", 4, "seq"], (8, 4, 3), dict(pads=[0, 0])),
    "conv1d_k3_stride2_pad1": (["N", 4, "seq"], (8, 4, 3), dict(pads=[1, 1], strides=[2])),
    "conv2d_3x3_stride2_pad1": (["N", 4, 6, "frames"], (8, 4, 3, 3), dict(pads=[1, 1, 1, 1], strides=[2, 2])),
    "conv2d_time_pads_begin_only": (["N", 4, 6, "seq"], (8, 4, 3, 3), dict(pads=[2, 1, 0, 0])),
}


@pytest.mark.parametrize("name", SYMBOLIC_TIME_CASES)
def test_conv_symbolic_time_axis(name):
    """One compiled artifact (compile_cached keys on the model) serves two lengths."""
    names, w_shape, attrs = SYMBOLIC_TIME_CASES[name]
    model = symbolic_time_conv(names, w_shape, **attrs)
    for batch, length in ((2, 7), (1, 19)):
        shape = [batch, *names[1:-1], length]
        support.assert_matches_onnxruntime(model, {"X": support.random_input(shape, seed=length)},
                                           rtol=1e-4, atol=1e-4)


def test_a_symbolic_width_over_static_rows_is_computed_in_width_tiles_padded_in_parallel_rows():
    """A tile's positions are neighbours in a row (tiles of rows alias in L1 when the padded
    width makes rows 4 KiB apart), and the padding pass is parallel over the static rows too."""
    from convrnn.compiler.lower import lower_node
    from convrnn.compiler.passes import run_pipeline
    from convrnn.compiler.target import parse_target
    from convrnn.compiler import tvm_adapter
    from convrnn.frontend import import_onnx
    from convrnn.schedules.cpu.conv_blocked import padded_width_tile

    rng = np.random.default_rng(6)
    inits = [("W1", (rng.standard_normal((16, 12, 7, 3)) * 0.1).astype("float32")),
             ("W2", (rng.standard_normal((16, 16, 7, 3)) * 0.1).astype("float32"))]
    nodes = [helper.make_node("Conv", ["X", "W1"], ["A"], pads=[3, 1, 3, 1]),
             helper.make_node("Relu", ["A"], ["B"]),
             helper.make_node("Conv", ["B", "W2"], ["Y"], pads=[3, 1, 3, 1], name="second")]
    model = support.make_model(nodes, [support.tensor_info("X", "float32", ["N", 12, 16, "frames"])],
                               [support.tensor_info("Y", "float32", None)], inits, name="static_rows_chain")
    for length in (14, 62):
        support.assert_matches_onnxruntime(model, {"X": support.random_input((1, 12, 16, length), seed=length)})
    graph = run_pipeline(import_onnx(model))
    (node,) = [n for n in graph.nodes if n.name == "second"]
    assert node.op == "ConvBlocked" and node.attrs["in_block"]  # a chain runs blocked
    assert padded_width_tile(node.attrs, 1, 16, None, 2) > 1
    script = tvm_adapter.script(lower_node(node, parse_target("cpu")))
    assert "crop" in script or "T.where" in script  # the padded width's last tile is guarded
    assert "n_c_i0_fused in T.parallel" in script  # images, channel blocks and rows


def test_conv_symbolic_time_axis_too_short_for_the_window():
    from convrnn.runtime import InputError

    model = symbolic_time_conv(["N", 4, "seq"], (8, 4, 3), relu=False, pads=[0, 0])
    compiled = support.compile_cached(model)
    assert compiled.outputs[0].shape == ("N", 8, "seq - 2")
    with pytest.raises(InputError, match=r"seq=2 is too short for this model: .*seq - 2 would be 0"):
        compiled.run(support.random_input((1, 4, 2), seed=0))


def test_small_cnn_block_with_symbolic_batch():
    """Conv -> BatchNormalization -> Relu -> MaxPool -> Conv (depthwise) -> GlobalAveragePool."""
    rng = np.random.default_rng(12)
    channels = 16
    inits = [("W1", (rng.standard_normal((channels, 3, 3, 3)) * 0.3).astype("float32")),
             ("scale", rng.uniform(0.5, 2, channels).astype("float32")),
             ("bias", rng.standard_normal(channels).astype("float32")),
             ("mean", rng.standard_normal(channels).astype("float32")),
             ("var", rng.uniform(0.1, 2, channels).astype("float32")),
             ("W2", (rng.standard_normal((channels, 1, 3, 3)) * 0.3).astype("float32"))]
    nodes = [helper.make_node("Conv", ["X", "W1"], ["c1"], pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c1", "scale", "bias", "mean", "var"], ["bn"]),
             helper.make_node("Relu", ["bn"], ["r"]),
             helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Conv", ["p", "W2"], ["c2"], group=channels, pads=[1, 1, 1, 1]),
             helper.make_node("GlobalAveragePool", ["c2"], ["Y"])]
    model = support.make_model(nodes, [support.tensor_info("X", "float32", ["N", 3, 12, 12])],
                               [support.tensor_info("Y", "float32", None)], inits)
    for batch in (1, 2):
        support.assert_matches_onnxruntime(model, {"X": support.random_input((batch, 3, 12, 12), seed=batch)},
                                           atol=1e-4)
