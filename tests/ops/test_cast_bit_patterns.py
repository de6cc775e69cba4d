"""Cast and CastLike from and to the bit-pattern types (bfloat16, float8 E4M3FN/E4M3FNUZ/E5M2/
E5M2FNUZ/E8M0, float4 E2M1, int4/uint4/int2/uint2) against onnx.reference (ml_dtypes'
conversions), bit for bit: every float16 value and every pattern of each type, ties, NaN, Inf,
overflow with saturate on and off, negative zero, subnormals; types convrnn cannot round in one
step are refused by name."""
import ml_dtypes
import numpy as np
import pytest
from onnx import helper

import support
from convrnn.compiler.errors import UnsupportedError

FLOAT8 = ["float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz"]
NARROW_FLOATS = ["bfloat16", *FLOAT8, "float4_e2m1fn", "float8_e8m0fnu"]
NARROW_INTS = ["int4", "uint4", "int2", "uint2"]
# (target, saturate): saturate applies to the float8 types only
ROUNDED_TARGETS = [("bfloat16", 1), ("float4_e2m1fn", 1), *((dtype, saturate) for dtype in FLOAT8 for saturate in (1, 0))]


def _code(dtype) -> int:
    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


def _cast_model(source, to, opset=25, **attrs):
    node = helper.make_node("Cast", ["x"], ["y"], to=_code(to), **attrs)
    return support.make_model([node], [support.tensor_info("x", source, ["n"])],
                              [support.tensor_info("y", to, ["n"])], opset=opset)


def _check_cast(source, to, x, opset=25, **attrs):
    model = _cast_model(source, to, opset, **attrs)
    with np.errstate(all="ignore"):
        (want,) = support.run_reference(model, {"x": x})
    (got,) = support.run_convrnn(model, {"x": x})
    support.assert_same_elements(got, np.asarray(want))


def _float32_edges() -> np.ndarray:
    """Values at the edges of every narrow format: NaN (both signs, odd payloads), +-Inf, +-0,
    each format's largest finite value and the ties just above it, subnormals and the ties
    between them, the float32 extremes."""
    values = [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 3.4e38, -3.4e38, 1e-45, -1e-45, 1.2e-38]
    for dtype in NARROW_FLOATS:
        info = ml_dtypes.finfo(dtype)
        largest, smallest = float(info.max), float(info.smallest_subnormal)
        values += [largest, -largest, largest * 1.03, largest * 1.0625, largest * 1.125, largest * 2, -largest * 1.1,
                   smallest, smallest / 2, smallest * 1.5, smallest * 2.5, smallest / 3, -smallest * 0.5000001,
                   float(info.smallest_normal), float(info.smallest_normal) * 0.75]
    # ties between neighbours of 1.0 for 1-, 2-, 3- and 7-bit mantissas (even and odd below)
    for bits in (1, 2, 3, 7):
        ulp = 2.0 ** -bits
        values += [1 + ulp / 2, 1 + 1.5 * ulp, -(1 + ulp / 2), 1 + ulp / 2 + 2 ** -20, 1 + ulp / 2 - 2 ** -20]
    patterns = np.array([0x7F800001, 0xFF800001, 0x7FC00000, 0xFFC00000, 0x7FFFFFFF], np.uint32).view(np.float32)
    with np.errstate(over="ignore"):  # E8M0's largest times 2 is past float32's: Inf, on purpose
        return np.concatenate([np.array(values, np.float32), patterns])


def _random_float32(count=4096, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 2 ** 32, size=count, dtype=np.uint64).astype(np.uint32).view(np.float32)


def _all_float16() -> np.ndarray:
    return np.arange(2 ** 16, dtype=np.uint32).astype(np.uint16).view(np.float16)


@pytest.mark.parametrize("to, saturate", ROUNDED_TARGETS)
def test_float32_to_narrow_float_rounds_to_nearest_even(to, saturate):
    x = np.concatenate([_float32_edges(), _random_float32(),
                        np.linspace(-600, 600, 4801, dtype=np.float32), np.geomspace(1e-12, 1e6, 2000, dtype=np.float32)])
    _check_cast("float32", to, x, saturate=saturate)


@pytest.mark.parametrize("to, saturate", ROUNDED_TARGETS)
def test_every_float16_to_narrow_float(to, saturate):
    _check_cast("float16", to, _all_float16(), saturate=saturate)


@pytest.mark.parametrize("source", [*NARROW_FLOATS, *NARROW_INTS])
@pytest.mark.parametrize("to", ["float32", "float16"])
def test_every_pattern_decodes_exactly(source, to):
    count = 2 ** (8 * np.dtype(source).itemsize)
    patterns = np.arange(count, dtype=np.uint32).astype(f"uint{8 * np.dtype(source).itemsize}")
    if source in NARROW_INTS or source == "float4_e2m1fn":
        patterns = patterns[: 1 << (4 if source.endswith("4") or source == "float4_e2m1fn" else 2)]
    _check_cast(source, to, patterns.view(source))


