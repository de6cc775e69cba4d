"""Symbolic dims as real models declare them: refined where a weight or a constant fixes them
(and then checked at run time), shapes read as data computed at run time, formulas that must be
1 checked at run time, and placeholder dim names ("?") that stand for dims of their own."""
import numpy as np
import pytest
from onnx import TensorProto, helper

import support
from convrnn.compiler.errors import ModelError
from convrnn.runtime.errors import InputError


def _model(nodes, inputs, inits=(), opset=17):
    return support.make_model(nodes, [support.tensor_info(n, "float32", s) for n, s in inputs],
                              [support.tensor_info("out", "float32", None)], inits, opset=opset)


def test_broadcast_with_a_constant_fixes_the_dims():
    weight = np.random.default_rng(0).standard_normal((80, 3)).astype(np.float32)
    model = _model([helper.make_node("Mul", ["x", "w"], ["out"])], [("x", ["a", "b", "c"])], [("w", weight)])
    compiled = support.compile_cached(model)
    assert compiled.inputs[0].shape == ("a", 80, 3)
    support.assert_matches_onnxruntime(model, {"x": support.random_input((2, 80, 3))})
    with pytest.raises(InputError, match="axis 1 must be 80"):
        compiled.run(x=support.random_input((2, 81, 3)))


def test_matmul_weight_fixes_the_inner_dim_and_reshape_products():
    weight = np.random.default_rng(1).standard_normal((12, 5)).astype(np.float32)
    nodes = [helper.make_node("Reshape", ["x", "shape"], ["r"]), helper.make_node("MatMul", ["r", "w"], ["out"])]
    model = _model(nodes, [("x", ["n", "p", "q"])], [("w", weight), ("shape", np.array([0, -1]))])
    compiled = support.compile_cached(model)
    assert compiled.inputs[0].shape[0] == "n" and compiled.outputs[0].shape == ("n", 5)
    support.assert_matches_onnxruntime(model, {"x": support.random_input((3, 4, 3))})
    support.assert_matches_onnxruntime(model, {"x": support.random_input((2, 2, 6))})


def test_conflicting_constants_are_a_model_error():
    a, b = np.ones((4,), np.float32), np.ones((5,), np.float32)
    nodes = [helper.make_node("Add", ["x", "a"], ["y"]), helper.make_node("Add", ["y", "b"], ["out"])]
    with pytest.raises(ModelError, match="broadcast"):
        support.compile_cached(_model(nodes, [("x", ["n"])], [("a", a), ("b", b)]))


def test_shapes_read_as_data_are_computed_at_run_time():
    # reshape [N, C, H, W] -> [N, C*H*W] from Shape arithmetic, then divide by Size(x) cast to float
    index = [(f"i{k}", np.array(k)) for k in range(4)]
    nodes = [helper.make_node("Shape", ["x"], ["s"])]
    nodes += [helper.make_node("Gather", ["s", f"i{k}"], [f"d{k}"], axis=0) for k in range(4)]
    nodes += [helper.make_node("Mul", ["d1", "d2"], ["d12"]), helper.make_node("Mul", ["d12", "d3"], ["d123"]),
              helper.make_node("Unsqueeze", ["d0", "axis"], ["u0"]), helper.make_node("Unsqueeze", ["d123", "axis"], ["u1"]),
              helper.make_node("Concat", ["u0", "u1"], ["shape"], axis=0), helper.make_node("Reshape", ["x", "shape"], ["y"]),
              helper.make_node("Size", ["x"], ["size"]), helper.make_node("Cast", ["size"], ["sizef"], to=TensorProto.FLOAT),
              helper.make_node("Div", ["y", "sizef"], ["out"])]
    model = _model(nodes, [("x", ["N", "C", "H", "W"])], index + [("axis", np.array([0]))])
    for shape in [(1, 2, 3, 4), (2, 3, 5, 2)]:
        support.assert_matches_onnxruntime(model, {"x": support.random_input(shape)})
    assert support.compile_cached(model).outputs[0].shape == ("N", "C * H * W")


def test_a_squeezed_formula_dim_is_checked_at_run_time():
    # a pool halves H twice; the Squeeze of that axis requires (H // 2) // 2 == 1, i.e. H in 4..7
    nodes = [helper.make_node("MaxPool", ["x"], ["p"], kernel_shape=[2, 1], strides=[2, 1]),
             helper.make_node("MaxPool", ["p"], ["q"], kernel_shape=[2, 1], strides=[2, 1]),
             helper.make_node("Squeeze", ["q", "axes"], ["out"])]
    model = _model(nodes, [("x", [1, 2, "H", "W"])], [("axes", np.array([2]))])
    compiled = support.compile_cached(model)
    assert compiled.outputs[0].shape == (1, 2, "W")
    for height in (4, 7):
        support.assert_matches_onnxruntime(model, {"x": support.random_input((1, 2, height, 5))})
    with pytest.raises(InputError, match="needs"):
        compiled.run(x=support.random_input((1, 2, 8, 5)))


