"""ONNX Loop: the body compiled once and run as a loop, against onnxruntime."""
import time

import numpy as np
import onnx
import pytest
from onnx import helper

import support
from convrnn.compiler import compile_model
from convrnn.compiler.errors import UnsupportedError
from convrnn.frontend import import_onnx
from convrnn.runtime import load

info = support.tensor_info


def _init(name, array):
    return onnx.numpy_helper.from_array(np.asarray(array), name)


def _weights(shape, seed):
    return (np.random.default_rng(seed).standard_normal(shape) * 0.4).astype(np.float32)


def _counted_body(hidden=8):
    """h <- tanh(h @ W + b + i); scans h and the iteration number as a float."""
    return helper.make_graph(
        [helper.make_node("MatMul", ["h", "W"], ["hw"]),
         helper.make_node("Add", ["hw", "b"], ["hb"]),
         helper.make_node("Cast", ["i"], ["fi"], to=onnx.TensorProto.FLOAT),
         helper.make_node("Mul", ["fi", "tenth"], ["step"]),
         helper.make_node("Add", ["hb", "step"], ["pre"]),
         helper.make_node("Tanh", ["pre"], ["h_next"]),
         helper.make_node("Identity", ["cond"], ["cond_out"]),
         helper.make_node("Unsqueeze", ["fi", "zero"], ["fi1"])],
        "counted", [info("i", "int64", []), info("cond", "bool", []), info("h", "float32", ["batch", hidden])],
        [info("cond_out", "bool", []), info("h_next", "float32", ["batch", hidden]),
         info("h_next", "float32", ["batch", hidden]), info("fi1", "float32", [1])],
        [_init("tenth", np.float32(0.1)), _init("zero", np.array([0], np.int64))])


def _counted_model(trips, hidden=8):
    loop = helper.make_node("Loop", ["M", "", "h0"], ["h_final", "h_all", "steps"], name="counted_loop",
                            body=_counted_body(hidden))
    return support.make_model(
        [loop], [info("h0", "float32", ["batch", hidden])],
        [info("h_final", "float32", ["batch", hidden]), info("h_all", "float32", [None, "batch", hidden]),
         info("steps", "float32", [None, 1])],
        [("M", np.array(trips, np.int64)), ("W", _weights((hidden, hidden), 1)), ("b", _weights((hidden,), 2))])


@pytest.mark.parametrize("batch", [1, 3])
def test_counted_loop_with_scan_outputs_and_a_symbolic_batch(batch):
    model = _counted_model(trips=7)
    support.assert_matches_onnxruntime(model, {"h0": support.random_input((batch, 8), seed=batch)})


def test_loop_is_one_node_and_its_body_compiles_once(tmp_path):
    graph = import_onnx(_counted_model(trips=7))
    loops = [node for node in graph.nodes if node.op == "Loop"]
    assert len(loops) == 1 and loops[0].outputs[1].type.shape[0] == loops[0].attrs["trips"]
    compile_model(_counted_model(trips=7), tmp_path / "a")
    plan = load(tmp_path / "a").plan
    # the body's kernels are lowered once (a MatMul with its Add/Tanh epilogue), not per iteration
    assert len([name for name in plan["kernels"] if "matmul" in name]) == 1
    (loop_step,) = [step["loop"] for step in plan["program"]["steps"] if "loop" in step]
    assert loop_step["max_trips"] == "M" and loop_step["scans"]


def _while_model():
    """total <- total + x until total >= limit (no max trip count): a data-dependent length."""
    body = helper.make_graph(
        [helper.make_node("Add", ["total", "x"], ["total_next"]),
         helper.make_node("ReduceSum", ["total_next"], ["sum"], keepdims=0),
         helper.make_node("Less", ["sum", "limit"], ["more"]),
         helper.make_node("Mul", ["total_next", "two"], ["doubled"])],
        "while", [info("i", "int64", []), info("c", "bool", []), info("total", "float32", [2])],
        [info("more", "bool", []), info("total_next", "float32", [2]), info("doubled", "float32", [2])],
        [_init("two", np.float32(2.0))])
    nodes = [helper.make_node("ReduceSum", ["start"], ["s0"], keepdims=0),
             helper.make_node("Less", ["s0", "limit"], ["go"]),
             helper.make_node("Loop", ["", "go", "start"], ["total_final", "history"], name="while_loop", body=body),
             # reads the scan output, whose length is known only once the loop has run
             helper.make_node("ReduceSum", ["history", "axes0"], ["history_sum"], keepdims=0),
             helper.make_node("Transpose", ["history"], ["history_t"], perm=[1, 0])]
    return support.make_model(
        nodes, [info("start", "float32", [2]), info("x", "float32", [2]), info("limit", "float32", [])],
        [info("total_final", "float32", [2]), info("history", "float32", [None, 2]),
         info("history_sum", "float32", [2]), info("history_t", "float32", [2, None])],
        [("axes0", np.array([0], np.int64))])


