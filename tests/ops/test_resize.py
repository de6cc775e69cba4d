"""Resize (opset 11+) against onnxruntime: nearest and linear on 4-D NCHW and 3-D inputs,
every coordinate transformation and nearest rounding mode, from scales or sizes."""
import numpy as np
import pytest
from onnx import helper

from convrnn.compiler.errors import UnsupportedError
import support
from support import assert_matches_onnxruntime, make_model, random_input, run_convrnn, tensor_info

COORDINATE_MODES = ["half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel"]
NEAREST_MODES = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"]


def _model(shape, opset=13, scales=None, sizes=None, **attrs):
    inputs = ["x", "", "scales" if scales is not None else "", "sizes" if sizes is not None else ""]
    inits = []
    if opset < 13:  # roi and scales are required inputs before opset 13
        inputs[1:3] = ["roi", "scales"]
        inits = [("roi", np.zeros(0, np.float32)), ("scales", np.asarray(scales if scales else [], np.float32))]
    elif scales is not None:
        inits = [("scales", np.asarray(scales, np.float32))]
    if sizes is not None:
        inits.append(("sizes", np.asarray(sizes, np.int64)))
    while inputs[-1] == "":
        inputs.pop()
    node = helper.make_node("Resize", inputs, ["out"], **attrs)
    return make_model([node], [tensor_info("x", "float32", shape)], [tensor_info("out", "float32", None)],
                      inits, opset=opset)


@pytest.mark.parametrize("coordinate_mode", COORDINATE_MODES)
@pytest.mark.parametrize("scales", [[1, 1, 2, 2], [1, 1, 0.5, 0.75], [1, 1, 1.5, 3]], ids=str)
def test_linear_4d_scales(coordinate_mode, scales):
    model = _model(["batch", 3, 8, 6], scales=scales, mode="linear", coordinate_transformation_mode=coordinate_mode)
    for batch in (1, 2):
        assert_matches_onnxruntime(model, {"x": random_input((batch, 3, 8, 6), seed=batch)})


@pytest.mark.parametrize("coordinate_mode", COORDINATE_MODES)
@pytest.mark.parametrize("nearest_mode", NEAREST_MODES)
def test_nearest_4d_scales(coordinate_mode, nearest_mode):
    model = _model([2, 3, 6, 5], scales=[1, 1, 2.5, 0.6], mode="nearest",
                   coordinate_transformation_mode=coordinate_mode, nearest_mode=nearest_mode)
    assert_matches_onnxruntime(model, {"x": random_input((2, 3, 6, 5))})


@pytest.mark.parametrize("mode", ["nearest", "linear"])
@pytest.mark.parametrize("sizes", [[1, 2, 16, 12], [1, 2, 3, 7], [1, 2, 1, 1]], ids=str)
def test_sizes_4d(mode, sizes):
    model = _model([1, 2, 5, 6], sizes=sizes, mode=mode, coordinate_transformation_mode="pytorch_half_pixel")
    assert_matches_onnxruntime(model, {"x": random_input((1, 2, 5, 6))})


@pytest.mark.parametrize("opset", [11, 18])
def test_nearest_upsample_default_attributes(opset):
    model = _model([1, 4, 5, 5], opset=opset, scales=[1, 1, 2, 2])
    assert_matches_onnxruntime(model, {"x": random_input((1, 4, 5, 5))})


@pytest.mark.parametrize("mode", ["nearest", "linear"])
@pytest.mark.parametrize("coordinate_mode", ["half_pixel", "align_corners"])
def test_3d(mode, coordinate_mode):
    model = _model([2, 3, 7], scales=[1, 1, 2.5], mode=mode, coordinate_transformation_mode=coordinate_mode)
    assert_matches_onnxruntime(model, {"x": random_input((2, 3, 7))})


def test_opset_18_axes_and_keep_aspect_ratio():
    model = _model([1, 2, 4, 8], opset=18, sizes=[10, 10], axes=[2, 3], mode="linear",
                   keep_aspect_ratio_policy="not_larger")
    assert_matches_onnxruntime(model, {"x": random_input((1, 2, 4, 8))})


def test_large_upsample_runs():
    model = _model([1, 64, 28, 28], scales=[1, 1, 2, 2], mode="linear")
    assert_matches_onnxruntime(model, {"x": random_input((1, 64, 28, 28))})


def test_unknown_mode_is_unsupported():
    model = _model([1, 1, 4, 4], scales=[1, 1, 2, 2], mode="quintic")
    with pytest.raises(UnsupportedError, match="mode 'quintic'"):
        run_convrnn(model, {"x": random_input((1, 1, 4, 4))})


@pytest.mark.parametrize("coordinate_mode", ["half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel"])
@pytest.mark.parametrize("scales", [[1, 1, 2, 1.5], [1, 1, 0.5, 0.75]], ids=str)
def test_cubic(coordinate_mode, scales):
    model = _model(["batch", 2, 8, 6], opset=19, scales=scales, mode="cubic",
                   coordinate_transformation_mode=coordinate_mode)
    for batch in (1, 2):
        assert_matches_onnxruntime(model, {"x": random_input((batch, 2, 8, 6), seed=batch)})


@pytest.mark.parametrize("scales", [[1, 1, 2, 1.5], [1, 1, 0.5, 0.75]], ids=str)
def test_cubic_coeff_a_and_exclude_outside(scales):
    model = _model([1, 2, 8, 6], opset=19, scales=scales, mode="cubic", cubic_coeff_a=-0.5, exclude_outside=1)
    assert_matches_onnxruntime(model, {"x": random_input((1, 2, 8, 6))})


