"""unit_width_conv_as_1d: a k x 1 conv over [N, C, T, 1] (a temporal conv exported in 2-d)
runs as a 1-d conv along T, its activation still fused, with onnxruntime's numbers."""
import numpy as np
import pytest
from onnx import helper

import support
from convrnn.compiler.passes import run_pipeline
from convrnn.frontend import import_onnx


@pytest.mark.parametrize("attrs", [{"dilations": [4, 1], "pads": [8, 0, 8, 0]}, {"strides": [2, 1], "pads": [1, 0, 2, 0]}],
                         ids=str)
@pytest.mark.parametrize("channels", [16, 5])
def test_temporal_conv_in_2d_runs_as_1d(attrs, channels):
    rng = np.random.default_rng(channels)
    inits = [("w", (rng.standard_normal((channels, channels, 5, 1)) * 0.3).astype(np.float32)),
             ("b", rng.standard_normal(channels).astype(np.float32))]
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[5, 1], **attrs),
             helper.make_node("Elu", ["c"], ["out"])]
    model = support.make_model(nodes, [support.tensor_info("x", "float32", [1, channels, "T", 1])],
                               [support.tensor_info("out", "float32", None)], inits)
    graph = run_pipeline(import_onnx(model), stop_after="fuse_epilogue")
    conv = [n for n in graph.nodes if n.op == "Conv"][0]
    assert conv.attrs["kernel_shape"] == [5] and conv.attrs["epilogue"] == [{"op": "Elu", "attrs": {"alpha": 1.0}}]
    for length in (40, 23):
        support.assert_matches_onnxruntime(model, {"x": support.random_input((1, channels, length, 1), seed=length)})


def test_a_conv_wider_than_one_tap_stays_2d():
    w = np.ones((4, 4, 3, 3), np.float32)
    node = helper.make_node("Conv", ["x", "w"], ["out"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    model = support.make_model([node], [support.tensor_info("x", "float32", [1, 4, "T", 1])],
                               [support.tensor_info("out", "float32", None)], [("w", w)])
    graph = run_pipeline(import_onnx(model), stop_after="unit_width_conv_as_1d")
    assert len([n for n in graph.nodes if n.op == "Conv"][0].attrs["kernel_shape"]) == 2
