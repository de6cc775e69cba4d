"""Quantized ops against onnxruntime (onnx.reference or numpy where onnxruntime lacks a feature;
its integer products with int8 operands made exact on every host: compiler/integer_oracle.py):
integer outputs bit-exact, float outputs of integer products exact or within float rounding.
QuantizeLinear / DequantizeLinear (per-tensor, per-axis, blocked; uint8, int8; opsets 10-21),
DynamicQuantizeLinear, MatMulInteger, ConvInteger, com.microsoft MatMulIntegerToFloat,
DynamicQuantizeMatMul and DynamicQuantizeLSTM; symbolic dims; unclaimed types refused."""
import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import support
from convrnn.compiler.errors import UnsupportedError

EXACT = {"rtol": 0, "atol": 0}


def run_onnxruntime_exactly(model, feeds):
    from convrnn.compiler.integer_oracle import with_uint8_operands

    return support.run_onnxruntime(with_uint8_operands(model), feeds)


def _model(nodes, inputs, outputs, inits=(), opset=17, domains=()):
    model = support.make_model(nodes, inputs, outputs, inits, opset=opset)
    for domain in domains:
        model.opset_import.append(helper.make_opsetid(domain, 1))
    return model


def _ties(shape, scale, seed):
    """Floats on and between the rounding ties of x / scale (k + 0.5 exactly), and far outside
    the 8-bit range (saturation)."""
    rng = np.random.default_rng(seed)
    halves = rng.integers(-600, 600, size=shape).astype("float32") * 0.5
    halves[..., ::3] += 0.25
    return (halves * np.float32(scale)).astype("float32")


# --- QuantizeLinear -----------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["uint8", "int8"])
@pytest.mark.parametrize("opset", [10, 13, 19, 21])
def test_quantize_per_tensor_rounds_half_to_even_and_saturates(dtype, opset):
    zero = np.array(3 if dtype == "uint8" else -5, dtype=dtype)
    node = helper.make_node("QuantizeLinear", ["x", "scale", "zero"], ["y"])
    model = _model([node], [support.tensor_info("x", "float32", ["n", 7])], [support.tensor_info("y", dtype, None)],
                   [("scale", np.array(0.5, "float32")), ("zero", zero)], opset=opset)
    support.assert_matches_onnxruntime(model, {"x": _ties((5, 7), 0.5, 1)}, **EXACT)


def test_quantize_without_zero_point_is_uint8():
    node = helper.make_node("QuantizeLinear", ["x", "scale"], ["y"])
    model = _model([node], [support.tensor_info("x", "float32", [4, 6])], [support.tensor_info("y", "uint8", None)],
                   [("scale", np.array([0.02], "float32"))], opset=13)
    support.assert_matches_onnxruntime(model, {"x": support.random_input((4, 6), seed=2, low=-1, high=6)}, **EXACT)


@pytest.mark.parametrize("axis", [1, -1, 0])
@pytest.mark.parametrize("dtype", ["uint8", "int8"])
def test_quantize_per_axis(axis, dtype):
    shape = (3, 4, 5)
    channels = shape[axis]
    rng = np.random.default_rng(3)
    scale = rng.uniform(0.01, 0.1, channels).astype("float32")
    zero = rng.integers(0, 40, channels).astype(dtype)
    node = helper.make_node("QuantizeLinear", ["x", "scale", "zero"], ["y"], axis=axis)
    model = _model([node], [support.tensor_info("x", "float32", list(shape))], [support.tensor_info("y", dtype, None)],
                   [("scale", scale), ("zero", zero)], opset=13)
    support.assert_matches_onnxruntime(model, {"x": support.random_input(shape, seed=4, low=-8, high=8)}, **EXACT)


