"""The runtime takes and returns arrays of ml_dtypes' types (bfloat16, float8, float4, int4,
int2) as the model declares them, holds them as their bits (weights too), and refuses an array
of another dtype naming the input."""
import json

import ml_dtypes
import numpy as np
import pytest
from onnx import helper, numpy_helper

import support
from convrnn.runtime import InputError, load


def _info(name, dtype, shape):
    return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(np.dtype(dtype)), shape)


@pytest.fixture(scope="module")
def bfloat16_artifact(tmp_path_factory):
    """y = x + b (bfloat16, b a weight), z = Transpose(q) (float8 values moved, not computed)."""
    from convrnn.compiler import compile_model

    bias = np.array([0.5, -1.0, 3.0, 1e30], ml_dtypes.bfloat16)
    nodes = [helper.make_node("Add", ["x", "b"], ["y"]), helper.make_node("Transpose", ["q"], ["z"], perm=[1, 0])]
    model = support.make_model(nodes, [_info("x", "bfloat16", ["n", 4]), _info("q", "float8_e4m3fn", [2, 3])],
                               [_info("y", "bfloat16", ["n", 4]), _info("z", "float8_e4m3fn", [3, 2])],
                               [numpy_helper.from_array(bias, "b")], opset=21)
    return compile_model(model, tmp_path_factory.mktemp("art") / "bf16"), bias


def test_bfloat16_in_and_out_with_a_bfloat16_weight(bfloat16_artifact):
    path, bias = bfloat16_artifact
    model = load(path)
    assert [spec.dtype for spec in model.inputs] == ["bfloat16", "float8_e4m3fn"]
    x = np.array([[1.0, 2.0, np.inf, -1e30], [np.nan, -0.0, 0.00390625, 1.0]], ml_dtypes.bfloat16)
    q = np.arange(6, dtype=np.uint8).reshape(2, 3).view(ml_dtypes.float8_e4m3fn)
    y, z = model.run(x, q)
    want = (x.astype(np.float32) + bias.astype(np.float32)).astype(ml_dtypes.bfloat16)  # computed in float32, rounded once
    support.assert_same_elements(y, want)
    support.assert_same_elements(z, q.T.copy())


def test_weights_are_stored_as_their_bits(bfloat16_artifact):
    path, bias = bfloat16_artifact
    plan = json.loads((path / "plan.json").read_text())
    stored = {spec["dtype"] for spec in plan["tensors"].values() if "constant" in spec}
    assert stored == {"bfloat16"}
    with np.load(path / "weights.npz", allow_pickle=False) as weights:
        (array,) = [weights[name] for name in weights.files]
    np.testing.assert_array_equal(array, bias.view(np.uint16))


def test_a_wrong_dtype_names_the_input(bfloat16_artifact):
    path, _ = bfloat16_artifact
    model = load(path)
    q = np.zeros((2, 3), ml_dtypes.float8_e4m3fn)
    with pytest.raises(InputError, match=r"input 'x' has dtype float32, expected bfloat16"):
        model.run(np.zeros((1, 4), np.float32), q)
    with pytest.raises(InputError, match=r"input 'q' has dtype uint8, expected float8_e4m3fn"):
        model.run(np.zeros((1, 4), ml_dtypes.bfloat16), np.zeros((2, 3), np.uint8))
    with pytest.raises(InputError, match=r"input 'q' has dtype float8_e5m2, expected float8_e4m3fn"):
        model.run(np.zeros((1, 4), ml_dtypes.bfloat16), np.zeros((2, 3), ml_dtypes.float8_e5m2))


@pytest.mark.parametrize("dtype", ["int4", "uint2", "float4_e2m1fn", "float8_e8m0fnu"])
def test_sub_byte_types_pass_through_one_element_per_byte(dtype):
    node = helper.make_node("Concat", ["a", "b"], ["y"], axis=0)
    model = support.make_model([node], [_info("a", dtype, [3]), _info("b", dtype, [2])], [_info("y", dtype, [5])],
                               opset=21)
    width = 16 if dtype in ("int4", "float4_e2m1fn") else 4 if dtype == "uint2" else 255
    a = np.array([0, 1, width - 1], np.uint8).view(dtype)
    b = np.array([width // 2, 2], np.uint8).view(dtype)
    (y,) = support.run_convrnn(model, {"a": a, "b": b})
    support.assert_same_elements(y, np.concatenate([a, b]))