def test_narrow_int_high_bits_are_ignored():
    # a pattern's unused high bits do not change the value it holds
    x = np.array([0x0F, 0xFF, 0xF7, 0x08], np.uint8).view(ml_dtypes.int4)
    (got,) = support.run_convrnn(_cast_model("int4", "int8"), {"x": x})
    np.testing.assert_array_equal(got, np.array([-1, -1, 7, -8], np.int8))


@pytest.mark.parametrize("a, b", [(a, b) for a in ["bfloat16", *FLOAT8, "float4_e2m1fn"]
                                  for b in ["bfloat16", "float8_e4m3fn", "float8_e5m2fnuz"] if a != b])
def test_between_narrow_floats(a, b):
    patterns = np.arange(2 ** (8 * np.dtype(a).itemsize), dtype=np.uint32).astype(f"uint{8 * np.dtype(a).itemsize}")
    if a == "float4_e2m1fn":
        patterns = patterns[:16]
    _check_cast(a, b, patterns.view(a))


@pytest.mark.parametrize("round_mode", ["up", "down", "nearest"])
@pytest.mark.parametrize("saturate", [1, 0])
def test_float32_to_e8m0(round_mode, saturate):
    x = np.concatenate([_float32_edges(), _random_float32(seed=1), np.abs(_float32_edges()),
                        np.array([2.0 ** 127 * 1.5, 2.0 ** 127, 2.0 ** -127, 1.5 * 2.0 ** -127, 0.75, 0.7, 3.0, -6.0],
                                 np.float32)])
    _check_cast("float32", "float8_e8m0fnu", x, saturate=saturate, round_mode=round_mode)
    _check_cast("float16", "float8_e8m0fnu", _all_float16(), saturate=saturate, round_mode=round_mode)


@pytest.mark.parametrize("to", NARROW_INTS)
@pytest.mark.parametrize("source", ["float32", "float16"])
def test_float_to_narrow_int_truncates_and_zeroes_out_of_range(source, to):
    with np.errstate(over="ignore"):  # 1e9 is Inf in float16, on purpose
        x = np.concatenate([np.arange(-10, 18, 0.25), [np.nan, np.inf, -np.inf, -0.0, 1e9, -1e9]]).astype(source)
    _check_cast(source, to, x)


@pytest.mark.parametrize("to", NARROW_INTS)
@pytest.mark.parametrize("source", ["int8", "uint8", "int16", "int32", "int64"])
def test_int_to_narrow_int_keeps_the_low_bits(source, to):
    info = np.iinfo(source)
    x = np.clip(np.arange(-300, 300, 7), info.min, info.max).astype(source)
    _check_cast(source, to, x)


@pytest.mark.parametrize("source, to", [(source, to) for source in NARROW_INTS
                                        for to in ["int8", "uint8", "int32", "bool", "int4", "uint2"] if source != to])
def test_narrow_int_to_int(source, to):
    patterns = np.arange(1 << (4 if source.endswith("4") else 2), dtype=np.uint8).view(source)
    _check_cast(source, to, patterns)


def test_cast_like_takes_the_second_inputs_type():
    node = helper.make_node("CastLike", ["x", "like"], ["y"], saturate=0)
    model = support.make_model([node], [support.tensor_info("x", "float32", ["n"]),
                                        support.tensor_info("like", "float8_e4m3fn", [1])],
                               [support.tensor_info("y", "float8_e4m3fn", ["n"])], opset=19)
    x = _float32_edges()
    feeds = {"x": x, "like": np.zeros(1, ml_dtypes.float8_e4m3fn)}
    with np.errstate(all="ignore"):
        (want,) = support.run_reference(model, feeds)
    (got,) = support.run_convrnn(model, feeds)
    support.assert_same_elements(got, want)


def test_cast_before_opset_19_saturates():
    # saturate arrived with opset 19; there is no float8 before it, but bfloat16 casts from 13
    _check_cast("float32", "bfloat16", _float32_edges(), opset=13)


@pytest.mark.parametrize("source, to", [("float64", "float8_e4m3fn"), ("int64", "bfloat16"), ("int32", "float4_e2m1fn"),
                                        ("uint32", "float8_e5m2")])
def test_casts_that_would_round_twice_are_refused(source, to, tmp_path):
    from convrnn.compiler import compile_model

    with pytest.raises(UnsupportedError, match=rf"Cast node .* \(opset 25\): cast from {source} to {to}"):
        compile_model(_cast_model(source, to), tmp_path / "out")


def test_narrow_float_to_float64_is_exact():
    patterns = np.arange(2 ** 16, dtype=np.uint32).astype(np.uint16).view(ml_dtypes.bfloat16)
    _check_cast("bfloat16", "float64", patterns)