@pytest.mark.parametrize("block_size", [2, 3])
def test_quantize_blocked(block_size):
    shape = (4, 7)
    blocks = -(-shape[1] // block_size)
    rng = np.random.default_rng(5)
    scale = rng.uniform(0.01, 0.1, (4, blocks)).astype("float32")
    zero = rng.integers(-20, 20, (4, blocks)).astype("int8")
    node = helper.make_node("QuantizeLinear", ["x", "scale", "zero"], ["y"], axis=1, block_size=block_size)
    model = _model([node], [support.tensor_info("x", "float32", list(shape))], [support.tensor_info("y", "int8", None)],
                   [("scale", scale), ("zero", zero)], opset=21)
    support.assert_matches_onnxruntime(model, {"x": support.random_input(shape, seed=6, low=-5, high=5)}, **EXACT)


def test_quantize_float16_input():
    node = helper.make_node("QuantizeLinear", ["x", "scale", "zero"], ["y"])
    model = _model([node], [support.tensor_info("x", "float16", [16])], [support.tensor_info("y", "uint8", None)],
                   [("scale", np.array(0.25, "float16")), ("zero", np.array(128, "uint8"))], opset=19)
    support.assert_matches_onnxruntime(model, {"x": _ties((16,), 0.25, 7).astype("float16")}, **EXACT)


def test_quantize_scale_and_zero_point_as_run_time_inputs():
    node = helper.make_node("QuantizeLinear", ["x", "scale", "zero"], ["y"])
    inputs = [support.tensor_info("x", "float32", [3, 8]), support.tensor_info("scale", "float32", []),
              support.tensor_info("zero", "uint8", [])]
    model = _model([node], inputs, [support.tensor_info("y", "uint8", None)], opset=13)
    feeds = {"x": _ties((3, 8), 0.125, 8), "scale": np.array(0.125, "float32"), "zero": np.array(17, "uint8")}
    support.assert_matches_onnxruntime(model, feeds, **EXACT)


# --- DequantizeLinear ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["uint8", "int8"])
@pytest.mark.parametrize("opset", [10, 13, 21])
def test_dequantize_per_tensor(dtype, opset):
    zero = np.array(130 if dtype == "uint8" else -7, dtype=dtype)
    node = helper.make_node("DequantizeLinear", ["x", "scale", "zero"], ["y"])
    model = _model([node], [support.tensor_info("x", dtype, ["n", 9])], [support.tensor_info("y", "float32", None)],
                   [("scale", np.array(0.0371, "float32")), ("zero", zero)], opset=opset)
    low, high = np.iinfo(dtype).min, np.iinfo(dtype).max
    support.assert_matches_onnxruntime(model, {"x": support.random_input((4, 9), dtype, 9, low, high)}, **EXACT)


def test_dequantize_per_axis_and_int32():
    rng = np.random.default_rng(10)
    node = helper.make_node("DequantizeLinear", ["x", "scale", "zero"], ["y"], axis=1)
    node32 = helper.make_node("DequantizeLinear", ["x32", "scale32"], ["y32"])
    model = _model([node, node32], [support.tensor_info("x", "uint8", [2, 5, 3]), support.tensor_info("x32", "int32", [6])],
                   [support.tensor_info("y", "float32", None), support.tensor_info("y32", "float32", None)],
                   [("scale", rng.uniform(0.01, 0.2, 5).astype("float32")),
                    ("zero", rng.integers(0, 255, 5).astype("uint8")), ("scale32", np.array(1e-3, "float32"))],
                   opset=13)
    feeds = {"x": support.random_input((2, 5, 3), "uint8", 11, 0, 255),
             "x32": np.array([-2**31, -70000, -1, 0, 123457, 2**31 - 1], "int32")}
    support.assert_matches_onnxruntime(model, feeds, **EXACT)


def test_dequantize_blocked():
    rng = np.random.default_rng(12)
    node = helper.make_node("DequantizeLinear", ["x", "scale", "zero"], ["y"], axis=0, block_size=2)
    model = _model([node], [support.tensor_info("x", "int8", [5, 3])], [support.tensor_info("y", "float32", None)],
                   [("scale", rng.uniform(0.01, 0.2, (3, 3)).astype("float32")),
                    ("zero", rng.integers(-9, 9, (3, 3)).astype("int8"))], opset=21)
    support.assert_matches_onnxruntime(model, {"x": support.random_input((5, 3), "int8", 13, -128, 127)}, **EXACT)


# --- DynamicQuantizeLinear ----------------------------------------------------------------------

@pytest.mark.parametrize("low, high", [(-2.0, 2.0), (0.5, 3.0), (-3.0, -0.25)], ids=["mixed", "positive", "negative"])
def test_dynamic_quantize_linear_is_bit_exact(low, high):
    node = helper.make_node("DynamicQuantizeLinear", ["x"], ["y", "scale", "zero"])
    outputs = [support.tensor_info("y", "uint8", None), support.tensor_info("scale", "float32", None),
               support.tensor_info("zero", "uint8", None)]
    model = _model([node], [support.tensor_info("x", "float32", ["batch", "seq", 24])], outputs, opset=11)
    for seed, shape in enumerate([(1, 5, 24), (3, 17, 24)]):
        support.assert_matches_onnxruntime(model, {"x": support.random_input(shape, seed=seed, low=low, high=high)},
                                           **EXACT)


def test_dynamic_quantize_linear_of_zeros_and_of_ties():
    node = helper.make_node("DynamicQuantizeLinear", ["x"], ["y", "scale", "zero"])
    outputs = [support.tensor_info("y", "uint8", None), support.tensor_info("scale", "float32", None),
               support.tensor_info("zero", "uint8", None)]
    model = _model([node], [support.tensor_info("x", "float32", [8])], outputs, opset=11)
    support.assert_matches_onnxruntime(model, {"x": np.zeros(8, "float32")}, **EXACT)
    # range [-1.275, 1.275]: scale 0.01, zero point 127.5 -> 128 (half to even), y on ties
    ties = np.array([-1.275, 1.275, 0.005, -0.005, 0.015, 0.025, 0.0, 1.0], "float32")
    support.assert_matches_onnxruntime(model, {"x": ties}, **EXACT)


# --- MatMulInteger ------------------------------------------------------------------------------

def _integers(shape, dtype, seed):
    info = np.iinfo(dtype)
    return support.random_input(shape, dtype, seed, info.min, info.max)


@pytest.mark.parametrize("a_dtype, b_dtype", [("uint8", "int8"), ("uint8", "uint8"), ("int8", "int8")])
def test_matmul_integer_scalar_zero_points(a_dtype, b_dtype):
    node = helper.make_node("MatMulInteger", ["A", "B", "a_zero", "b_zero"], ["Y"])
    inputs = [support.tensor_info("A", a_dtype, ["batch", "seq", 40]), support.tensor_info("a_zero", a_dtype, [])]
    model = _model([node], inputs, [support.tensor_info("Y", "int32", None)],
                   [("B", _integers((40, 24), b_dtype, 1)), ("b_zero", np.array(3, b_dtype))], opset=10)
    for seed, shape in enumerate([(1, 1, 40), (2, 7, 40)]):
        feeds = {"A": _integers(shape, a_dtype, seed + 2), "a_zero": np.array(100 if a_dtype == "uint8" else -3, a_dtype)}
        support.assert_matches_onnxruntime(model, feeds, **EXACT, oracle=run_onnxruntime_exactly)


def test_matmul_integer_per_column_b_zero_point_and_no_a_zero_point():
    node = helper.make_node("MatMulInteger", ["A", "B", "", "b_zero"], ["Y"])
    model = _model([node], [support.tensor_info("A", "uint8", ["m", 33])], [support.tensor_info("Y", "int32", None)],
                   [("B", _integers((33, 19), "uint8", 3)), ("b_zero", _integers((19,), "uint8", 4))], opset=10)
    support.assert_matches_onnxruntime(model, {"A": _integers((6, 33), "uint8", 5)}, **EXACT,
                                       oracle=run_onnxruntime_exactly)


def _ops(model):
    from convrnn.compiler.passes import run_pipeline
    from convrnn.frontend import import_onnx

    return [n.op for n in run_pipeline(import_onnx(model), verify=True).nodes]


@pytest.mark.parametrize("b_dtype, b_zero, a_shape, feeds", [
    ("int8", np.array(3, "int8"), ["batch", "seq", 40], [(1, 1, 40), (2, 7, 40)]),
    ("uint8", np.arange(120, 168, dtype="uint8"), ["m", 40], [(13, 40)]),
    ("int8", None, [40], [(40,)]),
], ids=["scalar_zero_point", "per_column_zero_point", "a_vector"])
def test_matmul_integer_by_a_constant_b_runs_packed_and_exact(b_dtype, b_zero, a_shape, feeds):
    """uint8 A by a constant [40, 48] B: B - its zero point packed for the dot-product kernel
    (rows of A past a whole register tile of 6, a vector A), bit-exact with onnxruntime."""
    rng = np.random.default_rng(11)
    low, high = (-100, 100) if b_dtype == "int8" else (0, 255)
    b = rng.integers(low, high + 1, (40, 48)).astype(b_dtype)
    if b_dtype == "uint8":  # b - zero point must fit int8
        b = np.clip(b.astype(np.int32), b_zero.astype(np.int32) - 128, b_zero.astype(np.int32) + 127).astype("uint8")
    inits = [("B", b)] + ([] if b_zero is None else [("b_zero", b_zero)])
    node = helper.make_node("MatMulInteger", ["A", "B", "a_zero", "b_zero" if b_zero is not None else ""], ["Y"])
    inputs = [support.tensor_info("A", "uint8", a_shape), support.tensor_info("a_zero", "uint8", [])]
    model = _model([node], inputs, [support.tensor_info("Y", "int32", None)], inits, opset=10)
    assert "MatMulIntegerPacked" in _ops(model) and "MatMulInteger" not in _ops(model)
    for seed, shape in enumerate(feeds):
        support.assert_matches_onnxruntime(model, {"A": _integers(shape, "uint8", seed), "a_zero": np.array(131, "uint8")},
                                           **EXACT, oracle=run_onnxruntime_exactly)


def _kernel_config(vnni):
    """The host's target, without VNNI for the int32-sums kernels; the vpdpbusd kernels run only
    on a host that has it (elsewhere they would stop on an illegal instruction)."""
    from convrnn.compiler.target import parse_target

    host = parse_target("cpu")
    if vnni and not host.has_feature("avx512vnni"):
        pytest.skip("this host's CPU has no AVX512-VNNI to run vpdpbusd on "
                    "(test_*_uses_vnni still checks the kernel is built)")
    config = host.json
    if not vnni:
        config["mattr"] = list(config.get("mattr", [])) + ["-avx512vnni", "-avxvnni"]
    return config


@pytest.mark.parametrize("vnni", [True, False], ids=["vpdpbusd", "int32_sums"])
def test_packed_integer_matmul_kernel_with_and_without_vnni(vnni):
    import tvm

    from convrnn.schedules.cpu.integer_matmul_packed import pack_integer_matrix, packed_integer_matmul_primfunc

    rng = np.random.default_rng(14)
    a = rng.integers(0, 256, (9, 64)).astype("uint8")
    b = rng.integers(-128, 128, (64, 32)).astype("int8")
    packed, sums = pack_integer_matrix(b, None)
    zero = np.array(77, "uint8")
    y = np.zeros((9, 32), "int32")
    executable = tvm.compile(tvm.IRModule({"main": packed_integer_matmul_primfunc(64, 32, vnni)}),
                             target=tvm.target.Target(_kernel_config(vnni)))
    tensors = [tvm.runtime.tensor(t) for t in (a, packed, sums, zero, y)]
    executable["main"](*tensors)
    expected = (a.astype(np.int32) - 77) @ b.astype(np.int32)
    np.testing.assert_array_equal(tensors[-1].numpy(), expected)
    assert ("vpdpbusd" in executable.mod.inspect_source("asm")) == vnni


def test_matmul_integer_whose_shifted_b_does_not_fit_int8_stays_as_it_is():
    node = helper.make_node("MatMulInteger", ["A", "B"], ["Y"])
    model = _model([node], [support.tensor_info("A", "uint8", ["m", 8])], [support.tensor_info("Y", "int32", None)],
                   [("B", _integers((8, 16), "uint8", 12))], opset=10)
    assert "MatMulInteger" in _ops(model)
    support.assert_matches_onnxruntime(model, {"A": _integers((5, 8), "uint8", 13)}, **EXACT,
                                       oracle=run_onnxruntime_exactly)


def _numpy_matmul_integer(model, feeds):
    """(A - a_zero [M] per row) @ (B - b_zero), in int32: the ONNX reference evaluator cannot
    broadcast an M-element zero point against [M, K]."""
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    a = feeds["A"].astype("int32") - inits["a_zero"].astype("int32").reshape(-1, 1)
    b = feeds["B"].astype("int32") - inits["b_zero"].astype("int32")
    return [np.matmul(a, b).astype("int32")]


def test_matmul_integer_per_row_a_zero_point_and_batched_b():
    # onnxruntime takes only a scalar A zero point: numpy is the oracle here.
    node = helper.make_node("MatMulInteger", ["A", "B", "a_zero", "b_zero"], ["Y"])
    model = _model([node], [support.tensor_info("A", "int8", [4, 10]), support.tensor_info("B", "int8", [2, 10, 3])],
                   [support.tensor_info("Y", "int32", None)],
                   [("a_zero", _integers((4,), "int8", 6)), ("b_zero", _integers((2, 1, 3), "int8", 7))], opset=10)
    feeds = {"A": _integers((4, 10), "int8", 8), "B": _integers((2, 10, 3), "int8", 9)}
    support.assert_matches_onnxruntime(model, feeds, oracle=_numpy_matmul_integer, **EXACT)


# --- ConvInteger --------------------------------------------------------------------------------

@pytest.mark.parametrize("group, pads, strides, dilations", [(1, [1, 1, 1, 1], [1, 1], [1, 1]),
                                                            (2, [0, 1, 2, 0], [2, 1], [1, 2])], ids=str)
def test_conv_integer(group, pads, strides, dilations):
    node = helper.make_node("ConvInteger", ["x", "w", "x_zero", "w_zero"], ["y"], group=group, pads=pads,
                            strides=strides, dilations=dilations)
    w_zero = np.array(2, "uint8")
    model = _model([node], [support.tensor_info("x", "uint8", ["n", 4, 7, 9])], [support.tensor_info("y", "int32", None)],
                   [("w", _integers((6, 4 // group, 3, 3), "uint8", 10)), ("x_zero", np.array(120, "uint8")),
                    ("w_zero", w_zero)], opset=10)
    for seed, batch in enumerate([1, 2]):
        support.assert_matches_onnxruntime(model, {"x": _integers((batch, 4, 7, 9), "uint8", seed)}, **EXACT,
                                           oracle=run_onnxruntime_exactly)


def _numpy_conv1d_integer(model, feeds):
    """1-d ConvInteger with pads [2, 1] and a per-output-channel w zero point, in numpy (the ONNX
    reference evaluator cannot broadcast a per-channel zero point)."""
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    x = np.pad(feeds["x"].astype("int32") - int(inits["x_zero"]), [(0, 0), (0, 0), (2, 1)])
    w = inits["w"].astype("int32") - inits["w_zero"].astype("int32")[:, None, None]
    width = x.shape[2] - w.shape[2] + 1
    windows = np.stack([x[:, :, t:t + w.shape[2]] for t in range(width)], axis=2)  # n, c, t, k
    return [np.einsum("nctk,ock->not", windows, w).astype("int32")]


def test_conv_integer_per_channel_weight_zero_point_1d():
    # onnxruntime takes one w zero point: numpy is the oracle here
    node = helper.make_node("ConvInteger", ["x", "w", "x_zero", "w_zero"], ["y"], pads=[2, 1])
    model = _model([node], [support.tensor_info("x", "int8", [2, 3, 11])], [support.tensor_info("y", "int32", None)],
                   [("w", _integers((5, 3, 4), "int8", 11)), ("x_zero", np.array(-4, "int8")),
                    ("w_zero", _integers((5,), "int8", 12))], opset=10)
    support.assert_matches_onnxruntime(model, {"x": _integers((2, 3, 11), "int8", 13)}, oracle=_numpy_conv1d_integer,
                                       **EXACT)


# --- refused element types ----------------------------------------------------------------------

@pytest.mark.parametrize("elem_type", [TensorProto.FLOAT6E2M3, TensorProto.UINT32])
def test_unclaimed_quantized_types_are_refused(elem_type, tmp_path):
    from convrnn.compiler import compile_model

    node = helper.make_node("QuantizeLinear", ["x", "scale", "zero"], ["y"])
    zero = helper.make_tensor("zero", elem_type, [], [0])
    graph = helper.make_graph([node], "q", [support.tensor_info("x", "float32", [4])],
                              [helper.make_tensor_value_info("y", elem_type, None)],
                              [helper.make_tensor("scale", TensorProto.FLOAT, [], [1.0]), zero])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)], ir_version=support.IR_VERSION)
    with pytest.raises(UnsupportedError, match="QuantizeLinear node .* element type"):
        compile_model(model, tmp_path / "out")


def test_integer_products_still_take_only_8_bit_operands(tmp_path):
    from convrnn.compiler import compile_model

    node = helper.make_node("MatMulInteger", ["a", "b"], ["y"])
    model = _model([node], [support.tensor_info("a", "int16", [2, 3]), support.tensor_info("b", "int16", [3, 2])],
                   [support.tensor_info("y", "int32", None)], opset=10)
    with pytest.raises(UnsupportedError, match="MatMulInteger node .* element type int16"):
        compile_model(model, tmp_path / "out")


# --- MatMulIntegerToFloat, DynamicQuantizeMatMul (com.microsoft) --------------------------------

MS = "com.microsoft"


@pytest.mark.parametrize("b_dtype", ["int8", "uint8"])
@pytest.mark.parametrize("per_column", [False, True], ids=["per_tensor", "per_column"])
def test_matmul_integer_to_float(b_dtype, per_column):
    rng = np.random.default_rng(20)
    n = 24
    b_scale = rng.uniform(0.001, 0.01, n if per_column else ()).astype("float32")
    b_zero = (rng.integers(0, 9, n) if per_column else np.array(4)).astype(b_dtype)
    node = helper.make_node("MatMulIntegerToFloat", ["A", "B", "a_scale", "b_scale", "a_zero", "b_zero", "bias"],
                            ["Y"], domain=MS)
    model = _model([node], [support.tensor_info("A", "uint8", ["batch", 5, 32])],
                   [support.tensor_info("Y", "float32", None)],
                   [("B", _integers((32, n), b_dtype, 21)), ("a_scale", np.array(0.02, "float32")),
                    ("b_scale", b_scale), ("a_zero", np.array(120, "uint8")), ("b_zero", b_zero),
                    ("bias", rng.standard_normal(n).astype("float32"))], domains=[MS])
    support.assert_matches_onnxruntime(model, {"A": _integers((3, 5, 32), "uint8", 22)}, rtol=1e-6, atol=1e-6,
                                       oracle=run_onnxruntime_exactly)


@pytest.mark.parametrize("with_bias", [False, True])
def test_dynamic_quantize_matmul(with_bias):
    rng = np.random.default_rng(23)
    names = ["A", "B", "b_scale", "b_zero"] + (["bias"] if with_bias else [])
    inits = [("B", _integers((48, 16), "int8", 24)), ("b_scale", np.array(0.004, "float32")),
             ("b_zero", np.array(0, "int8"))] + ([("bias", rng.standard_normal(16).astype("float32"))] if with_bias else [])
    node = helper.make_node("DynamicQuantizeMatMul", names, ["Y"], domain=MS)
    model = _model([node], [support.tensor_info("A", "float32", ["rows", 48])], [support.tensor_info("Y", "float32", None)],
                   inits, domains=[MS])
    for seed, rows in enumerate([1, 9]):
        support.assert_matches_onnxruntime(model, {"A": support.random_input((rows, 48), seed=seed)}, rtol=1e-6,
                                           atol=1e-6, oracle=run_onnxruntime_exactly)


# --- DynamicQuantizeLSTM (com.microsoft) --------------------------------------------------------

def _quantized(weights, dtype, per_column, rng):
    """(quantized weights, scale, zero point) per direction (or per column) of float weights [D, K, 4H]."""
    axis_shape = weights.shape[:1] + ((weights.shape[2],) if per_column else ())
    if dtype == "int8":
        scale = (np.abs(weights).max(axis=1 if per_column else (1, 2)) / 127).astype("float32")
        zero = np.zeros(axis_shape, "int8")
        expand = scale[:, None, :] if per_column else scale[:, None, None]
        q = np.clip(np.round(weights / expand), -127, 127).astype("int8")
    else:
        scale = np.full(axis_shape, (weights.max() - weights.min()) / 255, "float32")
        zero = np.full(axis_shape, 128, "uint8")
        expand = scale[:, None, :] if per_column else scale[:, None, None]
        q = np.clip(np.round(weights / expand) + 128, 0, 255).astype("uint8")
    return q, scale, zero


def dq_lstm_case(hidden, inputs, direction, seq, batch, dtype="int8", per_column=False, lens=None, states=True,
                 peepholes=False, outputs=("Y", "Y_h", "Y_c"), symbolic=False, seed=30, input_forget=0):
    rng = np.random.default_rng(seed)
    directions = 2 if direction == "bidirectional" else 1
    w, w_scale, w_zero = _quantized(rng.uniform(-0.4, 0.4, (directions, inputs, 4 * hidden)), dtype, per_column, rng)
    r, r_scale, r_zero = _quantized(rng.uniform(-0.4, 0.4, (directions, hidden, 4 * hidden)), dtype, per_column, rng)
    inits = [("W", w), ("R", r), ("B", rng.uniform(-0.5, 0.5, (directions, 8 * hidden)).astype("float32")),
             ("W_scale", w_scale), ("W_zero", w_zero), ("R_scale", r_scale), ("R_zero", r_zero)]
    seq_dim, batch_dim = ("seq", "batch") if symbolic else (seq, batch)
    graph_inputs = [support.tensor_info("X", "float32", [seq_dim, batch_dim, inputs])]
    feeds = {"X": support.random_input((seq, batch, inputs), seed=seed + 1)}
    names = ["X", "W", "R", "B", "", "", "", "", "W_scale", "W_zero", "R_scale", "R_zero"]
    if lens is not None:
        names[4] = "lens"
        graph_inputs.append(support.tensor_info("lens", "int32", [batch_dim]))
        feeds["lens"] = np.array(lens, "int32")
    if states:
        for index, name in ((5, "h0"), (6, "c0")):
            names[index] = name
            graph_inputs.append(support.tensor_info(name, "float32", [directions, batch_dim, hidden]))
            feeds[name] = support.random_input((directions, batch, hidden), seed=seed + index, low=-0.5, high=0.5)
    if peepholes:
        names[7] = "P"
        inits.append(("P", rng.uniform(-0.5, 0.5, (directions, 3 * hidden)).astype("float32")))
    node = helper.make_node("DynamicQuantizeLSTM", names, [o if o in outputs else "" for o in ("Y", "Y_h", "Y_c")],
                            domain=MS, hidden_size=hidden, direction=direction, input_forget=input_forget)
    model = _model([node], graph_inputs, [support.tensor_info(o, "float32", None) for o in outputs], inits,
                   domains=[MS])
    return model, feeds


def assert_lstm_matches(model, feeds):
    """Each output within 1e-4 of its largest magnitude of onnxruntime's."""
    expected = run_onnxruntime_exactly(model, feeds)
    actual = support.run_convrnn(model, feeds)
    for index, (got, want) in enumerate(zip(actual, expected)):
        assert got.shape == want.shape and got.dtype == want.dtype, f"output {index}: {got.shape} vs {want.shape}"
        worst = float(np.abs(got - want).max()) / max(float(np.abs(want).max()), 1e-30)
        assert worst <= 1e-4, f"output {index}: error {worst:.2e} of its max magnitude"


@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
@pytest.mark.parametrize("dtype", ["int8", "uint8"])
def test_dynamic_quantize_lstm_directions(direction, dtype):
    assert_lstm_matches(*dq_lstm_case(16, 12, direction, seq=6, batch=3, dtype=dtype))


def test_dynamic_quantize_lstm_per_column_scales_peepholes_no_states():
    assert_lstm_matches(*dq_lstm_case(24, 10, "bidirectional", seq=5, batch=2, per_column=True, states=False,
                                      peepholes=True))


def test_dynamic_quantize_lstm_sequence_lens_and_symbolic_dims():
    model, feeds = dq_lstm_case(8, 6, "bidirectional", seq=7, batch=4, lens=[6, 3, 0, 5], symbolic=True)
    assert_lstm_matches(model, feeds)


def test_dynamic_quantize_lstm_only_final_states_and_input_forget():
    assert_lstm_matches(*dq_lstm_case(12, 9, "forward", seq=8, batch=2, outputs=("Y_h", "Y_c"), input_forget=1))


@pytest.mark.parametrize("direction,lens", [("forward", [9, 4, 0]), ("bidirectional", None)])
def test_dynamic_quantize_lstm_several_tiles_and_padded_inputs(direction, lens):
    """Hidden 128 (two tiles of the packed kernel: a barrier per step on two threads) and 40
    inputs (padded to 48); batch 3."""
    assert_lstm_matches(*dq_lstm_case(128, 40, direction, seq=9, batch=3, lens=lens, peepholes=True))


def test_dynamic_quantize_lstm_without_vnni():
    """A target without AVX512-VNNI: the same packed sums in plain int32 vector arithmetic."""
    model, feeds = dq_lstm_case(80, 12, "bidirectional", seq=5, batch=2, dtype="uint8", per_column=True)
    expected = run_onnxruntime_exactly(model, feeds)
    actual = support.run_convrnn(model, feeds, target=json.dumps(_kernel_config(False)))
    for got, want in zip(actual, expected):
        assert float(np.abs(got - want).max()) <= 1e-4 * float(np.abs(want).max())


def test_dynamic_quantize_lstm_wide_uint8_weights_take_the_serial_kernel():
    """uint8 weights whose value minus zero point leaves int8 (zero point 10) cannot be packed
    for uint8 x int8 products: the serial kernel runs them."""
    from convrnn.schedules.cpu.dynamic_quantize_lstm_packed import pack_weights

    model, feeds = dq_lstm_case(16, 12, "forward", seq=6, batch=2, dtype="uint8")
    inits = {init.name: init for init in model.graph.initializer}
    for name, zero in (("W", "W_zero"), ("R", "R_zero")):
        q = onnx.numpy_helper.to_array(inits[name]).astype(np.int32) - 128 + 10
        q = np.clip(q * 2, 0, 255).astype("uint8")  # values 0 .. 255 around zero point 10
        inits[name].CopyFrom(onnx.numpy_helper.from_array(q, name))
        inits[zero].CopyFrom(onnx.numpy_helper.from_array(np.full(q.shape[:1], 10, "uint8"), zero))
        assert pack_weights(q, np.full(q.shape[:1], 10, "int32"), 16, 16 if name == "R" else 16) is None
    from convrnn.compiler.passes import run_pipeline
    from convrnn.frontend import import_onnx

    assert _dq_lstm_node(run_pipeline(import_onnx(model), "cpu")).attrs["packed"] == 0
    assert_lstm_matches(model, feeds)


def _packed_and_serial_kernels_agree(hidden, inputs, directions, seq, batch, lens, threads, vnni, store_y=True):
    import tvm

    from convrnn.schedules.cpu.dynamic_quantize_lstm import dynamic_quantize_lstm_primfunc
    from convrnn.schedules.cpu.dynamic_quantize_lstm_packed import pack_columns, pack_weights, packed_primfunc, padded_sizes

    rng = np.random.default_rng(7)
    attrs = {"hidden_size": hidden, "input_size": inputs, "num_directions": directions, "reverse": 0,
             "input_forget": 0, "clip": 2.5, "store_y": int(store_y), "has_lens": int(lens is not None),
             "has_initial_h": 1, "has_initial_c": 1, "has_peepholes": 1, "w_dtype": "int8", "r_dtype": "int8"}
    w = rng.integers(-128, 128, (directions, inputs, 4 * hidden)).astype("int8")
    r = rng.integers(-128, 128, (directions, hidden, 4 * hidden)).astype("int8")
    bias = rng.uniform(-0.5, 0.5, (directions, 4 * hidden)).astype("float32")
    p = rng.uniform(-0.5, 0.5, (directions, 3, hidden)).astype("float32")
    ws = rng.uniform(0.002, 0.004, (directions, 4 * hidden)).astype("float32")
    rs = rng.uniform(0.002, 0.004, (directions, 4 * hidden)).astype("float32")
    x = rng.standard_normal((seq, batch, inputs)).astype("float32")
    sl = np.array(lens if lens is not None else [0], "int32")
    h0, c0 = (rng.uniform(-0.5, 0.5, (directions, batch, hidden)).astype("float32") for _ in range(2))
    zeros = np.zeros(directions, "int32")
    outputs = [np.zeros((seq, directions, batch, hidden) if store_y else (1, 1, 1, 1), "float32"),
               np.zeros((directions, batch, hidden), "float32"), np.zeros((directions, batch, hidden), "float32")]
    _, padded, inputs_padded = padded_sizes(hidden, inputs)
    (wp, wsum), (rp, rsum) = pack_weights(w, zeros, hidden, inputs_padded), pack_weights(r, zeros, hidden, padded)
    pp = np.zeros((directions, 3, padded), "float32")
    pp[:, :, :hidden] = p
    target = tvm.target.Target(_kernel_config(vnni))
    results = []
    for func, args in ((dynamic_quantize_lstm_primfunc(attrs), [x, w, r, bias, sl, h0, c0, p, ws, zeros, rs, zeros]),
                       (packed_primfunc(attrs, vnni, threads),
                        [x, wp, wsum, rp, rsum, pack_columns(bias, hidden), sl, h0, c0, pp, pack_columns(ws, hidden),
                         pack_columns(rs, hidden)])):
        tensors = [tvm.runtime.tensor(a) for a in args + outputs]
        tvm.compile(tvm.IRModule({"main": func}), target=target)["main"](*tensors)
        results.append([t.numpy() for t in tensors[-3:]])
    for serial, packed in zip(*results):
        assert float(np.abs(serial - packed).max()) <= 1e-6 * max(float(np.abs(serial).max()), 1e-30)


@pytest.mark.parametrize("threads", [1, 2, 4])
@pytest.mark.parametrize("directions", [1, 2])
def test_dynamic_quantize_lstm_packed_kernel_task_splits(threads, directions):
    """The packed kernel's splits of a step among threads (one task; tile groups with a barrier
    per step; a direction per thread) against the serial kernel, lengths in a batch of 3."""
    _packed_and_serial_kernels_agree(256, 20, directions, seq=7, batch=3, lens=[7, 2, 5], threads=threads,
                                     vnni=True)


@pytest.mark.parametrize("vnni", [True, False])
def test_dynamic_quantize_lstm_packed_kernel_without_y_and_padded_units(vnni):
    _packed_and_serial_kernels_agree(40, 33, 2, seq=6, batch=2, lens=[6, 3], threads=2, vnni=vnni, store_y=False)


def test_dynamic_quantize_lstm_packed_kernel_uses_vnni():
    """On a VNNI target the products are vpdpbusd (4 uint8 x int8 pairs into each int32 lane)."""
    import tvm

    from convrnn.schedules.cpu.dynamic_quantize_lstm_packed import packed_primfunc

    attrs = {"hidden_size": 64, "input_size": 32, "num_directions": 1, "reverse": 0, "input_forget": 0,
             "clip": None, "store_y": 1, "has_lens": 0, "has_initial_h": 0, "has_initial_c": 0, "has_peepholes": 0}
    target = tvm.target.Target({"kind": "llvm", "mcpu": "cascadelake"})
    executable = tvm.compile(tvm.IRModule({"main": packed_primfunc(attrs, True, 2)}), target=target)
    assert "vpdpbusd" in executable.mod.inspect_source("asm")


@pytest.mark.parametrize("shape, feed", [([1, "T", "T", 128], (1, 7, 7, 128)), (["b", "T", 3, 256], (2, 5, 3, 256)),
                                         (["n", 256], (130, 256)), ([3, 128], (3, 128))], ids=str)
def test_dynamic_quantize_linear_by_row_blocks(shape, feed):
    # a last axis of whole vector rows reduces in two passes (blocks of rows: of a matrix 64,
    # of a higher rank its second-to-last axis; then the blocks): bit-exact with onnxruntime
    # at row counts that are not whole blocks
    from onnx import helper

    import support

    node = helper.make_node("DynamicQuantizeLinear", ["x"], ["y", "s", "z"])
    model = support.make_model([node], [support.tensor_info("x", "float32", shape)],
                               [support.tensor_info("y", "uint8", None), support.tensor_info("s", "float32", None),
                                support.tensor_info("z", "uint8", None)])
    x = support.random_input(feed, low=-3, high=5)
    for ours, theirs in zip(support.run_convrnn(model, {"x": x}), support.run_onnxruntime(model, {"x": x})):
        np.testing.assert_array_equal(ours, theirs)


def test_the_integer_oracle_is_exact_where_pair_sums_leave_int16():
    """255 x 127 over K = 64: pair sums of 64770 that a saturating uint8 x int8 kernel clips."""
    node = helper.make_node("MatMulInteger", ["A", "B"], ["Y"])
    model = _model([node], [support.tensor_info("A", "uint8", [2, 64])], [support.tensor_info("Y", "int32", None)],
                   [("B", np.full((64, 3), 127, "int8"))], opset=10)
    a = np.full((2, 64), 255, "uint8")
    (y,) = run_onnxruntime_exactly(model, {"A": a})
    np.testing.assert_array_equal(y, np.full((2, 3), 255 * 127 * 64, "int32"))


def _dq_lstm_node(graph):
    (node,) = [n for n in graph.nodes if n.op == "DynamicQuantizeLSTM"]
    return node


def test_dynamic_quantize_lstm_leaves_the_frontend_plain_and_the_cpu_pipeline_packs_it():
    from convrnn.compiler.passes import run_pipeline
    from convrnn.frontend import import_onnx

    model, _ = dq_lstm_case(16, 12, "forward", seq=6, batch=2)
    plain = _dq_lstm_node(import_onnx(model))
    assert plain.attrs["packed"] == 0 and plain.inputs[1].type.shape == (1, 12, 64)  # W [D, I, 4H] as given
    assert _dq_lstm_node(run_pipeline(import_onnx(model), {"kind": "cuda", "arch": "sm_90"})).attrs["packed"] == 0
    packed = _dq_lstm_node(run_pipeline(import_onnx(model), "cpu", verify=True))
    assert packed.attrs["packed"] == 1 and packed.inputs[1].type.dtype == "int8" and packed.inputs[1].type.rank == 5
