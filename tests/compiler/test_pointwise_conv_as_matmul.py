"""pointwise_conv_as_matmul: Transpose -> one-tap Conv1D -> Transpose (tf2onnx's Conv1D over
channels-last data, a learned STFT) runs as one MatMul on the channels-last data, with
onnxruntime's numbers; other convs stay convs."""
import numpy as np
import pytest
from onnx import helper

import support
from convrnn.compiler.passes import run_pipeline
from convrnn.frontend import import_onnx


def stft_like(channels=20, out_channels=23, bias=True, kernel=1, second_reader=False, swap_back=True):
    rng = np.random.default_rng(out_channels)
    inits = [("w", (rng.standard_normal((out_channels, channels, kernel)) * 0.3).astype(np.float32))]
    conv_inputs = ["xt", "w"]
    if bias:
        inits.append(("b", rng.standard_normal(out_channels).astype(np.float32)))
        conv_inputs.append("b")
    nodes = [helper.make_node("Transpose", ["x"], ["xt"], perm=[0, 2, 1]),
             helper.make_node("Conv", conv_inputs, ["c"], kernel_shape=[kernel]),
             helper.make_node("Transpose", ["c"], ["out"], perm=[0, 2, 1] if swap_back else [2, 0, 1])]
    outputs = [support.tensor_info("out", "float32", None)]
    if second_reader:
        nodes.append(helper.make_node("Relu", ["c"], ["r"]))
        outputs.append(support.tensor_info("r", "float32", None))
    return support.make_model(nodes, [support.tensor_info("x", "float32", ["n", "frames", channels])], outputs, inits)


def ops(model):
    return [n.op for n in run_pipeline(import_onnx(model), verify=True).nodes]


@pytest.mark.parametrize("bias", [True, False])
def test_a_pointwise_conv1d_between_transposes_is_one_matmul(bias):
    model = stft_like(bias=bias)
    assert "Conv" not in ops(model) and "Transpose" not in ops(model) and "MatMul" in ops(model)
    for batch, frames in ((1, 37), (2, 5)):  # one artifact, symbolic batch and length
        support.assert_matches_onnxruntime(model, {"x": support.random_input((batch, frames, 20), seed=frames)})


@pytest.mark.parametrize("case", [dict(kernel=3), dict(second_reader=True), dict(swap_back=False)],
                         ids=["three_taps", "conv_output_read_twice", "other_transpose_after"])
def test_other_convs_stay_convs_and_match(case):
    model = stft_like(**case)
    assert "Conv" in ops(model)
    frames = 12
    support.assert_matches_onnxruntime(model, {"x": support.random_input((2, frames, 20), seed=3)})
