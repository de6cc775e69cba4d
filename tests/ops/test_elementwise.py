"""Elementwise ops (activations, math, broadcasting arithmetic, comparison, logic, Where, Cast)
against onnxruntime, on several shapes including a symbolic batch dim."""
import numpy as np
import pytest
from onnx import TensorProto, helper

from support import assert_matches_onnxruntime, make_model, random_input, run_convrnn, run_onnxruntime, tensor_info

SHAPES = [(1, 64, 56, 56), (3, 5), (7,)]


def _model(op, inputs, opset=17, initializers=(), out_dtype=None, **attrs):
    """One `op` node over graph inputs given as (name, dtype, shape) triples."""
    names = [name for name, _, _ in inputs] + [name for name, _ in initializers]
    node = helper.make_node(op, names, ["out"], **attrs)
    dtype = out_dtype or inputs[0][1]
    return make_model([node], [tensor_info(n, d, s) for n, d, s in inputs],
                      [tensor_info("out", dtype, None)], initializers, opset=opset)


UNARY = [
    ("Relu", {}), ("LeakyRelu", {}), ("LeakyRelu", {"alpha": 0.3}), ("Sigmoid", {}), ("Tanh", {}),
    ("HardSigmoid", {}), ("HardSigmoid", {"alpha": 0.5, "beta": 0.25}), ("HardSwish", {}),
    ("Elu", {}), ("Elu", {"alpha": 0.5}), ("Softplus", {}), ("Erf", {}), ("Exp", {}), ("Abs", {}),
    ("Neg", {}), ("Reciprocal", {}), ("Floor", {}), ("Ceil", {}),
]


@pytest.mark.parametrize("op,attrs", UNARY, ids=lambda v: v if isinstance(v, str) else "-".join(map(str, v.values())))
def test_unary(op, attrs):
    model = _model(op, [("x", "float32", ["n", 5, 6])], **attrs)
    for seed, batch in enumerate((1, 3)):
        x = random_input((batch, 5, 6), seed=seed, low=-6, high=6)
        assert_matches_onnxruntime(model, {"x": x})


@pytest.mark.parametrize("op", ["Sigmoid", "Tanh", "Exp"])
def test_unary_float64_uses_exact_functions(op):
    model = _model(op, [("x", "float64", [3, 7])])
    assert_matches_onnxruntime(model, {"x": random_input((3, 7), "float64", low=-5, high=5)}, rtol=1e-12, atol=0)


@pytest.mark.parametrize("op", ["Log", "Sqrt"])
def test_unary_positive_domain(op):
    model = _model(op, [("x", "float32", [4, 9])])
    assert_matches_onnxruntime(model, {"x": random_input((4, 9), low=0.01, high=10)})


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_relu_shapes(shape):
    assert_matches_onnxruntime(_model("Relu", [("x", "float32", list(shape))]), {"x": random_input(shape)})


@pytest.mark.parametrize("op", ["Softplus", "Sigmoid", "Tanh", "Erf", "Exp", "Elu"])
def test_extreme_magnitudes(op):
    # The float32 exp/tanh/erf are polynomial approximations: check their tails and tiny inputs.
    x = np.array([-100.0, -50.0, -20.0, -3.3, -1e-5, 0.0, 3e-4, 1e-5, 0.7, 5.0, 20.0, 80.0], np.float32)
    if op in ("Softplus", "Exp"):
        x = x[x < 85]
    assert_matches_onnxruntime(_model(op, [("x", "float32", [x.size])]), {"x": x}, rtol=2e-6 if op != "Exp" else 1e-5)


@pytest.mark.parametrize("opset", [7, 11, 13, 21])
@pytest.mark.parametrize("bounds", [(-0.5, 0.7), (None, 0.7), (-0.5, None), (None, None)], ids=str)
def test_clip(opset, bounds):
    low, high = bounds
    x = random_input((2, 3, 8))
    if opset < 11:
        attrs = {k: v for k, v in (("min", low), ("max", high)) if v is not None}
        model = _model("Clip", [("x", "float32", [2, 3, 8])], opset=opset, **attrs)
    else:
        inits = [(name, np.array(v, np.float32)) for name, v in (("lo", low), ("hi", high)) if v is not None]
        names = ["x", "lo" if low is not None else "", "hi" if high is not None else ""]
        while names[-1] == "":
            names.pop()
        node = helper.make_node("Clip", names, ["y"])
        model = make_model([node], [tensor_info("x", "float32", [2, 3, 8])], [tensor_info("y", "float32", None)],
                           inits, opset=opset)
    assert_matches_onnxruntime(model, {"x": x})


