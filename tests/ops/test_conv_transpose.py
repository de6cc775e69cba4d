"""ConvTranspose against onnxruntime: 1-d and 2-d, strides, pads, dilations, groups,
output_padding, output_shape, auto_pad, bias, symbolic batch, weights as a graph input.

The small cases run the kernel (schedules/cpu/conv_transpose.py) in narrow vector tiles of 4 or
8 columns, or, over a symbolic width, on its scalar edge path only; the WIDE ones in full
vector tiles: widths that hold several and a shifted last one, edges on both sides, every
register-tile shape."""
import numpy as np
import pytest
from onnx import helper

import support


def conv_transpose_case(x_shape, w_shape, **options):
    # ConvTranspose's W is [C_in, C_out / group, *K].
    out_channels = w_shape[1] * options.get("group", 1)
    return support.weighted_node_case("ConvTranspose", x_shape, w_shape, out_channels, seed=3, **options)


CASES = {
    "3x3": ((1, 8, 5, 5), (8, 16, 3, 3), {}),
    "stride2_pads": ((2, 8, 5, 6), (8, 16, 3, 3), dict(strides=[2, 2], pads=[1, 1, 1, 1])),
    "stride2_output_padding": ((1, 4, 4, 4), (4, 16, 3, 3), dict(strides=[2, 2], pads=[1, 1, 1, 1],
                                                                 output_padding=[1, 1])),
    "stride2_k2_upsample": ((1, 16, 4, 5), (16, 8, 2, 2), dict(strides=[2, 2])),
    "dilation2_asym": ((1, 4, 5, 5), (4, 8, 3, 3), dict(dilations=[2, 2], pads=[0, 1, 2, 0])),
    "pads_beyond_reach": ((1, 4, 6, 6), (4, 8, 2, 2), dict(strides=[2, 2], pads=[2, 2, 1, 1])),
    "groups2": ((1, 8, 4, 4), (8, 8, 3, 3), dict(group=2, strides=[2, 2])),
    "depthwise": ((1, 8, 5, 5), (8, 1, 3, 3), dict(group=8, pads=[1, 1, 1, 1])),
    "odd_channels": ((1, 3, 5, 5), (3, 5, 3, 3), dict(strides=[3, 2])),
    "output_shape": ((1, 8, 4, 4), (8, 16, 3, 3), dict(strides=[2, 2], output_shape=[9, 8])),
    "output_shape_beyond_input": ((1, 1, 3, 3), (1, 16, 3, 3), dict(strides=[3, 2], output_shape=[10, 8])),
}


@pytest.mark.parametrize("name", CASES)
def test_conv_transpose2d(name):
    x_shape, w_shape, attrs = CASES[name]
    support.assert_matches_onnxruntime(*conv_transpose_case(x_shape, w_shape, **attrs), atol=1e-4)


@pytest.mark.parametrize("auto_pad", ["SAME_UPPER", "SAME_LOWER", "VALID"])
@pytest.mark.parametrize("kernel", [3, 4])  # odd and even total padding
def test_conv_transpose_auto_pad(auto_pad, kernel):
    model, feeds = conv_transpose_case((1, 4, 5, 5), (4, 16, kernel, kernel), auto_pad=auto_pad, strides=[2, 2])
    support.assert_matches_onnxruntime(model, feeds, atol=1e-4)


@pytest.mark.parametrize("attrs", [dict(strides=[2], pads=[1, 0], output_padding=[1]), dict(dilations=[2]),
                                   dict(group=2, strides=[3])], ids=str)
def test_conv_transpose1d(attrs):
    model, feeds = conv_transpose_case((2, 8, 7), (8, 8, 3), **attrs)
    support.assert_matches_onnxruntime(model, feeds, atol=1e-4)


@pytest.mark.parametrize("batch", [1, 2])
def test_conv_transpose_symbolic_batch(batch):
    model, feeds = conv_transpose_case((batch, 4, 5, 5), (4, 16, 3, 3), batch_name="N", strides=[2, 2])
    support.assert_matches_onnxruntime(model, feeds, atol=1e-4)


@pytest.mark.parametrize("group", [1, 2])
def test_conv_transpose_weight_as_graph_input(group):
    model, feeds = conv_transpose_case((1, 8, 4, 4), (8, 16, 3, 3), weight_input=True, group=group, bias=False,
                                       strides=[2, 2])
    support.assert_matches_onnxruntime(model, feeds, atol=1e-4)


@pytest.mark.parametrize("opset", [11, 21])
def test_conv_transpose_opsets(opset):
    model, feeds = conv_transpose_case((1, 4, 3, 3), (4, 8, 2, 3), opset=opset, strides=[2, 1])
    support.assert_matches_onnxruntime(model, feeds, atol=1e-4)


@pytest.mark.parametrize("attrs", [{"strides": [2, 2]}, {"strides": [2, 1], "pads": [1, 0, 1, 0], "output_padding": [1, 0]},
                                   {"strides": [1, 1], "pads": [1, 1, 1, 1]}], ids=str)