@pytest.mark.parametrize("mode", ["linear", "cubic"])
@pytest.mark.parametrize("scales", [[1, 1, 0.5, 0.75], [1, 1, 0.3, 1.0], [1, 1, 0.6, 2.0]], ids=str)
def test_antialias(mode, scales):
    # Downsampling axes are filtered over 1/scale inputs; upsampling ones interpolate plainly.
    model = _model([1, 2, 12, 10], opset=19, scales=scales, mode=mode, antialias=1)
    assert_matches_onnxruntime(model, {"x": random_input((1, 2, 12, 10))}, atol=1e-4)


def _crop_model(roi, sizes, axes=None, **attrs):
    node = helper.make_node("Resize", ["x", "roi", "", "sizes"], ["out"],
                            coordinate_transformation_mode="tf_crop_and_resize",
                            **({} if axes is None else {"axes": axes}), **attrs)
    return make_model([node], [tensor_info("x", "float32", [1, 2, 6, 7])], [tensor_info("out", "float32", None)],
                      [("roi", np.asarray(roi, np.float32)), ("sizes", np.asarray(sizes, np.int64))], opset=19)


@pytest.mark.parametrize("mode", ["nearest", "linear", "cubic"])
def test_tf_crop_and_resize(mode):
    model = _crop_model([0, 0, 0.2, 0.1, 1, 1, 0.9, 0.7], [1, 2, 5, 4], mode=mode)
    assert_matches_onnxruntime(model, {"x": random_input((1, 2, 6, 7))})


def test_tf_crop_and_resize_extrapolates_outside_the_input():
    # The region reaches past the bottom-right corner; axes given, one output row of length 1.
    model = _crop_model([0.5, -0.2, 1.4, 1.3], [3, 1], axes=[3, 2], mode="linear", extrapolation_value=7.0)
    result = assert_matches_onnxruntime(model, {"x": random_input((1, 2, 6, 7))})[0]
    assert (result == 7.0).any() and (result != 7.0).any()


@pytest.mark.parametrize("mode", ["nearest", "linear"])
def test_half_pixel_symmetric_opset_18(mode):
    model = _model([1, 2, 5, 7], opset=18, scales=[1, 1, 1.7, 0.55], mode=mode,
                   coordinate_transformation_mode="half_pixel_symmetric")
    assert_matches_onnxruntime(model, {"x": random_input((1, 2, 5, 7))})


def test_sizes_with_empty_scales_opset_11():
    model = _model([1, 3, 4, 6], opset=11, sizes=[1, 3, 7, 3], mode="linear",
                   coordinate_transformation_mode="asymmetric")
    assert_matches_onnxruntime(model, {"x": random_input((1, 3, 4, 6))})


@pytest.mark.parametrize("mode", ["nearest", "linear"])
@pytest.mark.parametrize("scales", [[1, 1, 2, 1.5], [1, 1, 0.6, 0.4], [1, 1, 2.5, 0.75]], ids=str)
def test_opset_10_scales_input(mode, scales):
    # Resize 10: (X, scales), asymmetric coordinates, nearest rounds up where an axis shrinks.
    node = helper.make_node("Resize", ["x", "scales"], ["out"], mode=mode)
    model = make_model([node], [tensor_info("x", "float32", ["batch", 2, 10, 8])], [tensor_info("out", "float32", None)],
                       [("scales", np.asarray(scales, np.float32))], opset=10)
    for batch in (1, 2):
        assert_matches_onnxruntime(model, {"x": random_input((batch, 2, 10, 8), seed=batch)})


@pytest.mark.parametrize("mode, coordinate_mode", [("nearest", "asymmetric"), ("linear", "half_pixel"),
                                                   ("linear", "align_corners"), ("nearest", "half_pixel")])
def test_resize_over_symbolic_dims(mode, coordinate_mode):
    # every axis symbolic, as real models declare them: by whole scales, and to the size of
    # another tensor known only at run time (an FPN's upsampling to the skip connection)
    from onnx import helper

    nodes = [helper.make_node("Resize", ["x", "", "scales"], ["up"], mode=mode,
                              coordinate_transformation_mode=coordinate_mode),
             helper.make_node("Shape", ["skip"], ["skip_shape"]),
             helper.make_node("Resize", ["x", "", "", "skip_shape"], ["to_skip"], mode=mode,
                              coordinate_transformation_mode=coordinate_mode),
             helper.make_node("Add", ["up", "up"], ["out1"]), helper.make_node("Add", ["to_skip", "skip"], ["out2"])]
    model = support.make_model(
        nodes, [support.tensor_info("x", "float32", ["n", "c", "h", "w"]),
                support.tensor_info("skip", "float32", ["n", "c", "H", "W"])],
        [support.tensor_info("out1", "float32", None), support.tensor_info("out2", "float32", None)],
        [("scales", np.array([1, 1, 2, 2], np.float32))], opset=13)
    for seed, (h, w, big_h, big_w) in enumerate([(3, 4, 6, 8), (5, 2, 9, 5)]):
        feeds = {"x": support.random_input((1, 2, h, w), seed=seed), "skip": support.random_input((1, 2, big_h, big_w), seed=seed + 7)}
        support.assert_matches_onnxruntime(model, feeds)
