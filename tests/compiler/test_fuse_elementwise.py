"""fuse_elementwise: chains of elementwise ops become one kernel; numbers hold."""
import numpy as np
import pytest
from onnx import helper

import support
from convrnn.compiler.passes import run_pipeline
from convrnn.frontend import import_onnx


def chain_model(nodes, inputs, inits=(), output="y"):
    return support.make_model(nodes, inputs, [support.tensor_info(output, "float32", None)], inits)


def ops_after(model):
    return [n.op for n in run_pipeline(import_onnx(model), verify=True).nodes]


def test_silu_and_bias_chain_is_one_kernel():
    # y = relu(x * sigmoid(x) + b) * 0.5: x is read twice, b broadcasts, a constant scale
    nodes = [helper.make_node("Sigmoid", ["x"], ["s"]), helper.make_node("Mul", ["x", "s"], ["m"]),
             helper.make_node("Add", ["m", "b"], ["a"]), helper.make_node("Relu", ["a"], ["r"]),
             helper.make_node("Mul", ["r", "half"], ["y"])]
    inits = [("b", np.linspace(-1, 1, 6).astype(np.float32)), ("half", np.array(0.5, np.float32))]
    model = chain_model(nodes, [support.tensor_info("x", "float32", ["n", 4, 6])], inits)
    assert ops_after(model) == ["ElementwiseChain"]
    for batch in (1, 3):
        support.assert_matches_onnxruntime(model, {"x": support.random_input((batch, 4, 6), seed=batch)})


def test_two_chains_meeting_in_a_binary_op():
    nodes = [helper.make_node("Tanh", ["x"], ["t"]), helper.make_node("Exp", ["z"], ["e"]),
             helper.make_node("Neg", ["e"], ["n"]), helper.make_node("Sub", ["t", "n"], ["y"])]
    model = chain_model(nodes, [support.tensor_info("x", "float32", [2, 5]), support.tensor_info("z", "float32", [5])])
    assert ops_after(model) == ["ElementwiseChain"]
    support.assert_matches_onnxruntime(model, {"x": support.random_input((2, 5), seed=1),
                                               "z": support.random_input((5,), seed=2, low=-1, high=1)})


@pytest.mark.parametrize("shared", ["graph_output", "second_reader"])
def test_a_value_read_elsewhere_is_not_fused_away(shared):
    nodes = [helper.make_node("Sigmoid", ["x"], ["s"]), helper.make_node("Relu", ["s"], ["y"])]
    outputs = [support.tensor_info("y", "float32", None)]
    if shared == "graph_output":
        outputs.append(support.tensor_info("s", "float32", None))
    else:
        nodes.append(helper.make_node("Softmax", ["s"], ["z"], axis=-1))
        outputs.append(support.tensor_info("z", "float32", None))
    model = support.make_model(nodes, [support.tensor_info("x", "float32", [3, 4])], outputs)
    assert "Sigmoid" in ops_after(model)  # computed once, by itself, for both readers
    support.assert_matches_onnxruntime(model, {"x": support.random_input((3, 4), seed=3)})


def test_integer_and_comparison_steps():
    nodes = [helper.make_node("Add", ["i", "j"], ["s"]), helper.make_node("Mul", ["s", "s2"], ["p"]),
             helper.make_node("Cast", ["p"], ["y"], to=1)]
    inits = [("s2", np.array([2], np.int64))]
    model = chain_model(nodes, [support.tensor_info("i", "int64", [4]), support.tensor_info("j", "int64", [4])],
                        inits)
    assert ops_after(model)[0] == "ElementwiseChain"
    support.assert_matches_onnxruntime(model, {"i": np.arange(4, dtype=np.int64), "j": np.full(4, 3, np.int64)})


def test_an_op_without_an_expression_is_left_out_of_chains():
    # Mod computes itself (its fmod attr): a chain through it keeps it as its own kernel
    import numpy as np
    from onnx import helper

    import support

    nodes = [helper.make_node("Add", ["x", "x"], ["a"]), helper.make_node("Mod", ["a", "m"], ["b"], fmod=1),
             helper.make_node("Relu", ["b"], ["out"])]
    model = support.make_model(nodes, [support.tensor_info("x", "float32", ["n", 6])],
                               [support.tensor_info("out", "float32", None)], [("m", np.array([1.5], np.float32))])
    support.assert_matches_onnxruntime(model, {"x": support.random_input((3, 6))})
