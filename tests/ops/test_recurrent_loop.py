"""A recurrence compiles to a hoisted projection GEMM plus one time-loop kernel, with symbolic
sequence length and batch: one artifact runs any T and batch, and the kernel does not grow with T."""
from __future__ import annotations

import importlib

import numpy as np
import pytest
from onnx import helper

import support
from convrnn.compiler.lower import lower_graph
from convrnn.compiler.passes import run_pipeline
from convrnn.compiler.target import parse_target
from convrnn.frontend import import_onnx
from convrnn.schedules.cpu.recurrent_knobs import batch_rows_tile


def cpu_graph(model, **kwargs):
    """The model's graph as the CPU pipeline leaves it: the recurrences as packed cells."""
    return run_pipeline(import_onnx(model, **kwargs), "cpu")


def gru_model(hidden=8, inputs=5, direction="bidirectional"):
    rng = np.random.default_rng(0)
    d = 2 if direction == "bidirectional" else 1
    node = helper.make_node("GRU", ["X", "W", "R", "B"], ["Y", "Y_h"], hidden_size=hidden, direction=direction)
    weights = [("W", rng.uniform(-1, 1, (d, 3 * hidden, inputs)).astype(np.float32)),
               ("R", rng.uniform(-0.3, 0.3, (d, 3 * hidden, hidden)).astype(np.float32)),
               ("B", rng.uniform(-0.3, 0.3, (d, 6 * hidden)).astype(np.float32))]
    outputs = [support.tensor_info(name, np.float32, None) for name in ("Y", "Y_h")]
    return support.make_model([node], [support.tensor_info("X", np.float32, ["seq", "batch", inputs])], outputs,
                              weights, opset=14)


def test_projection_is_hoisted_out_of_the_time_loop():
    graph = cpu_graph(gru_model())
    assert [node.op for node in graph.nodes if node.op != "Identity"] == ["RecurrentProjection", "GRU"]
    projection, cell = [node for node in graph.nodes if node.op != "Identity"]
    assert cell.inputs[0] is projection.outputs[0]
    assert projection.outputs[0].type.shape == ("seq", "batch", 2 * 3 * 16)  # both directions, padded gates


