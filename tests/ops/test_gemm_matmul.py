"""Gemm and MatMul against onnxruntime: transposes, alpha/beta, C broadcasting, 1-d and
batched N-d operands with broadcast batch dims, symbolic batch, tiles that do not divide."""
import numpy as np
import pytest
from onnx import helper

import support


def gemm_case(m, k, n, c_shape=(None,), constant_b=True, batch_name=None, opset=17, **attrs):
    rng = np.random.default_rng(8)
    a_shape = (k, m) if attrs.get("transA") else (m, k)
    b_shape = (n, k) if attrs.get("transB") else (k, n)
    b = (rng.standard_normal(b_shape) * 0.3).astype("float32")
    inputs = [support.tensor_info("A", "float32", [batch_name or a_shape[0], a_shape[1]]
                                  if not attrs.get("transA") else list(a_shape))]
    feeds = {"A": support.random_input(a_shape, seed=9)}
    inits = []
    if constant_b:
        inits.append(("B", b))
    else:
        inputs.append(support.tensor_info("B", "float32", b_shape))
        feeds["B"] = b
    names = ["A", "B"]
    if c_shape != (None,):
        inits.append(("C", rng.standard_normal(c_shape).astype("float32")))
        names.append("C")
    node = helper.make_node("Gemm", names, ["Y"], **attrs)
    model = support.make_model([node], inputs, [support.tensor_info("Y", "float32", None)], inits, opset=opset)
    return model, feeds


@pytest.mark.parametrize("shape", [(1, 64, 40), (7, 33, 50), (16, 32, 96)], ids=str)
@pytest.mark.parametrize("trans", [(0, 0), (0, 1), (1, 0), (1, 1)], ids=str)
def test_gemm_transposes(shape, trans):
    model, feeds = gemm_case(*shape, c_shape=(shape[2],), transA=trans[0], transB=trans[1])
    support.assert_matches_onnxruntime(model, feeds, atol=1e-4)


@pytest.mark.parametrize("c_shape", [(None,), (1,), (24,), (5, 1), (5, 24), ()], ids=str)
def test_gemm_alpha_beta_and_c_broadcasting(c_shape):
    model, feeds = gemm_case(5, 12, 24, c_shape=c_shape, alpha=0.5, beta=-2.0, transB=1)
    support.assert_matches_onnxruntime(model, feeds, atol=1e-4)


@pytest.mark.parametrize("opset", [11, 13, 21])
def test_gemm_opsets_and_b_as_input(opset):
    model, feeds = gemm_case(3, 16, 20, c_shape=(20,), constant_b=False, opset=opset, transB=1, beta=0.0)
    support.assert_matches_onnxruntime(model, feeds, atol=1e-4)


@pytest.mark.parametrize("batch", [1, 5, 13])
def test_gemm_symbolic_batch(batch):
    model, feeds = gemm_case(batch, 32, 48, c_shape=(48,), batch_name="N", transB=1)
    support.assert_matches_onnxruntime(model, feeds, atol=1e-4)


def matmul_case(a_shape, b_shape, a_names=None):
    inputs = [support.tensor_info("A", "float32", a_names or list(a_shape))]
    rng = np.random.default_rng(10)
    b = (rng.standard_normal(b_shape) * 0.3).astype("float32")
    node = helper.make_node("MatMul", ["A", "B"], ["Y"])
    model = support.make_model([node], inputs, [support.tensor_info("Y", "float32", None)], [("B", b)])
    return model, {"A": support.random_input(a_shape, seed=11)}


MATMUL_SHAPES = {
    "2d": ((6, 20), (20, 36)),
    "vector_matrix": ((20,), (20, 17)),
    "matrix_vector": ((9, 20), (20,)),
    "dot": ((20,), (20,)),
    "batched_same": ((3, 5, 8), (3, 8, 40)),
    "batched_broadcast_b": ((2, 3, 5, 8), (8, 33)),
    "broadcast_batch_dims": ((2, 1, 4, 8), (3, 8, 16)),
    "vector_batched": ((8,), (2, 8, 16)),
    "batched_vector": ((2, 3, 8), (8,)),
}


@pytest.mark.parametrize("name", MATMUL_SHAPES)
def test_matmul(name):
    support.assert_matches_onnxruntime(*matmul_case(*MATMUL_SHAPES[name]), atol=1e-4)


@pytest.mark.parametrize("batch", [1, 3])
def test_matmul_symbolic_batch(batch):
    model, feeds = matmul_case((batch, 7, 16), (16, 24), a_names=["N", 7, 16])
    support.assert_matches_onnxruntime(model, feeds, atol=1e-4)
    model, feeds = matmul_case((batch, 16), (16, 24), a_names=["N", 16])
    support.assert_matches_onnxruntime(model, feeds, atol=1e-4)


def test_matmul_inner_dims_must_agree():
    from convrnn.compiler.errors import ModelError

    model, _ = matmul_case((4, 8), (9, 3))
    with pytest.raises(ModelError, match="inner dims"):
        support.compile_cached(model)


@pytest.mark.parametrize("columns", [6625, 97, 16, 40])
@pytest.mark.parametrize("rows", [["T"], [2, "T"], [5]], ids=str)
def test_matmul_symbolic_rows_and_odd_columns(rows, columns):
    # a recognizer's output layer: a symbolic sequence of rows times a constant B whose column
    # count no vector divides (padded by pad_dense_columns), with the bias and activation fused


    rng = np.random.default_rng(columns)
    inits = [("w", rng.standard_normal((24, columns)).astype(np.float32)),
             ("b", rng.standard_normal(columns).astype(np.float32))]
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"]), helper.make_node("Add", ["y", "b"], ["z"]),
             helper.make_node("Relu", ["z"], ["out"])]
    model = support.make_model(nodes, [support.tensor_info("x", "float32", [*rows, 24])],
                               [support.tensor_info("out", "float32", None)], inits)
    for seed, length in enumerate((1, 7, 13)):
        shape = [length if d == "T" else d for d in rows] + [24]
        support.assert_matches_onnxruntime(model, {"x": support.random_input(shape, seed=seed)})
