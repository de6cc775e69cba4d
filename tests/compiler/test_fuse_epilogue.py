import numpy as np
import pytest
from onnx import helper

import support
from convrnn.compiler.passes import run_pipeline
from convrnn.frontend import import_onnx

RNG = np.random.default_rng(0)


def _weight(name, out_channels, in_channels, k=3):
    return (name, (RNG.standard_normal((out_channels, in_channels, k, k)) * 0.2).astype(np.float32))


def _fused(model):
    return run_pipeline(import_onnx(model), stop_after="fuse_epilogue", verify=True).nodes


def test_residual_block_becomes_two_convs_with_epilogues():
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("Conv", ["r1", "w2"], ["c2"], pads=[1, 1, 1, 1]),
             helper.make_node("Add", ["x", "c2"], ["sum"]),
             helper.make_node("Relu", ["sum"], ["y"])]
    model = support.make_model(nodes, [support.tensor_info("x", "float32", ["n", 16, 8, 8])],
                               [support.tensor_info("y", "float32", ["n", 16, 8, 8])],
                               [_weight("w1", 16, 16), ("b1", RNG.standard_normal(16).astype(np.float32)),
                                _weight("w2", 16, 16)])
    fused = _fused(model)
    assert [n.op for n in fused] == ["Conv", "Conv"]
    assert fused[0].attrs["epilogue"] == [{"op": "Relu"}]
    assert fused[1].attrs["epilogue"] == [{"op": "Add", "input": 0}, {"op": "Relu"}]
    assert fused[1].inputs[2] is None and fused[1].inputs[3].name == "x"
    for batch in (1, 3):
        support.assert_matches_onnxruntime(model, {"x": support.random_input((batch, 16, 8, 8), seed=batch)})


@pytest.mark.parametrize("channels, group", [(8, 1), (8, 8)])
def test_relu6_clip_fuses_into_plain_and_depthwise_convs(channels, group):
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1], group=group),
             helper.make_node("Clip", ["c", "lo", "hi"], ["y"])]
    model = support.make_model(nodes, [support.tensor_info("x", "float32", [1, 8, 7, 7])],
                               [support.tensor_info("y", "float32", [1, channels, 7, 7])],
                               [_weight("w", channels, 8 // group), ("lo", np.array(0, np.float32)),
                                ("hi", np.array(0.5, np.float32))])
    fused = _fused(model)
    assert [n.op for n in fused] == ["Conv"]
    assert fused[0].attrs["epilogue"] == [{"op": "Clip", "attrs": {"min": 0.0, "max": 0.5}}]
    support.assert_matches_onnxruntime(model, {"x": support.random_input((1, 8, 7, 7))})


def test_values_read_twice_or_returned_stop_the_chain():
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("Sigmoid", ["r"], ["s"]),
             helper.make_node("Tanh", ["r"], ["t"])]
    model = support.make_model(nodes, [support.tensor_info("x", "float32", [1, 4, 5, 5])],
                               [support.tensor_info("s", "float32", [1, 4, 3, 3]),
                                support.tensor_info("t", "float32", [1, 4, 3, 3]),
                                support.tensor_info("r", "float32", [1, 4, 3, 3])],
                               [_weight("w", 4, 4)])
    fused = _fused(model)
    assert [n.op for n in fused] == ["Conv", "Sigmoid", "Tanh"]  # r is an output: Relu fuses, no further
    assert fused[0].attrs["epilogue"] == [{"op": "Relu"}]
    support.assert_matches_onnxruntime(model, {"x": support.random_input((1, 4, 5, 5))})


def test_matmul_takes_its_bias_add_and_activation():
    """A Linear over a sequence as exported: MatMul, Add of a bias that broadcasts, then Relu."""
    nodes = [helper.make_node("MatMul", ["x", "w"], ["m"]),
             helper.make_node("Add", ["bias", "m"], ["a"]),
             helper.make_node("Relu", ["a"], ["y"])]
    model = support.make_model(nodes, [support.tensor_info("x", "float32", ["seq", "n", 24])],
                               [support.tensor_info("y", "float32", ["seq", "n", 40])],
                               [("w", RNG.standard_normal((24, 40)).astype(np.float32)),
                                ("bias", RNG.standard_normal(40).astype(np.float32))])
    fused = _fused(model)
    assert [n.op for n in fused] == ["MatMul"]
    assert fused[0].attrs["epilogue"] == [{"op": "Add", "input": 0}, {"op": "Relu"}]
    assert fused[0].inputs[2].name == "bias"
    for shape in ((5, 1, 24), (3, 4, 24)):
        support.assert_matches_onnxruntime(model, {"x": support.random_input(shape, seed=shape[0])})


def test_gemm_takes_its_activation_after_its_own_scale():
    nodes = [helper.make_node("Gemm", ["x", "w", "c"], ["g"], alpha=0.5, beta=2.0, transB=1),
             helper.make_node("Sigmoid", ["g"], ["y"])]
    model = support.make_model(nodes, [support.tensor_info("x", "float32", ["n", 16])],
                               [support.tensor_info("y", "float32", ["n", 8])],
                               [("w", RNG.standard_normal((8, 16)).astype(np.float32)),
                                ("c", RNG.standard_normal((1, 8)).astype(np.float32))])
    fused = _fused(model)
    assert [n.op for n in fused] == ["Gemm"] and fused[0].attrs["epilogue"] == [{"op": "Sigmoid"}]
    support.assert_matches_onnxruntime(model, {"x": support.random_input((3, 16))})


def test_a_conv_does_not_take_an_add_that_broadcasts():
    """Its blocked layout needs every epilogue operand at the output's full shape."""
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Add", ["c", "shift"], ["y"])]
    model = support.make_model(nodes, [support.tensor_info("x", "float32", [1, 8, 5, 5])],
                               [support.tensor_info("y", "float32", [1, 8, 5, 5])],
                               [_weight("w", 8, 8), ("shift", RNG.standard_normal((8, 1, 1)).astype(np.float32))])
    assert [n.op for n in _fused(model)] == ["Conv", "Add"]