def test_clip_int():
    node = helper.make_node("Clip", ["x", "lo", "hi"], ["y"])
    model = make_model([node], [tensor_info("x", "int64", [10])], [tensor_info("y", "int64", None)],
                       [("lo", np.array(-2, np.int64)), ("hi", np.array(3, np.int64))], opset=13)
    assert_matches_onnxruntime(model, {"x": random_input((10,), "int64", low=-9, high=9)})


BROADCASTS = [((2, 3, 4), (2, 3, 4)), ((2, 3, 4), (4,)), ((2, 1, 4), (3, 1)), ((1,), (2, 3)), ((3, 2), ())]


@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div"])
@pytest.mark.parametrize("shapes", BROADCASTS, ids=str)
def test_arithmetic_broadcast(op, shapes):
    a, b = shapes
    model = _model(op, [("a", "float32", list(a))], initializers=[("b", random_input(b, seed=2, low=0.5, high=3))])
    assert_matches_onnxruntime(model, {"a": random_input(a, seed=1)})
    swapped = _model(op, [("b", "float32", list(b) or [1])], initializers=[("a", random_input(a, seed=1))])
    assert_matches_onnxruntime(swapped, {"b": random_input(b or (1,), seed=2, low=0.5, high=3)})


def test_binary_symbolic_batch():
    model = _model("Mul", [("a", "float32", ["batch", 8]), ("b", "float32", [8])])
    for batch in (1, 4):
        assert_matches_onnxruntime(model, {"a": random_input((batch, 8)), "b": random_input((8,), seed=3)})


@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_integer_div_truncates(dtype):
    a = np.array([7, -7, 7, -7, 9, -1, 0], dtype)
    b = np.array([2, 2, -2, -2, 3, 4, 5], dtype)
    model = _model("Div", [("a", dtype, [7]), ("b", dtype, [7])])
    assert_matches_onnxruntime(model, {"a": a, "b": b})


@pytest.mark.parametrize("exponent", [((), "float32"), ((4,), "float32"), ((3, 4), "int64")], ids=str)
def test_pow(exponent):
    shape, dtype = exponent
    b = random_input(shape, dtype, seed=5, low=-2, high=3)
    model = _model("Pow", [("a", "float32", [3, 4])], opset=15, initializers=[("b", b)])
    assert_matches_onnxruntime(model, {"a": random_input((3, 4), low=0.1, high=3)})
    model = _model("Pow", [("a", "float32", [3, 4]), ("b", dtype, list(shape) or [1])], opset=15)
    assert_matches_onnxruntime(model, {"a": random_input((3, 4), low=0.1, high=3), "b": b.reshape(shape or (1,))})


@pytest.mark.parametrize("slope_shape", [(1,), (4, 1, 1), (5,)], ids=str)
def test_prelu(slope_shape):
    node = helper.make_node("PRelu", ["x", "slope"], ["y"])
    model = make_model([node], [tensor_info("x", "float32", ["n", 4, 3, 5])], [tensor_info("y", "float32", None)],
                       [("slope", random_input(slope_shape, seed=7, low=0, high=1))], opset=16)
    for batch in (1, 2):
        assert_matches_onnxruntime(model, {"x": random_input((batch, 4, 3, 5))})


@pytest.mark.parametrize("op", ["Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"])
@pytest.mark.parametrize("dtype", ["float32", "int64"])
def test_comparison(op, dtype):
    model = _model(op, [("a", dtype, [3, 4]), ("b", dtype, [4])], out_dtype="bool")
    a = random_input((3, 4), dtype, seed=1, low=-2, high=2).round()
    b = random_input((4,), dtype, seed=2, low=-2, high=2).round()
    assert_matches_onnxruntime(model, {"a": a, "b": b})