def test_conv_transpose_over_symbolic_height_and_width(attrs):
    # a DBNet-style upsampling head whose input declares every axis symbolic

    rng = np.random.default_rng(4)
    weight = (rng.standard_normal((4, 3, 3, 3)) * 0.3).astype(np.float32)
    node = helper.make_node("ConvTranspose", ["X", "W"], ["Y"], kernel_shape=[3, 3], **attrs)
    model = support.make_model([node], [support.tensor_info("X", "float32", ["N", 4, "H", "W"])],
                               [support.tensor_info("Y", "float32", None)], [("W", weight)])
    for seed, shape in enumerate([(1, 4, 5, 6), (2, 4, 3, 9)]):
        support.assert_matches_onnxruntime(model, {"X": support.random_input(shape, seed=seed)})
    assert all(isinstance(d, str) for d in support.compile_cached(model).outputs[0].shape[2:])


# Widths of 60..150 input columns: several vector tiles of every register-tile shape, and a
# last tile shifted back over its neighbour where the interior is not a multiple of the tile.
WIDE = {
    "k2s2_24_to_24": ((1, 24, 3, 80), (24, 24, 2, 2), dict(strides=[2, 2])),
    "k2s2_24_to_1": ((1, 24, 3, 150), (24, 1, 2, 2), dict(strides=[2, 2])),
    "k3s2_pads_output_padding": ((1, 8, 4, 61), (8, 16, 3, 3), dict(strides=[2, 2], pads=[1, 1, 1, 1],
                                                                    output_padding=[1, 1])),
    "k4s2_pads": ((2, 8, 3, 67), (8, 12, 4, 4), dict(strides=[2, 2], pads=[1, 1, 1, 1])),
    "k3s1": ((1, 4, 3, 70), (4, 5, 3, 3), dict(pads=[1, 1, 1, 1])),
    "k5s3_asym": ((1, 4, 3, 66), (4, 6, 5, 5), dict(strides=[3, 3], pads=[0, 2, 1, 0], output_padding=[2, 1])),
    "dilation2": ((1, 4, 4, 63), (4, 8, 3, 3), dict(strides=[2, 2], pads=[0, 1, 2, 0], dilations=[2, 2])),
    "negative_pads": ((1, 4, 3, 64), (4, 8, 3, 3), dict(strides=[2, 2], output_shape=[8, 130])),
    "pads_beyond_reach": ((1, 4, 4, 64), (4, 8, 2, 2), dict(strides=[2, 2], pads=[2, 2, 1, 1])),
    "groups2": ((1, 8, 3, 65), (8, 8, 3, 3), dict(group=2, strides=[2, 2], pads=[1, 1, 1, 1])),
    "depthwise": ((1, 8, 3, 70), (8, 1, 3, 3), dict(group=8, strides=[1, 2], pads=[1, 1, 1, 1])),
    "strides_3x2_k3x2": ((1, 4, 3, 66), (4, 8, 3, 2), dict(strides=[2, 3], pads=[1, 0, 0, 1],
                                                           output_padding=[1, 0])),
}


@pytest.mark.parametrize("name", WIDE)
def test_conv_transpose_wide(name):
    x_shape, w_shape, attrs = WIDE[name]
    support.assert_matches_onnxruntime(*conv_transpose_case(x_shape, w_shape, **attrs), atol=1e-4)


@pytest.mark.parametrize("attrs", [dict(strides=[2], pads=[1, 0], output_padding=[1]), dict(strides=[2]),
                                   dict(group=2, strides=[3], dilations=[2])], ids=str)
def test_conv_transpose1d_wide(attrs):
    model, feeds = conv_transpose_case((2, 8, 90), (8, 8, 3), **attrs)
    support.assert_matches_onnxruntime(model, feeds, atol=1e-4)


@pytest.mark.parametrize("out_channels", [1, 24])
def test_conv_transpose_upsampling_over_symbolic_dims(out_channels):
    # PP-OCRv3's detector head: 2x2 stride-2 over an input with every axis symbolic, at widths
    # that are and are not a multiple of the vector tile (and narrower than one tile)
    rng = np.random.default_rng(5)
    weight = (rng.standard_normal((24, out_channels, 2, 2)) * 0.3).astype(np.float32)
    bias = rng.standard_normal(out_channels).astype(np.float32)
    node = helper.make_node("ConvTranspose", ["X", "W", "B"], ["Y"], kernel_shape=[2, 2], strides=[2, 2])
    model = support.make_model([node], [support.tensor_info("X", "float32", ["N", 24, "H", "W"])],
                               [support.tensor_info("Y", "float32", None)], [("W", weight), ("B", bias)])
    for seed, shape in enumerate([(1, 24, 5, 80), (2, 24, 3, 77), (1, 24, 4, 9)]):
        support.assert_matches_onnxruntime(model, {"X": support.random_input(shape, seed=seed)}, atol=1e-4)


@pytest.mark.parametrize("name", CASES)
def test_the_target_neutral_compute_agrees_with_onnxruntime(name, monkeypatch, tmp_path):
    """The op's TE compute (what the GPU schedules take), run here through the CPU's generic
    schedule in place of the CPU's own TIR kernel."""
    from convrnn.compiler import compile_model
    from convrnn.runtime import load
    from convrnn.schedules import implementations

    generic = implementations.table("llvm")[implementations.GENERIC]  # (discovers the table first)
    monkeypatch.setitem(implementations._TABLES["llvm"], "ConvTranspose", generic)
    x_shape, w_shape, attrs = CASES[name]
    model, feeds = conv_transpose_case(x_shape, w_shape, **attrs)
    got = load(compile_model(model, tmp_path / "artifact")).run(**feeds)
    np.testing.assert_allclose(got[0], support.run_onnxruntime(model, feeds)[0], rtol=1e-4, atol=1e-4)