def test_placeholder_dim_names_are_dims_of_their_own():
    # Paddle writes "?" for every unknown dim: H and W must not be taken for one dim
    nodes = [helper.make_node("Relu", ["x"], ["out"])]
    model = _model(nodes, [("x", [1, 3, "?", "?"])])
    compiled = support.compile_cached(model)
    assert compiled.inputs[0].shape[2] != compiled.inputs[0].shape[3]
    support.assert_matches_onnxruntime(model, {"x": support.random_input((1, 3, 4, 7))})


def test_shape_comparisons_exporters_emit_are_followed():
    # PyTorch's expand_as: Where(Equal(Shape(x), -1), 1, Shape(x)) -> Expand; a dim is never -1
    nodes = [helper.make_node("Shape", ["x"], ["s"]), helper.make_node("Equal", ["s", "minus"], ["eq"]),
             helper.make_node("Where", ["eq", "ones", "s"], ["shape"]), helper.make_node("Expand", ["b", "shape"], ["out"])]
    inits = [("minus", np.array([-1, -1, -1])), ("ones", np.array([1, 1, 1])), ("b", np.arange(4, dtype=np.float32))]
    model = _model(nodes, [("x", ["n", "t", 4])], inits)
    for shape in [(1, 3, 4), (2, 5, 4)]:
        support.assert_matches_onnxruntime(model, {"x": support.random_input(shape)})
    assert support.compile_cached(model).outputs[0].shape == ("n", "t", 4)


def test_an_upsampled_level_added_to_the_level_above_is_checked_at_run_time():
    # an FPN: (H + 1) // 2 after a stride-2 conv, doubled by Resize, added to the H-sized input;
    # equal only for even H, which no name solves for: checked on every run
    rng = np.random.default_rng(3)
    weight = (rng.standard_normal((2, 2, 3, 3)) * 0.3).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w"], ["down"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
             helper.make_node("Resize", ["down", "", "scales"], ["up"], mode="nearest"),
             helper.make_node("Add", ["x", "up"], ["out"])]
    model = _model(nodes, [("x", [1, 2, "H", "W"])], [("w", weight), ("scales", np.array([1, 1, 2, 2], np.float32))],
                   opset=13)
    for shape in [(1, 2, 8, 6), (1, 2, 4, 10)]:
        support.assert_matches_onnxruntime(model, {"x": support.random_input(shape)})
    with pytest.raises(InputError, match="do not fit this model"):
        support.compile_cached(model).run(x=support.random_input((1, 2, 7, 6)))


def test_a_pad_to_a_minimum_length_is_a_max_formula():
    # swift-f0's front end: pad the signal at the end to at least 16 samples
    nodes = [helper.make_node("Shape", ["x"], ["s"]), helper.make_node("Gather", ["s", "one"], ["n"], axis=0),
             helper.make_node("Sub", ["minimum", "n"], ["short"]), helper.make_node("Max", ["short", "zero"], ["end"]),
             helper.make_node("Unsqueeze", ["end", "axis"], ["end1"]),
             helper.make_node("Concat", ["begins", "end1"], ["pads"], axis=0),
             helper.make_node("Pad", ["x", "pads"], ["out"], mode="constant")]
    inits = [("one", np.array(1)), ("minimum", np.array(16)), ("zero", np.array(0)), ("axis", np.array([0])),
             ("begins", np.array([0, 0, 0]))]
    model = _model(nodes, [("x", [1, "samples"])], inits, opset=18)
    for samples in (5, 16, 23):
        support.assert_matches_onnxruntime(model, {"x": support.random_input((1, samples))})
    assert support.compile_cached(model).outputs[0].shape == (1, "max(samples - 16, 0) + 16")  # max(samples, 16)


def test_a_slice_to_an_end_computed_from_dims():
    # keep the first max(n // 4, 1) rows, as swift-f0 keeps its whole frames
    nodes = [helper.make_node("Shape", ["x"], ["s"]), helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
             helper.make_node("Div", ["n", "four"], ["q"]), helper.make_node("Max", ["q", "one"], ["e"]),
             helper.make_node("Unsqueeze", ["e", "axis"], ["ends"]),
             helper.make_node("Slice", ["x", "starts", "ends", "axis"], ["out"])]
    inits = [("zero", np.array(0)), ("four", np.array(4)), ("one", np.array(1)), ("axis", np.array([0])),
             ("starts", np.array([0]))]
    model = _model(nodes, [("x", ["n", 3])], inits, opset=18)
    for rows in (2, 4, 9, 17):
        support.assert_matches_onnxruntime(model, {"x": support.random_input((rows, 3))})
