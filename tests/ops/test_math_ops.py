"""Trigonometric, hyperbolic, rounding and classification unary ops, Xor and Mod against
onnxruntime (onnx.reference where onnxruntime lacks the case), with a symbolic batch dim."""
import numpy as np
import pytest
from onnx import helper

from support import assert_matches_onnxruntime, make_model, random_input, run_reference, tensor_info


def _model(op, inputs, out_dtype=None, opset=17, **attrs):
    node = helper.make_node(op, [name for name, _, _ in inputs], ["out"], **attrs)
    return make_model([node], [tensor_info(n, d, s) for n, d, s in inputs],
                      [tensor_info("out", out_dtype or inputs[0][1], None)], opset=opset)


@pytest.mark.parametrize("op,low,high", [
    ("Sin", -7, 7), ("Cos", -7, 7), ("Tan", -1.5, 1.5), ("Asin", -1, 1), ("Acos", -1, 1),
    ("Atan", -20, 20), ("Sinh", -8, 8), ("Cosh", -8, 8), ("Sign", -3, 3),
])
def test_float_unary(op, low, high):
    model = _model(op, [("x", "float32", ["n", 4, 5])])
    for seed, batch in enumerate((1, 3)):
        x = random_input((batch, 4, 5), seed=seed, low=low, high=high)
        x[0, 0, :2] = [0.0, -0.0]
        assert_matches_onnxruntime(model, {"x": x}, rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float64", "float16"])
def test_trigonometric_other_float_types(dtype):
    model = _model("Sin", [("x", dtype, ["n", 6])])
    x = random_input((2, 6), dtype, low=-4, high=4)
    assert_matches_onnxruntime(model, {"x": x}, rtol=1e-3 if dtype == "float16" else 1e-12, atol=0)


@pytest.mark.parametrize("dtype", ["int32", "int64", "int8", "float64"])
def test_sign_other_types(dtype):
    model = _model("Sign", [("x", dtype, ["n", 7])])
    assert_matches_onnxruntime(model, {"x": random_input((3, 7), dtype, low=-4, high=4)})


def test_round_is_half_to_even():
    model = _model("Round", [("x", "float32", ["n"])])
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49, 2.51, -2.51, 7.0, -0.0, 1e7 + 0.5], np.float32)
    got = assert_matches_onnxruntime(model, {"x": x}, atol=0, rtol=0)[0]
    np.testing.assert_array_equal(got[:6], [0, 2, 2, -0, -2, -2])


@pytest.mark.parametrize("attrs", [{}, {"detect_negative": 0}, {"detect_positive": 0},
                                   {"detect_negative": 0, "detect_positive": 0}], ids=str)
def test_is_inf(attrs):
    model = _model("IsInf", [("x", "float32", ["n"])], out_dtype="bool", **attrs)
    x = np.array([np.inf, -np.inf, np.nan, 0.0, -3.0, 1e38, -1e38], np.float32)
    got = assert_matches_onnxruntime(model, {"x": x})[0]
    expected_inf = [attrs.get("detect_positive", 1), attrs.get("detect_negative", 1), 0, 0, 0, 0, 0]
    np.testing.assert_array_equal(got, np.array(expected_inf, bool))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_is_nan(dtype):
    model = _model("IsNaN", [("x", dtype, ["n", 2])], out_dtype="bool")
    x = np.array([[np.nan, 1.0], [-np.inf, -np.nan], [0.0, 2.0]], dtype)
    got = assert_matches_onnxruntime(model, {"x": x})[0]
    assert got.sum() == 2


@pytest.mark.parametrize("shapes", [(["n", 3, 4], ["n", 3, 4]), (["n", 3, 4], [4]), ([3, 1], ["n", 3, 5])], ids=str)
def test_xor_broadcasts(shapes):
    model = _model("Xor", [("a", "bool", shapes[0]), ("b", "bool", shapes[1])])
    feeds = {name: random_input([2 if d == "n" else d for d in shape], "bool", seed=i)
             for i, (name, shape) in enumerate(zip("ab", shapes))}
    assert_matches_onnxruntime(model, feeds)


def _nonzero(shape, dtype, seed, low=-9, high=9):
    x = random_input(shape, dtype, seed=seed, low=low, high=high)
    return np.where(x == 0, np.asarray(3, dtype), x).astype(dtype)


@pytest.mark.parametrize("dtype", ["int32", "int64", "int8", "uint8", "int16"])
@pytest.mark.parametrize("fmod", [0, 1])
def test_integer_mod(dtype, fmod):
    model = _model("Mod", [("a", dtype, ["n", 6]), ("b", dtype, [6])], fmod=fmod)
    low = 0 if dtype.startswith("u") else -30
    a = random_input((3, 6), dtype, seed=1, low=low, high=30)
    b = _nonzero((6,), dtype, seed=2, low=1 if low == 0 else -9)
    got = assert_matches_onnxruntime(model, {"a": a, "b": b})[0]
    expected = np.fmod(a, b) if fmod else np.mod(a, b)
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_float_fmod(dtype):
    model = _model("Mod", [("a", dtype, ["n", 5]), ("b", dtype, ["n", 5])], fmod=1)
    a = random_input((4, 5), dtype, seed=3, low=-10, high=10)
    b = _nonzero((4, 5), dtype, seed=4, low=-3, high=3)
    assert_matches_onnxruntime(model, {"a": a, "b": b}, rtol=1e-3 if dtype == "float16" else 1e-6)


def test_float_floor_mod_special_values():
    # fmod=0 on floats is opset 28's floor modulo (onnxruntime refuses it): the reference is the oracle.
    model = _model("Mod", [("a", "float32", ["n"]), ("b", "float32", ["n"])])
    a = np.array([5.5, -5.5, 5.5, -5.5, 0.0, -0.0, 0.0, np.inf, 3.0, 3.0, -3.0, 3.0, np.nan, 6.0], np.float32)
    b = np.array([2.0, 2.0, -2.0, -2.0, 3.0, 3.0, -3.0, 2.0, 0.0, np.inf, np.inf, -np.inf, 1.0, 3.0], np.float32)
    got = assert_matches_onnxruntime(model, {"a": a, "b": b}, oracle=run_reference)[0]
    np.testing.assert_array_equal(np.signbit(got[4:7]), [False, False, True])
    np.testing.assert_array_equal(got[9:12], [3.0, np.inf, -np.inf])
