"""LayerNormalization against onnxruntime: every axis (negative too), epsilon, optional B,
broadcast Scale, the Mean and InvStdDev outputs, float16/float64 inputs, a symbolic batch."""
import numpy as np
import pytest
from onnx import TensorProto, helper

from support import assert_matches_onnxruntime, compile_cached, make_model, random_input, tensor_info


def _model(x_shape, axis, dtype="float32", bias=True, stats=False, scale_shape=None, **attrs):
    rank = len(x_shape)
    normalized = [8 if d == "n" else d for d in x_shape[axis % rank:]]
    scale_shape = normalized if scale_shape is None else scale_shape
    rng = np.random.default_rng(0)
    inits = [("scale", rng.standard_normal(scale_shape).astype(dtype))]
    if bias:
        inits.append(("bias", rng.standard_normal(normalized[-1:]).astype(dtype)))
    outputs = ["y", "mean", "inv_std"] if stats else ["y"]
    node = helper.make_node("LayerNormalization", ["x", "scale"] + (["bias"] if bias else []), outputs, axis=axis, **attrs)
    infos = [tensor_info("y", dtype, None)] + [tensor_info(n, "float32", None) for n in outputs[1:]]
    return make_model([node], [tensor_info("x", dtype, list(x_shape))], infos, inits, opset=17)


@pytest.mark.parametrize("axis", [1, 2, -1, -2])
@pytest.mark.parametrize("stats", [False, True])
def test_axes_and_statistics(axis, stats):
    model = _model(["n", 6, 5], axis, stats=stats)
    for seed, batch in enumerate((1, 3)):
        assert_matches_onnxruntime(model, {"x": random_input((batch, 6, 5), seed=seed, low=-3, high=5)})


def test_axis_zero_over_static_shape():
    model = _model([3, 4, 5], 0, stats=True)
    assert_matches_onnxruntime(model, {"x": random_input((3, 4, 5))})


@pytest.mark.parametrize("epsilon", [1e-5, 0.5])
def test_epsilon_without_bias(epsilon):
    model = _model(["n", 16], -1, bias=False, epsilon=epsilon)
    assert_matches_onnxruntime(model, {"x": random_input((4, 16), low=-0.2, high=0.2)})


def test_scale_broadcasts():
    model = _model(["n", 4, 6], 1, scale_shape=[1, 6])
    assert_matches_onnxruntime(model, {"x": random_input((2, 4, 6))})


def test_large_offset_keeps_precision():
    # Two-pass statistics: a large common offset must not swamp the variance.
    model = _model(["n", 32], -1)
    x = (random_input((3, 32), low=-1, high=1) + 1000).astype(np.float32)
    assert_matches_onnxruntime(model, {"x": x}, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("dtype", ["float16", "float64"])
def test_other_float_types(dtype):
    model = _model(["n", 12], -1, dtype=dtype)
    tol = 1e-2 if dtype == "float16" else 1e-10
    assert_matches_onnxruntime(model, {"x": random_input((3, 12), dtype)}, rtol=tol, atol=tol)


def test_unclaimed_stash_type_is_refused():
    from convrnn.compiler.errors import UnsupportedError

    with pytest.raises(UnsupportedError, match="stash_type"):
        compile_cached(_model([2, 8], -1, stash_type=TensorProto.BFLOAT16))