def test_batch_first_layout_is_read_and_written_in_place():
    """layout=1 (X, Y and the states batch-first) costs no Transposes: the kernels use it as is."""
    hidden, inputs = 6, 4
    rng = np.random.default_rng(1)
    node = helper.make_node("LSTM", ["X", "W", "R", "", "", "h0", "c0"], ["Y", "Y_h", "Y_c"], hidden_size=hidden,
                            layout=1)
    weights = [("W", rng.uniform(-1, 1, (1, 4 * hidden, inputs)).astype(np.float32)),
               ("R", rng.uniform(-0.5, 0.5, (1, 4 * hidden, hidden)).astype(np.float32))]
    model = support.make_model(
        [node], [support.tensor_info("X", np.float32, ["batch", "seq", inputs]),
                 support.tensor_info("h0", np.float32, ["batch", 1, hidden]),
                 support.tensor_info("c0", np.float32, ["batch", 1, hidden])],
        [support.tensor_info(name, np.float32, None) for name in ("Y", "Y_h", "Y_c")], weights, opset=14)
    graph = cpu_graph(model)
    assert [n.op for n in graph.nodes if n.op != "Identity"] == ["RecurrentProjection", "LSTM"]
    assert [v.type.shape for v in graph.outputs] == [("batch", "seq", 1, hidden), ("batch", 1, hidden),
                                                     ("batch", 1, hidden)]
    feeds = {"X": support.random_input((3, 5, inputs), seed=1), "h0": support.random_input((3, 1, hidden), seed=2),
             "c0": support.random_input((3, 1, hidden), seed=3)}
    for got, want in zip(support.run_convrnn(model, feeds), support.run_reference(model, feeds)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("seq, batch", [(1, 1), (7, 3), (10_000, 1), (2, 6)])
def test_one_artifact_runs_any_length_and_batch(seq, batch):
    model = gru_model()
    x = support.random_input((seq, batch, 5), seed=seq + batch, low=-1, high=1)
    # The same compiled artifact (cached by model) serves every shape.
    support.assert_matches_onnxruntime(model, {"X": x})


def test_batch_1_runs_wider_tasks_than_other_batches():
    """At batch 1 a task takes a whole packed block of 4 vectors of hidden units; other
    batches take half blocks, leaving registers for blocks of rows. The kernel picks its loop
    by the batch it is given, so one artifact serves both."""
    model = gru_model(hidden=128, inputs=5, direction="forward")
    (cell,) = [n for n in cpu_graph(model).nodes if n.op == "GRU"]
    assert cell.attrs["tile"] == 64 and "rows_tile" not in cell.attrs  # chosen for the target at build
    assert batch_rows_tile(128, 1, 3, 64, lanes=16) == 32 and batch_rows_tile(128, 1, 3, 64, lanes=8) == 8
    (script,) = [f.script() for name, f in lower_graph(cpu_graph(model), parse_target("cpu"))[0].items() if "gru" in name]
    assert "if batch == 1" in script
    for batch in (1, 3):
        x = support.random_input((9, batch, 5), seed=batch, low=-1, high=1)
        support.assert_matches_onnxruntime(model, {"X": x})


def test_kernels_do_not_depend_on_the_sequence_length():
    target = parse_target("cpu")
    scripts = []
    for seq in (10, 1000):
        graph = cpu_graph(gru_model(), input_shapes={"X": [seq, 1, 5]})
        functions, _ = lower_graph(graph, target)
        scripts.append(sorted(f.script() for f in functions.values()))
    assert scripts[0] == scripts[1]
    assert any("for s in range(seq)" in script for script in scripts[0])


@pytest.mark.parametrize("overrides", [{"tile": 16, "rows": 1}, {"tile": 32, "rows": 3}, {"tile": 64, "rows": 2},
                                       {"column_tile": 16, "row_tile": 3}, {"row_tile": 15},
                                       {"tile": 16, "split": "tiles"}, {"tile": 16, "split": "directions"}],
                         ids=["tile16_rows1", "tile32_rows3", "tile64_rows2", "columns16_rows3",
                              "rows15_leftover_8_4_1", "split_tiles", "split_directions"])
def test_knob_settings_agree(monkeypatch, tmp_path, overrides):
    converter = importlib.import_module("convrnn.compiler.passes.pack_recurrent_weights")  # (the package exports the pass under that name)
    from convrnn.compiler import compile_model
    from convrnn.runtime import load
    from convrnn.schedules.cpu import recurrent_knobs

    monkeypatch.setattr(converter, "knobs", lambda *args: recurrent_knobs.knobs(*args, overrides))
    model = gru_model(hidden=40)
    x = support.random_input((4, 7, 5), seed=2, low=-1, high=1)  # 7 rows: blocks and a remainder
    got = load(compile_model(model, tmp_path / "artifact")).run(X=x)  # not cached: the knobs differ
    for ours, want in zip(got, support.run_onnxruntime(model, {"X": x})):
        np.testing.assert_allclose(ours, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("split, barriers, direction_loops", [("tiles", 2, 0), ("directions", 0, 1)])
def test_split_decides_how_threads_share_a_step(monkeypatch, split, barriers, direction_loops):
    """`tiles`: all tasks of a phase shared, a barrier after each (this GRU has two phases);
    `directions`: a parallel loop over the directions, each with its own time loop, no barrier."""
    converter = importlib.import_module("convrnn.compiler.passes.pack_recurrent_weights")  # (the package exports the pass under that name)
    from convrnn.schedules.cpu import recurrent_knobs

    monkeypatch.setattr(converter, "knobs", lambda *args: recurrent_knobs.knobs(*args, {"split": split}))
    avx512 = parse_target('{"kind": "llvm", "mcpu": "skylake-avx512"}')  # tiles of 16 units: lowered, not run
    functions, _ = lower_graph(cpu_graph(gru_model(hidden=40)), avx512)
    (script,) = [f.script() for name, f in functions.items() if "gru" in name]
    assert script.count("pragma_parallel_barrier_when_finish") == barriers
    assert script.count("for d in T.parallel(2)") == direction_loops


def test_default_split_gives_each_thread_a_direction_only_when_threads_are_few():
    from convrnn.schedules.cpu.recurrent_knobs import default_split

    assert default_split(directions=2, threads=2) == "directions"
    assert default_split(directions=2, threads=1) == "directions"
    assert default_split(directions=2, threads=4) == "tiles"
    assert default_split(directions=1, threads=1) == "tiles"


def test_a_small_layer_runs_its_batch_of_1_on_one_thread(monkeypatch):
    """With two threads, a forward GRU 25 (a step of 1,875 multiply-adds: a barrier per step
    costs more than the step) is packed in one tile of 32 units and runs a batch of 1 with no
    parallel loop at all; other batches are still shared, with a barrier after each step. A
    forward LSTM 128, or two directions, keep their shared time loops."""
    import convrnn.runtime.threads as threads
    from convrnn.schedules.cpu.recurrent_knobs import default_serial, knobs, step_tile

    monkeypatch.setattr(threads, "pool_threads", lambda: 2)
    assert knobs(25, 1, 3, 16)["tile"] == 32 and step_tile(25, 1, 16, vectors=4) == 16  # (two tasks, shared)
    assert default_serial(25, 1, 3, threads=2) and not default_serial(128, 1, 4, threads=2)
    assert not default_serial(25, 2, 3, threads=2) and default_serial(128, 1, 4, threads=1)
    assert default_serial(128, 1, 3, threads=2, phases=2) and not default_serial(128, 1, 3, threads=2)

    functions, _ = lower_graph(cpu_graph(gru_model(hidden=25, direction="forward")), parse_target("cpu"))
    (script,) = [f.script() for name, f in functions.items() if "gru" in name]
    batch_1, other_batches = script.split("if batch == 1:")[1].split("else:", 1)
    assert "T.parallel" not in batch_1 and "barrier" not in batch_1
    assert other_batches.count("pragma_parallel_barrier_when_finish") == 2  # this GRU has two phases


@pytest.mark.parametrize("serial", [0, 1])
def test_serial_knob_runs_every_batch_alone_or_shared(monkeypatch, tmp_path, serial):
    """The tuner's `serial` (one direction): 1 runs every batch on the calling thread, 0
    shares every batch, the batch of 1 included; both compute the same (against onnxruntime)."""
    converter = importlib.import_module("convrnn.compiler.passes.pack_recurrent_weights")  # (the package exports the pass under that name)
    import convrnn.runtime.threads as threads
    from convrnn.compiler import compile_model
    from convrnn.runtime import load
    from convrnn.schedules.cpu import recurrent_knobs

    monkeypatch.setattr(threads, "pool_threads", lambda: 2)
    monkeypatch.setattr(converter, "knobs", lambda *args: recurrent_knobs.knobs(*args, {"serial": serial}))
    model = gru_model(hidden=25, direction="forward")
    functions, _ = lower_graph(cpu_graph(model), parse_target("cpu"))
    (script,) = [f.script() for name, f in functions.items() if "gru" in name]
    assert ("T.parallel" in script) == (not serial)
    compiled = load(compile_model(model, tmp_path / "artifact"))
    for seq, batch in ((9, 1), (6, 5)):
        x = support.random_input((seq, batch, 5), seed=seq, low=-1, high=1)
        for ours, want in zip(compiled.run(X=x), support.run_onnxruntime(model, {"X": x})):
            np.testing.assert_allclose(ours, want, rtol=1e-4, atol=1e-5)


def test_tuner_may_choose_serial_for_one_direction_with_threads_to_share(monkeypatch):
    import convrnn.runtime.threads as threads
    from convrnn.schedules.implementations import implementation

    graph = cpu_graph(gru_model(hidden=25, direction="forward"))
    (node,) = [n for n in graph.nodes if n.op == "GRU"]
    types = ([v.type if v is not None else None for v in node.inputs], [v.type for v in node.outputs])
    for pool, expected in ((2, [0, 1]), (1, None)):
        monkeypatch.setattr(threads, "pool_threads", lambda: pool)
        assert implementation("GRU", "llvm").knob_space(types[0], node.attrs, types[1], parse_target("cpu")).get("serial") == expected
