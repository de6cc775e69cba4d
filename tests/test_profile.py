"""`convrnn profile`: every kernel call timed, its work counted from the shapes, rated against
the peaks measured here; the CLI's table and JSON, and its one-line user errors."""
from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import helper

import support
from convrnn.compiler.cli import main
from convrnn.compiler.profile import KernelRow, profile_model, summary, write_json

HIDDEN, FEATURES, CLASSES, SEQ = 16, 6, 5, 3
# Conv 1 -> 4 channels, 3x3, pads 1 on 8x8; the LSTM's steps; MatMul [1, 16] x [16, 5]
CONV_MULTIPLY_ADDS = 4 * 8 * 8 * 9
LSTM_MULTIPLY_ADDS = SEQ * 1 * 4 * HIDDEN * HIDDEN
MATMUL_MULTIPLY_ADDS = CLASSES * HIDDEN
COMPUTE_OPS = {"Conv", "RecurrentProjection", "LSTM", "MatMul"}


def conv_and_lstm_model() -> onnx.ModelProto:
    """An image through Conv, Relu and MaxPool; a sequence (symbolic length) through an LSTM
    and a MatMul."""
    rng = np.random.default_rng(0)
    nodes = [helper.make_node("Conv", ["image", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("MaxPool", ["r"], ["pooled"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("LSTM", ["frames", "W", "R"], ["", "Y_h"], hidden_size=HIDDEN),
             helper.make_node("MatMul", ["Y_h", "classes"], ["scores"])]
    inits = [("w", rng.standard_normal((4, 1, 3, 3)).astype(np.float32)),
             ("b", rng.standard_normal(4).astype(np.float32)),
             ("W", rng.standard_normal((1, 4 * HIDDEN, FEATURES)).astype(np.float32) * 0.3),
             ("R", rng.standard_normal((1, 4 * HIDDEN, HIDDEN)).astype(np.float32) * 0.3),
             ("classes", rng.standard_normal((HIDDEN, CLASSES)).astype(np.float32))]
    inputs = [support.tensor_info("image", "float32", [1, 1, 8, 8]),
              support.tensor_info("frames", "float32", ["seq", 1, FEATURES])]
    outputs = [support.tensor_info("pooled", "float32", None), support.tensor_info("scores", "float32", None)]
    return support.make_model(nodes, inputs, outputs, inits)


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("profile") / "model.onnx"
    onnx.save(conv_and_lstm_model(), path)
    return path


@pytest.fixture(scope="module")
def profiled(model_file):
    return profile_model(model_file, dims={"seq": SEQ}, repeats=3)


def test_a_row_for_every_kernel_call(profiled):
    plan = support.compile_cached(conv_and_lstm_model()).plan
    assert sorted(row.kernel for row in profiled.rows) == sorted(call["kernel"] for call in plan["calls"])
    assert {"Conv", "MaxPool", "RecurrentProjection", "LSTM", "MatMul"} <= {row.op for row in profiled.rows}
    assert [row.ms for row in profiled.rows] == sorted((row.ms for row in profiled.rows), reverse=True)
    assert sum(row.share for row in profiled.rows) == pytest.approx(1.0)
    assert sum(row.ms for row in profiled.rows) == pytest.approx(profiled.total_ms)
    assert profiled.repeats == 3 and profiled.dims == {"seq": SEQ}


def test_work_is_counted_from_the_shapes(profiled):
    by_op = {row.op: row for row in profiled.rows}
    assert by_op["Conv"].multiply_adds == CONV_MULTIPLY_ADDS
    assert by_op["LSTM"].multiply_adds == LSTM_MULTIPLY_ADDS
    assert by_op["MatMul"].multiply_adds == MATMUL_MULTIPLY_ADDS
    assert by_op["LSTM"].inputs[0][0] == SEQ  # the symbolic length at --dim's size
    assert by_op["MaxPool"].bytes == 4 * (4 * 8 * 8 + 4 * 4 * 4)
    peaks = profiled.peaks
    assert peaks.gflop_per_s > 0 and peaks.gb_per_s > 0 and peaks.threads >= 1
    for row in profiled.rows:
        seconds = row.ms / 1e3
        if row.op in COMPUTE_OPS:
            assert row.gb_per_s is None
            assert row.gflop_per_s == pytest.approx(2 * row.multiply_adds / seconds / 1e9)
            assert row.of_peak == pytest.approx(row.gflop_per_s / peaks.gflop_per_s)
        else:
            assert row.multiply_adds is None and row.gflop_per_s is None
            assert row.gb_per_s == pytest.approx(row.bytes / seconds / 1e9)
            assert row.of_peak == pytest.approx(row.gb_per_s / peaks.gb_per_s)


def test_json_round_trips(profiled, tmp_path):
    path = tmp_path / "profile.json"
    write_json(path, profiled)
    saved = json.loads(path.read_text())
    assert [KernelRow(**row) for row in saved["rows"]] == profiled.rows
    assert saved["peaks"]["gflop_per_s"] == profiled.peaks.gflop_per_s
    assert saved["total_ms"] == profiled.total_ms and saved["threads"] == profiled.threads


def test_time_calls_times_each_call_and_run_still_agrees():
    model = support.compile_cached(conv_and_lstm_model())
    feeds = {"image": support.random_input((1, 1, 8, 8)), "frames": support.random_input((SEQ, 1, FEATURES))}
    timings = model.time_calls(feeds, repeats=4)
    assert [t.kernel for t in timings] == [call["kernel"] for call in model.plan["calls"]]
    assert all(len(t.seconds) == 4 and min(t.seconds) > 0 for t in timings)
    support.assert_matches_onnxruntime(conv_and_lstm_model(), feeds)


def test_cli_prints_the_table_and_writes_json(model_file, tmp_path, capsys):
    path = tmp_path / "kernels.json"
    assert main(["profile", str(model_file), "--dim", f"seq={SEQ}", "--threads", "1", "--json", str(path)]) == 0
    printed = capsys.readouterr().out
    saved = json.loads(path.read_text())
    assert saved["dims"] == {"seq": SEQ} and saved["threads"] == 1
    table_rows = [line for line in printed.splitlines() if line.startswith("| ") and not line.startswith("| node")]
    assert len(table_rows) == len(saved["rows"]) >= 5
    assert "GFLOP/s (float32 FMA)" in printed and f"wrote {path}" in printed
    assert sum(row["share"] for row in saved["rows"]) == pytest.approx(1.0)


@pytest.mark.parametrize("argv, message", [
    (["profile", "{tmp}/missing.onnx"], "cannot read model"),
    (["profile", "{model}", "--dim", "seq"], "expected NAME=SIZE"),
    (["profile", "{model}", "--dim", "frames=4"], "no such symbolic dim (its dims are seq)"),
    (["profile", "{model}", "--json", "{tmp}/no/such/folder/out.json"], "no such folder"),
    (["profile", "{model}", "--json", "{tmp}"], "is a folder"),
    (["profile", "{model}", "--threads", "0"], "--threads must be at least 1"),
])
def test_user_errors_print_one_line(argv, message, model_file, tmp_path, capsys):
    argv = [a.format(model=model_file, tmp=tmp_path) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("convrnn: error: ") and err.count("\n") == 1 and message in err, err


def test_a_dim_is_named_as_the_model_writes_it(tmp_path, capsys):
    # exporters name dims "p2o.DynamicDimension.1" or "batch-size": --dim takes them as written
    model = support.make_model([helper.make_node("Relu", ["x"], ["y"])],
                               [support.tensor_info("x", "float32", ["p2o.DynamicDimension.1", 4])],
                               [support.tensor_info("y", "float32", None)])
    path = tmp_path / "dotted.onnx"
    onnx.save(model, path)
    assert main(["profile", str(path), "--dim", "p2o.DynamicDimension.1=3", "--threads", "1"]) == 0
    assert "3x4" in capsys.readouterr().out


def test_a_model_with_a_loop_says_its_bodies_are_not_broken_down(tmp_path):
    body = helper.make_graph(
        [helper.make_node("Add", ["h", "one"], ["h_next"]), helper.make_node("Identity", ["cond"], ["cond_out"])],
        "body", [support.tensor_info("i", "int64", []), support.tensor_info("cond", "bool", []),
                 support.tensor_info("h", "float32", [4])],
        [support.tensor_info("cond_out", "bool", []), support.tensor_info("h_next", "float32", [4])],
        [onnx.numpy_helper.from_array(np.array(1.0, np.float32), "one")])
    model = support.make_model([helper.make_node("Relu", ["x"], ["r"]),
                                helper.make_node("Loop", ["trips", "", "r"], ["y"], body=body)],
                               [support.tensor_info("x", "float32", [4])], [support.tensor_info("y", "float32", None)],
                               [("trips", np.array(3, np.int64))], opset=13)
    path = tmp_path / "loop.onnx"
    onnx.save(model, path)
    result = profile_model(path, repeats=3)
    assert result.has_bodies and result.run_ms > 0
    assert "Loop and If bodies, whose kernels are not among the rows" in summary(result)


def test_a_plain_model_reports_its_whole_run(profiled):
    assert profiled.run_ms > 0 and not profiled.has_bodies
    assert "a whole run" in summary(profiled) and "bodies" not in summary(profiled)