def test_condition_terminated_loop_with_a_run_time_length_grows_its_scans():
    model = _while_model()
    start, x = np.array([0.0, 0.5], np.float32), np.array([0.25, 0.25], np.float32)
    # 199 trips outgrow the first stack capacity (64); then fewer on the same binding
    for limit in (100.0, 3.0, 0.6):
        support.assert_matches_onnxruntime(model, {"start": start, "x": x, "limit": np.array(limit, np.float32)})
    got = support.run_convrnn(model, {"start": start, "x": x, "limit": np.array(100.0, np.float32)})
    assert got[1].shape == (199, 2)  # more rows than the first capacity


def test_max_trip_count_and_condition_together_and_a_loop_that_never_runs():
    body = helper.make_graph(
        [helper.make_node("Add", ["v", "one"], ["v_next"]),
         helper.make_node("Less", ["v_next", "stop"], ["more"])],
        "both", [info("i", "int64", []), info("c", "bool", []), info("v", "float32", [])],
        [info("more", "bool", []), info("v_next", "float32", []), info("v_next", "float32", [])],
        [_init("one", np.float32(1.0))])
    model = support.make_model(
        [helper.make_node("Loop", ["M", "c0", "v0"], ["v_final", "vs"], body=body)],
        [info("M", "int64", []), info("c0", "bool", []), info("v0", "float32", []), info("stop", "float32", [])],
        [info("v_final", "float32", []), info("vs", "float32", [None])])
    for trips, go, stop in ((5, True, 100.0), (50, True, 4.5), (0, True, 9.0), (9, False, 9.0)):
        feeds = {"M": np.array(trips, np.int64), "c0": np.array(go), "v0": np.array(0.0, np.float32),
                 "stop": np.array(stop, np.float32)}
        support.assert_matches_onnxruntime(model, feeds)


def _recurrent_body(op, hidden, inputs):
    gates = {"GRU": 3, "LSTM": 4}[op]
    state = ["h", "c"] if op == "LSTM" else ["h"]
    outputs = ["", "h_next"] + (["c_next"] if op == "LSTM" else [])
    nodes = [helper.make_node("Gather", ["xs", "i"], ["x_t"], axis=0),
             helper.make_node("Unsqueeze", ["x_t", "zero"], ["x_seq"]),
             helper.make_node(op, ["x_seq", "W", "R", "B", "", *state], outputs, hidden_size=hidden),
             helper.make_node("Squeeze", ["h_next", "zero"], ["y_t"]),
             helper.make_node("Identity", ["c_in"], ["c_out"])]
    body_inputs = [info("i", "int64", []), info("c_in", "bool", [])]
    body_inputs += [info(name, "float32", [1, "batch", hidden]) for name in state]
    body_outputs = [info("c_out", "bool", [])] + [info(f"{name}_next", "float32", [1, "batch", hidden]) for name in state]
    body_outputs.append(info("y_t", "float32", ["batch", hidden]))
    weights = [("W", _weights((1, gates * hidden, inputs), 3)), ("R", _weights((1, gates * hidden, hidden), 4)),
               ("B", _weights((1, 2 * gates * hidden), 5))]
    return helper.make_graph(nodes, f"{op}_body", body_inputs, body_outputs, [_init("zero", np.array([0], np.int64))]), weights


