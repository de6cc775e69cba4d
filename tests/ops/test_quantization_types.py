"""QuantizeLinear / DequantizeLinear with the quantized types beyond 8-bit ints: int16/uint16,
int4/uint4, int2/uint2, float8 (E4M3FN, E4M3FNUZ, E5M2, E5M2FNUZ; saturate on and off) and
float4 E2M1, per tensor, per axis and blocked, against onnx.reference bit for bit (onnxruntime
lacks most of these types). Zero points and weights may be constants (stored as their bits)."""
import ml_dtypes
import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import support
from convrnn.compiler.errors import ModelError

INTS = ["int16", "uint16", "int4", "uint4", "int2", "uint2"]
FLOAT8 = ["float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz"]
FLOAT4 = "float4_e2m1fn"


def _info(name, dtype, shape):
    return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(np.dtype(dtype)), shape)


def _initializer(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def _check(model, feeds):
    with np.errstate(all="ignore"):
        want = support.run_reference(model, feeds)
    got = support.run_convrnn(model, feeds)
    for ours, theirs in zip(got, want):
        support.assert_same_elements(ours, np.asarray(theirs))


def _ties(shape, seed):
    """Values on the ties of x / scale (k + 0.5), between them, and far outside every range."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-80000, 80000, size=shape).astype("float32") * 0.5
    x.reshape(-1)[::5] *= 1e-3
    x.reshape(-1)[:4] = [np.inf, -np.inf, np.nan, -0.0]
    return x


@pytest.mark.parametrize("dtype", INTS)
@pytest.mark.parametrize("mode", ["tensor", "axis", "blocked"])
def test_quantize_to_ints_rounds_half_to_even_and_saturates(dtype, mode):
    low, high = (ml_dtypes.iinfo(dtype).min, ml_dtypes.iinfo(dtype).max)
    rng = np.random.default_rng(1)
    shape = (3, 8)
    if mode == "tensor":
        scale, zero, attrs = np.array(0.5, "float32"), np.array((low + high) // 3, dtype), {}
    elif mode == "axis":
        scale = np.array([0.5, 2.0, 8.0], "float32")
        zero, attrs = rng.integers(low, high + 1, 3).astype(dtype), {"axis": 0}
    else:
        scale = rng.choice([0.5, 1.0, 4.0], (3, 3)).astype("float32")
        zero, attrs = rng.integers(low, high + 1, (3, 3)).astype(dtype), {"axis": 1, "block_size": 3}
    node = helper.make_node("QuantizeLinear", ["x", "scale", "zero"], ["y"], **attrs)
    model = support.make_model([node], [_info("x", "float32", shape)], [_info("y", dtype, shape)],
                               [_initializer("scale", scale), _initializer("zero", zero)], opset=21)
    x = _ties(shape, 2) / np.float32(1000 if dtype.endswith(("4", "2")) else 1)
    # NaN and Inf are undefined for ints (the reference's int32 conversion overflows): far
    # outside the range instead
    x.reshape(-1)[:3] = [1e9, -1e9, 0.0]
    _check(model, {"x": x})


def test_quantize_blocked_symmetric_to_int16_with_a_partial_block():
    node = helper.make_node("QuantizeLinear", ["x", "scale"], ["y"], axis=1, block_size=3,
                            output_dtype=TensorProto.INT16)
    model = support.make_model([node], [_info("x", "float32", [2, 7]), _info("scale", "float32", [2, 3])],
                               [_info("y", "int16", [2, 7])], opset=21)
    x = _ties((2, 7), 3)
    x.reshape(-1)[:3] = [1e9, -1e9, 1.5]  # not Inf or NaN: the reference overflows int32 on them
    _check(model, {"x": x, "scale": np.array([[0.5, 1.5, 3.0], [1e-4, 2.0, 7.0]], "float32")})


@pytest.mark.parametrize("dtype", INTS)
def test_dequantize_ints_per_axis(dtype):
    info = ml_dtypes.iinfo(dtype)
    count = min(info.max - int(info.min) + 1, 64)
    node = helper.make_node("DequantizeLinear", ["x", "scale", "zero"], ["y"], axis=1)
    model = support.make_model([node], [_info("x", dtype, [2, 4, count // 4 * 2 // 2 or 1]),
                                        _info("zero", dtype, [4])],
                               [_info("y", "float32", None)], [_initializer("scale", np.array([0.5, 3.0, 1e-3, 7.0], "float32"))],
                               opset=21)
    x = np.resize(np.arange(info.min, info.min + count), (2, 4, count // 4 * 2 // 2 or 1)).astype(dtype)
    zero = np.array([info.min, info.max, 0, info.max // 2], dtype=dtype)
    _check(model, {"x": x, "zero": zero})


@pytest.mark.parametrize("dtype", FLOAT8)
@pytest.mark.parametrize("saturate", [1, 0])
def test_quantize_to_float8(dtype, saturate):
    node = helper.make_node("QuantizeLinear", ["x", "scale", "zero"], ["y"], axis=0, saturate=saturate)
    model = support.make_model([node], [_info("x", "float32", [3, 16])], [_info("y", dtype, [3, 16])],
                               [_initializer("scale", np.array([1.0, 0.25, 3.0], "float32")),
                                _initializer("zero", np.zeros(3, getattr(ml_dtypes, dtype)))], opset=21)
    x = _ties((3, 16), 4) / np.float32(64)
    x[0, 4:8] = [448.0, 464.0, 480.0, 57344.0 * 1.2]  # the largest E4M3FN, ties past it, E5M2's overflow
    x[1, 4:8] = [2.0 ** -9, 2.0 ** -10, 1.5 * 2.0 ** -10, -2.0 ** -17]  # subnormals and their ties
    _check(model, {"x": x})


def test_quantize_to_float4_adds_the_zero_point():
    node = helper.make_node("QuantizeLinear", ["x", "scale", "zero"], ["y"], axis=0)
    model = support.make_model([node], [_info("x", "float32", [2, 12])], [_info("y", FLOAT4, [2, 12])],
                               [_initializer("scale", np.array([1.0, 4.0], "float32")),
                                _initializer("zero", np.array([0.5, -1.0], ml_dtypes.float4_e2m1fn))], opset=21)
    x = np.array([[0, 0.25, 0.75, 1.25, 2.5, 3.5, 5, 7, -30, np.nan, np.inf, -0.0]] * 2, "float32")
    _check(model, {"x": x})


@pytest.mark.parametrize("dtype", [*FLOAT8, FLOAT4])
@pytest.mark.parametrize("scale_dtype", ["float32", "float16"])
def test_dequantize_every_float_pattern(dtype, scale_dtype):
    count = 16 if dtype == FLOAT4 else 256
    node = helper.make_node("DequantizeLinear", ["x", "scale"], ["y"], axis=0)
    model = support.make_model([node], [_info("x", dtype, [2, count])], [_info("y", scale_dtype, None)],
                               [_initializer("scale", np.array([1.0, 0.125], scale_dtype))], opset=21)
    x = np.resize(np.arange(count, dtype=np.uint8), (2, count)).view(getattr(ml_dtypes, dtype))
    _check(model, {"x": x})


def test_float8_weights_dequantized_from_a_constant():
    # a float8 weight stored in the artifact as its bits, dequantized and used by a MatMul
    rng = np.random.default_rng(5)
    weight = rng.normal(0, 30, (6, 4)).astype(ml_dtypes.float8_e4m3fn)
    nodes = [helper.make_node("DequantizeLinear", ["w", "scale"], ["w_float"]),
             helper.make_node("MatMul", ["x", "w_float"], ["y"])]
    model = support.make_model(nodes, [_info("x", "float32", [3, 6])], [_info("y", "float32", None)],
                               [_initializer("w", weight), _initializer("scale", np.array(0.01, "float32"))], opset=21)
    x = rng.normal(size=(3, 6)).astype("float32")
    want = x @ (weight.astype(np.float32) * np.float32(0.01))
    np.testing.assert_allclose(support.run_convrnn(model, {"x": x})[0], want, rtol=1e-5, atol=1e-6)


def test_a_nonzero_float8_zero_point_is_an_error(tmp_path):
    from convrnn.compiler import compile_model

    node = helper.make_node("QuantizeLinear", ["x", "scale", "zero"], ["y"])
    model = support.make_model([node], [_info("x", "float32", [4])], [_info("y", "float8_e5m2", [4])],
                               [_initializer("scale", np.array(1.0, "float32")),
                                _initializer("zero", np.array(1.0, ml_dtypes.float8_e5m2))], opset=21)
    with pytest.raises(ModelError, match=r"QuantizeLinear node .* \(opset 21\): a float8_e5m2 zero point must be 0"):
        compile_model(model, tmp_path / "out")


def test_bfloat16_quantization_input_is_refused_by_name(tmp_path):
    # ONNX allows a bfloat16 x; its reference divides in bfloat16 (rounding x / scale twice),
    # which convrnn does not claim
    from convrnn.compiler import compile_model
    from convrnn.compiler.errors import UnsupportedError

    node = helper.make_node("QuantizeLinear", ["x", "scale"], ["y"])
    model = support.make_model([node], [_info("x", "bfloat16", [4])], [_info("y", "uint8", [4])],
                               [_initializer("scale", np.array(1.0, ml_dtypes.bfloat16))], opset=21)
    with pytest.raises(UnsupportedError, match=r"QuantizeLinear node .* \(opset 21\): input of element type bfloat16"):
        compile_model(model, tmp_path / "out")


@pytest.mark.parametrize("dtype", ["int8", "uint4", "float8_e4m3fn"])
def test_dequantize_to_a_bfloat16_scale_rounds_once(dtype):
    count = 16 if dtype == "uint4" else 256
    node = helper.make_node("DequantizeLinear", ["x", "scale"], ["y"], axis=0)
    model = support.make_model([node], [_info("x", dtype, [2, count])], [_info("y", "bfloat16", None)],
                               [_initializer("scale", np.array([1.0, 0.3], ml_dtypes.bfloat16))], opset=21)
    x = np.resize(np.arange(count, dtype=np.uint8), (2, count)).view(getattr(ml_dtypes, dtype, None) or np.dtype(dtype))
    _check(model, {"x": x})
