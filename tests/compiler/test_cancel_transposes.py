"""cancel_transposes: a TensorFlow export's layout switches around each activation (Transpose
to NHWC, Reshape off the unit batch, activation, Reshape back, Transpose to NCHW) collapse, the
activation moves next to its conv, and the numbers stay onnxruntime's."""
import numpy as np
from onnx import helper

import support
from convrnn.compiler.passes import run_pipeline
from convrnn.frontend import import_onnx


def _tf_style_model(output_transposed=False):
    rng = np.random.default_rng(1)
    inits = [("w", (rng.standard_normal((8, 3, 3, 3)) * 0.3).astype(np.float32)),
             ("drop", np.array([-1, 8, 8], np.int64)), ("add", np.array([1, -1, 8, 8], np.int64))]
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Transpose", ["c"], ["nhwc"], perm=[0, 2, 3, 1]),
             helper.make_node("Reshape", ["nhwc", "drop"], ["flat"]),
             helper.make_node("Tanh", ["flat"], ["t"]),
             helper.make_node("Reshape", ["t", "add"], ["batched"]),
             helper.make_node("Transpose", ["batched"], ["nchw"], perm=[0, 3, 1, 2]),
             helper.make_node("MaxPool", ["nchw"], ["out"], kernel_shape=[2, 2], strides=[2, 2])]
    outputs = [support.tensor_info("out", "float32", None)]
    if output_transposed:  # a value between the switches is also an output: it must stay
        outputs.append(support.tensor_info("nhwc", "float32", None))
    return support.make_model(nodes, [support.tensor_info("x", "float32", [1, 3, "h", 8])], outputs, inits)


def test_layout_switches_around_an_activation_cancel():
    model = _tf_style_model()
    ops = [n.op for n in run_pipeline(import_onnx(model), stop_after="fuse_epilogue").nodes]
    assert "Transpose" not in ops and "Tanh" not in ops and ops[0] == "Conv"
    for h in (16, 10):
        support.assert_matches_onnxruntime(model, {"x": support.random_input((1, 3, h, 8))})


def test_a_transposed_value_that_is_also_an_output_stays():
    model = _tf_style_model(output_transposed=True)
    ops = [n.op for n in run_pipeline(import_onnx(model), stop_after="cancel_transposes").nodes]
    assert "Transpose" in ops
    support.assert_matches_onnxruntime(model, {"x": support.random_input((1, 3, 16, 8))})


def test_two_transposes_merge_into_one():
    nodes = [helper.make_node("Transpose", ["x"], ["a"], perm=[1, 2, 0]),
             helper.make_node("Relu", ["a"], ["b"]),
             helper.make_node("Transpose", ["b"], ["out"], perm=[1, 0, 2])]
    model = support.make_model(nodes, [support.tensor_info("x", "float32", [2, 3, "n"])],
                               [support.tensor_info("out", "float32", None)])
    graph = run_pipeline(import_onnx(model), stop_after="cancel_transposes")
    assert [n.op for n in graph.nodes] == ["Relu", "Transpose"]
    support.assert_matches_onnxruntime(model, {"x": support.random_input((2, 3, 5))})
