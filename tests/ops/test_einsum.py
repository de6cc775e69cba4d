"""Einsum against onnxruntime: matrix products (which become the IR MatMul), reductions,
transposes, diagonals, outer products, 3 and 4 operands, implicit outputs, ellipsis
broadcasting, symbolic batch dims."""
import numpy as np
import pytest
from onnx import helper

from support import assert_matches_onnxruntime, make_model, random_input, tensor_info


def _model(equation, shapes, dtype="float32", constants=()):
    names = [f"x{i}" for i in range(len(shapes))]
    node = helper.make_node("Einsum", names, ["y"], equation=equation)
    inputs = [tensor_info(n, dtype, s) for i, (n, s) in enumerate(zip(names, shapes)) if i not in constants]
    inits = [(names[i], random_input(shapes[i], dtype, seed=10 + i)) for i in constants]
    return make_model([node], inputs, [tensor_info("y", dtype, None)], inits, opset=12)


def _feeds(model, batch=2, dtype="float32"):
    feeds = {}
    for i, info in enumerate(model.graph.input):
        dims = [d.dim_value if d.HasField("dim_value") else batch for d in info.type.tensor_type.shape.dim]
        feeds[info.name] = random_input(dims, dtype, seed=i)
    return feeds


def _ir_ops(model):
    from convrnn.frontend import import_onnx

    return {node.op for node in import_onnx(model).nodes}


CASES = [
    ("ij,jk->ik", [[3, 4], [4, 5]]), ("bij,bjk->bik", [["n", 3, 4], ["n", 4, 2]]),
    ("ij->ji", [[3, 4]]), ("ij->", [[3, 4]]), ("ij->i", [["n", 5]]), ("i,i", [[6], [6]]),
    ("i,j->ij", [[3], [4]]), ("ii->i", [[4, 4]]), ("ii", [[4, 4]]), ("...ii->...i", [["n", 3, 3]]),
    ("ij,jk", [[2, 3], [3, 4]]), ("ba,ca", [[2, 3], [4, 3]]), ("ij,jk,kl->il", [[2, 3], [3, 4], [4, 5]]),
    ("a,b,c,d->abcd", [[2], [3], [2], [3]]), ("bhqd,bhkd->bhqk", [["n", 2, 3, 4], ["n", 2, 5, 4]]),
    ("...ij,...jk->...ik", [[2, 1, 3, 4], [1, 3, 4, 5]]), ("bn,anm,bm->ba", [["n", 3], [2, 3, 4], ["n", 4]]),
    ("Ab,bA->A", [[3, 4], [4, 3]]), (" i j , j k -> i k ", [[2, 3], [3, 2]]),
]


@pytest.mark.parametrize("equation,shapes", CASES, ids=[c[0] for c in CASES])
def test_einsum(equation, shapes):
    model = _model(equation, shapes)
    for batch in (1, 3):
        assert_matches_onnxruntime(model, _feeds(model, batch))


@pytest.mark.parametrize("equation,shapes", [
    ("bsi,oi->bso", [["n", 5, 8], [6, 8]]), ("...i,io->...o", [["n", 3, 8], [8, 6]]),
    ("bij,bjk->bik", [["n", 3, 4], ["n", 4, 2]]), ("bij,bkj->bik", [["n", 3, 4], ["n", 2, 4]]),
], ids=lambda v: v if isinstance(v, str) else None)
@pytest.mark.parametrize("constant_weight", [False, True])
def test_matrix_products_become_matmul(equation, shapes, constant_weight):
    model = _model(equation, shapes, constants=(1,) if constant_weight and "n" not in shapes[1] else ())
    ops = _ir_ops(model)
    assert "MatMul" in ops and "Einsum" not in ops
    for batch in (1, 3):
        assert_matches_onnxruntime(model, _feeds(model, batch))


@pytest.mark.parametrize("equation", ["ij,jk->ik", "i,i"])
@pytest.mark.parametrize("dtype", ["int64", "float64"])
def test_other_dtypes(equation, dtype):
    model = _model(equation, [[3, 4], [4, 2]] if "k" in equation else [[5], [5]], dtype)
    assert "Einsum" in _ir_ops(model)
    assert_matches_onnxruntime(model, _feeds(model, dtype=dtype))


def test_bad_equation_is_a_model_error():
    from convrnn.compiler.errors import ModelError
    from support import compile_cached

    with pytest.raises(ModelError, match="Einsum"):
        compile_cached(_model("ij,jk->iz", [[2, 3], [3, 4]]))