@pytest.mark.parametrize("op", ["GRU", "LSTM"])
def test_loop_whose_body_holds_a_recurrent_cell_reading_outer_values(op):
    hidden, inputs, steps = 6, 5, 4
    body, weights = _recurrent_body(op, hidden, inputs)
    state = ["h0", "c0"] if op == "LSTM" else ["h0"]
    finals = ["h_final", "c_final"] if op == "LSTM" else ["h_final"]
    # xs is computed outside the body, and W, R, B are the outer graph's weights: outer-scope reads
    nodes = [helper.make_node("Relu", ["x"], ["xs"]),
             helper.make_node("Loop", ["M", "", *state], [*finals, "ys"], name=f"{op.lower()}_loop", body=body)]
    model = support.make_model(
        nodes, [info("x", "float32", [steps, "batch", inputs])] + [info(s, "float32", [1, "batch", hidden]) for s in state],
        [info(f, "float32", [1, "batch", hidden]) for f in finals] + [info("ys", "float32", [None, "batch", hidden])],
        [("M", np.array(steps, np.int64)), *weights])
    for batch in (1, 2):
        feeds = {"x": support.random_input((steps, batch, inputs), seed=batch)}
        feeds.update({s: support.random_input((1, batch, hidden), seed=10 + k) for k, s in enumerate(state)})
        support.assert_matches_onnxruntime(model, feeds, rtol=1e-4, atol=1e-5)


def test_nested_loops_read_values_of_every_enclosing_scope():
    inner = helper.make_graph(
        [helper.make_node("Mul", ["acc", "scale"], ["scaled"]),     # scale: the outermost graph's value
         helper.make_node("Add", ["scaled", "row"], ["acc_next"]),  # row: the outer body's value
         helper.make_node("Identity", ["ci"], ["co"])],
        "inner", [info("j", "int64", []), info("ci", "bool", []), info("acc", "float32", [3])],
        [info("co", "bool", []), info("acc_next", "float32", [3])])
    outer = helper.make_graph(
        [helper.make_node("Gather", ["table", "i"], ["row"], axis=0),
         helper.make_node("Loop", ["inner_trips", "", "acc"], ["acc_next"], body=inner),
         helper.make_node("Tanh", ["acc_next"], ["squashed"]),
         helper.make_node("Identity", ["c"], ["c_out"])],
        "outer", [info("i", "int64", []), info("c", "bool", []), info("acc", "float32", [3])],
        [info("c_out", "bool", []), info("acc_next", "float32", [3]), info("squashed", "float32", [3])])
    nodes = [helper.make_node("Sigmoid", ["s"], ["scale"]),
             helper.make_node("Loop", ["outer_trips", "", "a0"], ["a_final", "a_all"], body=outer)]
    model = support.make_model(
        nodes, [info("table", "float32", [4, 3]), info("s", "float32", [3]), info("a0", "float32", [3])],
        [info("a_final", "float32", [3]), info("a_all", "float32", [None, 3])],
        [("outer_trips", np.array(4, np.int64)), ("inner_trips", np.array(3, np.int64))])
    feeds = {"table": support.random_input((4, 3), seed=1), "s": support.random_input((3,), seed=2),
             "a0": support.random_input((3,), seed=3)}
    support.assert_matches_onnxruntime(model, feeds)


def test_values_threaded_through_unchanged_become_the_bodys_constants():
    # Paddle's export passes every weight through the loop as a carried value
    body = helper.make_graph(
        [helper.make_node("MatMul", ["h", "w_in"], ["hw"]), helper.make_node("Tanh", ["hw"], ["h_next"]),
         helper.make_node("Identity", ["c"], ["c_out"])],
        "threaded", [info("i", "int64", [1]), info("c", "bool", [1]), info("h", "float32", [1, 4]),
                     info("w_in", "float32", [4, 4])],
        [info("c_out", "bool", [1]), info("h_next", "float32", [1, 4]), info("w_in", "float32", [4, 4])])
    model = support.make_model(
        [helper.make_node("Loop", ["M", "go", "h0", "W"], ["h_final", "w_final"], body=body)],
        [info("h0", "float32", [1, 4])], [info("h_final", "float32", [1, 4]), info("w_final", "float32", [4, 4])],
        [("M", np.array([3], np.int64)), ("go", np.array([True])), ("W", _weights((4, 4), 7))])
    (loop,) = [node for node in import_onnx(model).nodes if node.op == "Loop"]
    body_graph = loop.attrs["body"]
    assert loop.attrs["carried"] == 1 and len(body_graph.constants) >= 1  # W is a constant of the body
    support.assert_matches_onnxruntime(model, {"h0": support.random_input((1, 4))})


