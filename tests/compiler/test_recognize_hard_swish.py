"""recognize_hard_swish: x * Clip(x + 3, 0, 6) / 6, as Paddle exports MobileNetV3's activation,
becomes one HardSwish (then fused into the conv before it), and matches onnxruntime."""
import numpy as np
import pytest
from onnx import helper

import support
from convrnn.compiler.passes import run_pipeline
from convrnn.frontend import import_onnx


def _model(scale_op="Div", extra_reader=False, three=3.0):
    rng = np.random.default_rng(0)
    inits = [("w", (rng.standard_normal((8, 4, 3, 3)) * 0.3).astype(np.float32)),
             ("three", np.array(three, np.float32)), ("lo", np.array(0, np.float32)), ("hi", np.array(6, np.float32)),
             ("six", np.array(6 if scale_op == "Div" else 1 / 6, np.float32))]
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Add", ["c", "three"], ["a"]), helper.make_node("Clip", ["a", "lo", "hi"], ["k"]),
             helper.make_node("Mul", ["k", "c"], ["m"]), helper.make_node(scale_op, ["m", "six"], ["out"])]
    outputs = [support.tensor_info("out", "float32", None)]
    if extra_reader:  # the clipped value is read elsewhere too: not a HardSwish alone
        nodes.append(helper.make_node("Neg", ["k"], ["other"]))
        outputs.append(support.tensor_info("other", "float32", None))
    return support.make_model(nodes, [support.tensor_info("x", "float32", ["n", 4, "h", "w"])], outputs, inits)


@pytest.mark.parametrize("scale_op", ["Div", "Mul"])
def test_spelled_out_hard_swish_becomes_one_and_fuses(scale_op):
    model = _model(scale_op)
    ops = [node.op for node in run_pipeline(import_onnx(model), stop_after="fuse_epilogue").nodes]
    assert ops == ["Conv"]
    assert run_pipeline(import_onnx(model), stop_after="fuse_epilogue").nodes[0].attrs["epilogue"] == [{"op": "HardSwish"}]
    support.assert_matches_onnxruntime(model, {"x": support.random_input((1, 4, 7, 9), low=-6, high=6)}, rtol=1e-5,
                                       atol=1e-5)


@pytest.mark.parametrize("options", [{"extra_reader": True}, {"three": 2.0}], ids=str)
def test_other_patterns_are_left_alone(options):
    model = _model(**options)
    ops = [node.op for node in run_pipeline(import_onnx(model), stop_after="recognize_hard_swish").nodes]
    assert "HardSwish" not in ops and "Clip" in ops
    support.assert_matches_onnxruntime(model, {"x": support.random_input((1, 4, 5, 5), low=-6, high=6)})
