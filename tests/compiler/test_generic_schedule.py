"""The generic CPU schedule over symbolic shapes: the parallel loop takes only enough outer
axes for its tasks, so no vector of an elementwise op decomposes its index by divisions."""
from onnx import helper

import support
from convrnn.compiler import tvm_adapter as tvm_
from convrnn.compiler.target import parse_target
from convrnn.schedules.cpu.generic import schedule_generic


def _loops(func):
    text = tvm_.script(func)
    return [line.strip() for line in text.splitlines() if line.strip().startswith("for ")]


def test_a_symbolic_elementwise_runs_rows_in_parallel_and_columns_serially():
    te = tvm_.te
    b, t = tvm_.size_var("b"), tvm_.size_var("t")
    x = te.placeholder((b, t, t, 512), "float32", name="x")
    y = te.compute(x.shape, lambda *i: te.tanh(x[i]) * 2.0, name="y")
    sch = tvm_.new_schedule(tvm_.create_prim_func([x, y]))
    schedule_generic(sch, parse_target("cpu"))
    loops = _loops(tvm_.finish(sch, "main"))
    parallel = [loop for loop in loops if "T.parallel" in loop]
    assert len(parallel) == 1 and "b * t * t" not in parallel[0]  # not every axis fused
    assert any("T.vectorized" in loop for loop in loops)


def test_symbolic_elementwise_chains_match_onnxruntime():
    nodes = [helper.make_node("Add", ["x", "y"], ["s"]), helper.make_node("Tanh", ["s"], ["out"])]
    model = support.make_model(nodes, [support.tensor_info("x", "float32", ["b", "t", 1, 64]),
                                       support.tensor_info("y", "float32", ["b", 1, "t", 64])],
                               [support.tensor_info("out", "float32", None)])
    for shape in ((1, 9), (3, 2)):
        batch, steps = shape
        feeds = {"x": support.random_input((batch, steps, 1, 64), seed=1),
                 "y": support.random_input((batch, 1, steps, 64), seed=2)}
        support.assert_matches_onnxruntime(model, feeds, rtol=1e-5, atol=1e-6)