@pytest.mark.parametrize("op", ["And", "Or"])
def test_logic(op):
    model = _model(op, [("a", "bool", [2, 5]), ("b", "bool", [2, 1])])
    assert_matches_onnxruntime(model, {"a": random_input((2, 5), "bool", seed=1),
                                       "b": random_input((2, 1), "bool", seed=2)})


def test_not():
    model = _model("Not", [("a", "bool", [17])])
    assert_matches_onnxruntime(model, {"a": random_input((17,), "bool")})


@pytest.mark.parametrize("op", ["Max", "Min"])
def test_variadic_max_min(op):
    node = helper.make_node(op, ["a", "b", "c"], ["y"])
    model = make_model([node], [tensor_info(n, "float32", s) for n, s in (("a", [2, 3]), ("b", [3]), ("c", [2, 1]))],
                       [tensor_info("y", "float32", None)], opset=13)
    feeds = {n: random_input(s, seed=i) for i, (n, s) in enumerate((("a", (2, 3)), ("b", (3,)), ("c", (2, 1))))}
    assert_matches_onnxruntime(model, feeds)


@pytest.mark.parametrize("shapes", [((2, 3), (2, 3), (2, 3)), ((3, 1), (1, 4), (4,)), ((4,), (2, 1, 1), ())], ids=str)
def test_where(shapes):
    c, x, y = shapes
    model = _model("Where", [("c", "bool", list(c)), ("x", "float32", list(x))],
                   initializers=[("y", random_input(y, seed=3))], out_dtype="float32")
    assert_matches_onnxruntime(model, {"c": random_input(c, "bool", seed=1), "x": random_input(x, seed=2)})


CASTS = [("float32", TensorProto.INT64, "int64"), ("float32", TensorProto.INT32, "int32"),
         ("float32", TensorProto.BOOL, "bool"), ("int64", TensorProto.FLOAT, "float32"),
         ("bool", TensorProto.FLOAT, "float32"), ("float32", TensorProto.DOUBLE, "float64"),
         ("int32", TensorProto.INT64, "int64"), ("float32", TensorProto.UINT8, "uint8")]


@pytest.mark.parametrize("source,to,result", CASTS, ids=lambda v: str(v))
def test_cast(source, to, result):
    model = _model("Cast", [("x", source, [3, 7])], out_dtype=result, to=to)
    low = 0 if result == "uint8" else -5
    x = random_input((3, 7), source, low=low, high=5)
    if source == "float32" and result != "bool":
        x[0, :3] = [2.7, -2.7, 0.0] if low < 0 else [2.7, 0.2, 0.0]  # truncation toward zero
    if source == "float32" and result == "bool":
        x[0, :2] = 0.0
    assert_matches_onnxruntime(model, {"x": x})


def test_cast_to_same_dtype_and_unsupported_dtype():
    from convrnn.compiler.errors import UnsupportedError

    model = _model("Cast", [("x", "float32", [4])], to=TensorProto.FLOAT)
    assert_matches_onnxruntime(model, {"x": random_input((4,))})
    with pytest.raises(UnsupportedError, match="cast to"):
        from support import run_convrnn
        run_convrnn(_model("Cast", [("x", "float32", [4])], out_dtype="float32", to=TensorProto.STRING),
                    {"x": random_input((4,))})


def test_hard_swish_flushes_its_denormal_products_to_zero():
    # a tiny input (a conv's output near zero) times its gate of about 1/2 is a denormal float,
    # which would cost the convs reading it a microcode assist per multiply; convrnn gives 0,
    # within 1.2e-38 of ONNX's value
    x = np.array([2e-38, -2e-38, 1e-40, 3e-38, -3.0, -2.9, 0.0, 1.0, 3.5], np.float32)
    model = make_model([helper.make_node("HardSwish", ["x"], ["y"])], [tensor_info("x", "float32", [9])],
                       [tensor_info("y", "float32", None)], opset=14)
    got = run_convrnn(model, {"x": x})[0]
    want = run_onnxruntime(model, {"x": x})[0]
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=np.finfo(np.float32).tiny)
    denormal = (want != 0) & (np.abs(want) < np.finfo(np.float32).tiny)
    assert denormal[:3].all() and np.all(got[denormal] == 0) and got[3] == want[3] != 0