def test_compile_time_does_not_grow_with_the_trip_count(tmp_path):
    timings, kernels = {}, {}
    for trips in (2, 100_000):
        start = time.perf_counter()
        compile_model(_counted_model(trips=trips), tmp_path / str(trips))
        timings[trips] = time.perf_counter() - start
        kernels[trips] = load(tmp_path / str(trips)).plan["kernels"]
    assert kernels[2] == kernels[100_000]
    assert timings[100_000] < 2 * timings[2] + 1.0, timings


def test_a_carried_value_whose_shape_changes_per_iteration_is_refused_by_name():
    body = helper.make_graph(
        [helper.make_node("Concat", ["v", "v"], ["longer"], axis=0), helper.make_node("Identity", ["c"], ["c_out"])],
        "growing", [info("i", "int64", []), info("c", "bool", []), info("v", "float32", [2])],
        [info("c_out", "bool", []), info("longer", "float32", [4])])
    model = support.make_model([helper.make_node("Loop", ["M", "", "v0"], ["v_final"], name="growing_loop", body=body)],
                               [info("v0", "float32", [2])], [info("v_final", "float32", [None])],
                               [("M", np.array(3, np.int64))])
    with pytest.raises(UnsupportedError, match=r"Loop node 'growing_loop'.*carried value 0.*float32\[2\].*float32\[4\]"):
        import_onnx(model)


def test_a_body_with_the_wrong_number_of_inputs_is_a_model_error():
    from convrnn.compiler.errors import ModelError

    body = helper.make_graph([helper.make_node("Identity", ["c"], ["c_out"])], "short",
                             [info("i", "int64", []), info("c", "bool", [])], [info("c_out", "bool", [])])
    model = support.make_model([helper.make_node("Loop", ["M", "", "v0"], ["v_final"], name="short_loop", body=body)],
                               [info("v0", "float32", [2])], [info("v_final", "float32", [2])],
                               [("M", np.array(3, np.int64))])
    with pytest.raises(ModelError, match="Loop node 'short_loop'.*body takes 2 inputs, it must take 3"):
        import_onnx(model)


def test_a_scan_whose_rows_have_an_inner_loops_length_is_refused_by_name():
    inner = helper.make_graph(
        [helper.make_node("Identity", ["ci"], ["co"]), helper.make_node("Identity", ["v"], ["row"])],
        "inner", [info("j", "int64", []), info("ci", "bool", []), info("v", "float32", [2])],
        [info("co", "bool", []), info("v", "float32", [2]), info("row", "float32", [2])])
    outer = helper.make_graph(
        [helper.make_node("Loop", ["n", "", "v"], ["v_next", "rows"], body=inner),
         helper.make_node("Identity", ["c"], ["c_out"])],
        "outer", [info("i", "int64", []), info("c", "bool", []), info("v", "float32", [2])],
        [info("c_out", "bool", []), info("v_next", "float32", [2]), info("rows", "float32", [None, 2])])
    model = support.make_model(
        [helper.make_node("Loop", ["M", "", "v0"], ["v_final", "all_rows"], name="ragged_loop", body=outer)],
        [info("v0", "float32", [2]), info("n", "int64", [])],
        [info("v_final", "float32", [2]), info("all_rows", "float32", [None, None, 2])], [("M", np.array(3, np.int64))])
    with pytest.raises(UnsupportedError, match="Loop node 'ragged_loop'.*length computed in the body"):
        import_onnx(model)


def test_the_kernels_one_by_one_give_what_the_executor_calls_give(tmp_path):
    from convrnn.runtime.program import _steps

    compile_model(_while_model(), tmp_path / "a")
    with_executors, one_by_one = load(tmp_path / "a"), load(tmp_path / "a")
    steps = list(_steps(one_by_one.program.block))
    assert any("executor" in step for step in steps)
    for step in steps:  # as for a target without executors (CUDA)
        step.pop("executor", None)
    feeds = {"start": np.zeros(2, np.float32), "x": np.full(2, 0.5, np.float32), "limit": np.array(9.0, np.float32)}
    for a, b in zip(with_executors.run(feeds), one_by_one.run(feeds)):
        np.testing.assert_array_equal(a, b)
