"""convrnn tune: records per task, resume (also after a kill), corrupt lines, and compile's
choice of the best record; tuned kernels compute what untuned ones do. Tiny budgets."""
import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import onnx
import pytest
from onnx import helper

import support
from convrnn.compiler import compile_model
from convrnn.compiler.cli import main
from convrnn.compiler.errors import TuningError
from convrnn.compiler.target import parse_target
from convrnn.compiler.tuning.apply import apply_tuning
from convrnn.compiler.tuning.database import TuningDatabase
from convrnn.compiler.tuning.tasks import extract_tasks
from convrnn.compiler.tuning.tuner import tune as tune_and_check
from convrnn.compiler.passes import run_pipeline
from convrnn.frontend import import_onnx
from convrnn.runtime import load


def tune(*args, **kwargs):
    """The search alone (tests/compiler/test_tuning_in_model.py covers the in-model check)."""
    return tune_and_check(*args, check_in_model=False, **kwargs)


def conv_gemm_model() -> onnx.ModelProto:
    """Conv 8->16 3x3 + Relu, Flatten, Gemm -> 32: two tunable tasks."""
    rng = np.random.default_rng(3)
    inits = [("W", (rng.standard_normal((16, 8, 3, 3)) * 0.2).astype("float32")),
             ("B", rng.standard_normal(16).astype("float32")),
             ("G", (rng.standard_normal((16 * 6 * 6, 32)) * 0.05).astype("float32"))]
    nodes = [helper.make_node("Conv", ["x", "W", "B"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("Flatten", ["r"], ["f"]),
             helper.make_node("Gemm", ["f", "G"], ["y"])]
    return support.make_model(nodes, [support.tensor_info("x", "float32", ["n", 8, 6, 6])],
                              [support.tensor_info("y", "float32", None)], inits)


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("tune") / "model.onnx"
    onnx.save(conv_gemm_model(), path)
    return path


def records_by_task(path):
    db = TuningDatabase.open(path)
    assert not db.problems
    tasks = {}
    for record in db.records:
        tasks.setdefault(record["task"], []).append(json.dumps(record["knobs"], sort_keys=True))
    return tasks


def test_tune_writes_one_record_per_candidate_and_resumes(model_file, tmp_path):
    db_path = tmp_path / "tune.jsonl"
    outcomes = tune(str(model_file), str(db_path), trials=3)
    assert [o.task.node.op for o in outcomes] == ["Conv", "Gemm"]
    first = records_by_task(db_path)
    assert len(first) == 2 and all(len(knobs) == 3 for knobs in first.values())
    assert all("{}" in knobs for knobs in first.values())  # the defaults are always measured
    for outcome in outcomes:
        assert outcome.best_ms is not None and outcome.best_ms <= outcome.default_ms

    tune(str(model_file), str(db_path), trials=3)  # nothing left to do
    assert records_by_task(db_path) == first
    tune(str(model_file), str(db_path), trials=4)  # one more candidate each while the space lasts
    more = records_by_task(db_path)
    sizes = {o.task.key: o.task.size + 1 for o in outcomes}  # + the defaults
    for task, knobs in more.items():
        assert knobs[:3] == first[task] and len(knobs) == min(4, sizes[task]) and len(set(knobs)) == len(knobs)


def test_corrupt_lines_are_reported_and_skipped(model_file, tmp_path):
    db_path = tmp_path / "tune.jsonl"
    tune(str(model_file), str(db_path), trials=2)
    good = db_path.read_text().splitlines()
    db_path.write_text("\n".join([good[0], "not json at all", '{"version": 1, "task": 3}', *good[1:],
                                  good[-1][: len(good[-1]) // 2]]))  # a torn last line, no newline
    db = TuningDatabase.open(db_path)
    assert len(db.records) == len(good)
    assert [p.split(": ", 1)[0].rsplit(":", 1)[1] for p in db.problems] == ["2", "3", str(len(good) + 3)]
    lines = []
    tune(str(model_file), str(db_path), trials=3, report=lambda line, done: lines.append(line))
    assert any("not JSON" in line for line in lines)
    resumed = TuningDatabase.open(db_path)
    per_task = {}
    for record in resumed.records:
        per_task.setdefault(record["task"], []).append(json.dumps(record["knobs"], sort_keys=True))
    assert all(len(knobs) == 3 == len(set(knobs)) for knobs in per_task.values())


def test_killed_tune_keeps_its_records_and_resumes(model_file, tmp_path):
    db_path = tmp_path / "tune.jsonl"
    command = [sys.executable, "-m", "convrnn.compiler.cli", "tune", str(model_file), "--db", str(db_path),
               "--trials", "40"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "TVM_NUM_THREADS": "1"})
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and (not db_path.exists() or len(db_path.read_text().splitlines()) < 3):
            assert process.poll() is None, "tune finished before it could be killed"
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    before = TuningDatabase.open(db_path)
    assert len(before.records) >= 3 and len(before.problems) <= 1  # at most a torn last line
    kept = [json.dumps([r["task"], r["knobs"]], sort_keys=True) for r in before.records]
    tune(str(model_file), str(db_path), trials=len(kept) + 1)
    after = [json.dumps([r["task"], r["knobs"]], sort_keys=True) for r in TuningDatabase.open(db_path).records]
    assert after[: len(kept)] == kept and len(after) > len(kept) and len(set(after)) == len(after)


def test_compile_takes_the_best_record_and_computes_the_same(model_file, tmp_path):
    target = parse_target("cpu")
    tasks = extract_tasks(run_pipeline(import_onnx(str(model_file))), target)
    conv = next(t for t in tasks if t.node.op == "Conv")
    chosen = {**{name: values[-1] for name, values in conv.space.items()}}
    db = TuningDatabase.open(tmp_path / "hand.jsonl")
    for knobs, ms in (({}, 2.0), (chosen, 1.0), ({name: values[0] for name, values in conv.space.items()}, 3.0)):
        db.append({"target": str(target), "task": conv.key, "op": "Conv", "knobs": knobs, "ms": ms, "error": None})
    db.append({"target": '{"kind": "llvm", "mcpu": "other"}', "task": conv.key, "op": "Conv",
               "knobs": {name: values[0] for name, values in conv.space.items()}, "ms": 0.5, "error": None})

    graph = apply_tuning(run_pipeline(import_onnx(str(model_file))), db, target)
    assert [n.attrs.get("knobs") for n in graph.nodes if n.op == "Conv"] == [chosen]
    # a faster record whose knobs the template does not take (a hand edit, an older convrnn) is passed over
    for knobs in ({**chosen, "no_such_knob": 1}, {**chosen, next(iter(conv.space)): 10_000}):
        db.append({"target": str(target), "task": conv.key, "op": "Conv", "knobs": knobs, "ms": 0.1, "error": None})
    graph = apply_tuning(run_pipeline(import_onnx(str(model_file))), db, target)
    assert [n.attrs.get("knobs") for n in graph.nodes if n.op == "Conv"] == [chosen]

    x = support.random_input((2, 8, 6, 6), seed=1)
    tuned = load(compile_model(str(model_file), tmp_path / "tuned", db=db.path)).run(x)[0]
    untuned = load(compile_model(str(model_file), tmp_path / "untuned")).run(x)[0]
    np.testing.assert_allclose(tuned, untuned, rtol=1e-5, atol=1e-5)
    support.assert_matches_onnxruntime(conv_gemm_model(), {"x": x})


def test_records_timed_warm_by_an_older_convrnn_are_passed_over(model_file, tmp_path):
    """Records without a measure were timed with the weights cached from the call before:
    they neither compare with cold ones nor count as measured when tuning resumes."""
    target = parse_target("cpu")
    conv = next(t for t in extract_tasks(run_pipeline(import_onnx(str(model_file))), target) if t.node.op == "Conv")
    warm = {name: values[0] for name, values in conv.space.items()}
    path = tmp_path / "old.jsonl"
    path.write_text(json.dumps({"version": 1, "target": str(target), "task": conv.key, "op": "Conv", "knobs": warm,
                                "ms": 0.001, "error": None}) + "\n")
    db = TuningDatabase.open(path)
    assert len(db.records) == 1 and db.best(str(target), conv.key) is None
    graph = apply_tuning(run_pipeline(import_onnx(str(model_file))), db, target)
    assert [n.attrs.get("knobs") for n in graph.nodes if n.op == "Conv"] == [None]  # the defaults
    tune(str(model_file), str(path), trials=2)
    fresh = [r for r in TuningDatabase.open(path).records if r["task"] == conv.key][1:]
    assert fresh and all(r["measure"] == "cold" and r["ms"] > 0 for r in fresh)
    assert {} in [r["knobs"] for r in fresh]  # the defaults measured again, cold


def test_cli_tune_then_compile_with_db(model_file, tmp_path, capsys):
    db_path = tmp_path / "cli.jsonl"
    assert main(["tune", str(model_file), "--db", str(db_path), "--trials", "2"]) == 0
    assert "tuned 2/2 tasks" in capsys.readouterr().out
    assert main(["compile", str(model_file), "-o", str(tmp_path / "out"), "--db", str(db_path)]) == 0


def test_cli_user_errors_are_one_line(model_file, tmp_path, capsys):
    assert main(["compile", str(model_file), "-o", str(tmp_path / "out"), "--db", str(tmp_path / "none.jsonl")]) == 2
    assert main(["tune", str(model_file), "--db", str(tmp_path / "t.jsonl"), "--trials", "0"]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 2 and "no tuning database" in errors[0] and "--trials" in errors[1]
    with pytest.raises(TuningError):
        compile_model(str(model_file), tmp_path / "out", db=tmp_path / "none.jsonl")


def test_cli_bench_prints_a_table_and_writes_json(model_file, tmp_path, capsys):
    db_path = tmp_path / "bench.jsonl"
    assert main(["tune", str(model_file), "--db", str(db_path), "--trials", "2"]) == 0
    out = tmp_path / "bench.json"
    assert main(["bench", str(model_file), "--db", str(db_path), "--blocks", "1", "--runs", "2",
                 "--dim", "n=2", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| convrnn (untuned) |" in printed and "| convrnn (tuned) |" in printed and "| onnxruntime |" in printed
    rows = json.loads(out.read_text())["rows"]
    assert {row["system"] for row in rows} >= {"convrnn (untuned)", "convrnn (tuned)", "onnxruntime"}
    assert all(row["agrees"] and row["ms"] > 0 for row in rows)


def test_recurrent_rows_knob_is_tuned_and_applied(tmp_path):
    rng = np.random.default_rng(4)
    hidden = 16
    inits = [("W", rng.uniform(-0.5, 0.5, (1, 4 * hidden, 3)).astype(np.float32)),
             ("R", rng.uniform(-0.3, 0.3, (1, 4 * hidden, hidden)).astype(np.float32))]
    model = support.make_model([helper.make_node("LSTM", ["x", "W", "R"], ["y"], hidden_size=hidden)],
                               [support.tensor_info("x", "float32", ["seq", "batch", 3])],
                               [support.tensor_info("y", "float32", None)], inits, opset=14)
    path = tmp_path / "lstm.onnx"
    onnx.save(model, path)
    db_path = tmp_path / "lstm.jsonl"
    (outcome,) = [o for o in tune(str(path), str(db_path), trials=3, dims={"batch": 4, "seq": 5})
                  if o.task.node.op == "LSTM"]
    assert "rows" in outcome.task.space and outcome.measured == 3  # rows_tile, serial too with 8 lanes
    records = [r for r in TuningDatabase.open(db_path).records if r["op"] == "LSTM"]
    assert all(r["dims"] == {"batch": 4, "seq": 5} for r in records)  # each record says what it measured

    target = parse_target("cpu")
    db = TuningDatabase.open(tmp_path / "rows.jsonl")
    db.append({"target": str(target), "task": outcome.task.key, "op": "LSTM", "knobs": {"rows": 3}, "ms": 1.0,
               "error": None})
    graph = apply_tuning(run_pipeline(import_onnx(str(path))), db, target)
    assert [n.attrs.get("knobs") for n in graph.nodes if n.op == "LSTM"] == [{"rows": 3}]
    x = support.random_input((6, 5, 3), seed=2, low=-1, high=1)  # 5 rows: a block of 3, then 2 alone
    tuned = load(compile_model(str(path), tmp_path / "tuned", db=db.path)).run(x)[0]
    np.testing.assert_allclose(tuned, support.run_onnxruntime(model, {"x": x})[0], rtol=1e-4, atol=1e-5)


def test_time_budget_stops_the_search_and_keeps_what_was_measured(model_file, tmp_path):
    db_path = tmp_path / "budget.jsonl"
    outcomes = tune(str(model_file), str(db_path), trials=40, time_budget=0)
    assert all(o.measured == 0 and o.best_ms is None for o in outcomes) and not db_path.exists()
    tune(str(model_file), str(db_path), trials=2)
    kept = TuningDatabase.open(db_path).records
    tune(str(model_file), str(db_path), trials=40, time_budget=0)  # spent at once: nothing new, nothing lost
    assert TuningDatabase.open(db_path).records == kept


@pytest.mark.parametrize("command, message", [
    (["tune", "{model}", "--db", "{tmp}"], "cannot read tuning database"),
    (["tune", "{model}", "--db", "{tmp}/t.jsonl", "--time-budget", "-1"], "--time-budget must be at least 0"),
    (["tune", "{model}", "--db", "{tmp}/t.jsonl", "--workers", "0"], "--workers must be at least 1"),
    (["bench", "{model}", "--runs", "0"], "--runs must be at least 1"),
    (["bench", "{model}", "--blocks", "0"], "--blocks must be at least 1"),
    (["bench", "{model}", "--json", "{tmp}/no/such/folder/out.json"], "--json .*: no such folder"),
], ids=["db_is_a_folder", "negative_budget", "no_workers", "no_runs", "no_blocks", "json_folder_missing"])
def test_cli_bad_tune_and_bench_options_are_one_line(model_file, tmp_path, capsys, command, message):
    argv = [part.format(model=model_file, tmp=tmp_path) for part in command]
    assert main(argv) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 1 and re.search(message, errors[0]), errors


def test_unwritable_database_is_a_clear_error(model_file, tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("")
    with pytest.raises(TuningError, match="cannot write tuning database"):
        tune(str(model_file), str(blocked / "t.jsonl"), trials=2)  # its folder is a file


def test_a_batch_is_built_whole_before_any_candidate_is_timed(model_file, tmp_path, monkeypatch):
    """A compile running beside a timed kernel would take a core from it."""
    from convrnn.compiler.tuning import tuner

    events, build, time_candidate = [], tuner.build_candidate, tuner.time_candidate

    def slow_second_build(task, knobs, target):
        executable = build(task, knobs, target)
        if knobs:  # the defaults build fast, the other candidate of the batch slowly
            time.sleep(0.5)
        events.append(("built", time.monotonic()))
        return executable

    def timed(executable, args):
        events.append(("timed", time.monotonic()))
        return time_candidate(executable, args)

    monkeypatch.setattr(tuner, "build_candidate", slow_second_build)
    monkeypatch.setattr(tuner, "time_candidate", timed)
    tune(str(model_file), str(tmp_path / "tune.jsonl"), trials=2, workers=2)
    first_batch = events[:4]  # the first task's batch: the defaults and one candidate
    assert [kind for kind, _ in first_batch] == ["built", "built", "timed", "timed"]


def test_times_compare_only_at_the_dims_they_were_measured_at(model_file, tmp_path):
    """A task tuned at n=1 and then at n=4 is tuned afresh at n=4 (n=1's records do not count
    as done there), and a compile takes the best record at the latest tuning's dims, not the
    fastest at any dims (n=1's times are smaller for every candidate)."""
    db_path = tmp_path / "dims.jsonl"
    tune(str(model_file), str(db_path), trials=2, dims={"n": 1})
    outcomes = tune(str(model_file), str(db_path), trials=2, dims={"n": 4})
    assert all(o.measured == 2 for o in outcomes)
    dims = [r["dims"] for r in TuningDatabase.open(db_path).records]
    assert dims.count({"n": 1}) == dims.count({"n": 4}) == 4

    target = parse_target("cpu")
    conv = next(t for t in extract_tasks(run_pipeline(import_onnx(str(model_file))), target) if t.node.op == "Conv")
    first, last = ({name: values[i] for name, values in conv.space.items()} for i in (0, -1))
    db = TuningDatabase.open(tmp_path / "hand.jsonl")
    for knobs, n, ms in ((first, 1, 0.1), (last, 1, 0.2), (first, 4, 0.9), (last, 4, 0.8)):
        db.append({"target": str(target), "task": conv.key, "op": "Conv", "dims": {"n": n}, "knobs": knobs,
                   "ms": ms, "error": None})
    assert db.best(str(target), conv.key)["knobs"] == last
    assert db.best(str(target), conv.key, {"n": 1})["knobs"] == first
    graph = apply_tuning(run_pipeline(import_onnx(str(model_file))), db, target)
    assert [n.attrs.get("knobs") for n in graph.nodes if n.op == "Conv"] == [last]


def test_recurrent_task_width_and_split_are_tuned_without_repacking(tmp_path):
    """A bidirectional LSTM 32 packs tiles of 32 units: its tasks at batch > 1 may take 16 or
    32 of them, its threads tiles or directions; a record's choice compiles and computes the same."""
    rng = np.random.default_rng(5)
    hidden = 32
    inits = [("W", rng.uniform(-0.5, 0.5, (2, 4 * hidden, 3)).astype(np.float32)),
             ("R", rng.uniform(-0.3, 0.3, (2, 4 * hidden, hidden)).astype(np.float32))]
    model = support.make_model([helper.make_node("LSTM", ["x", "W", "R"], ["y"], hidden_size=hidden,
                                                 direction="bidirectional")],
                               [support.tensor_info("x", "float32", ["seq", "batch", 3])],
                               [support.tensor_info("y", "float32", None)], inits, opset=14)
    path = tmp_path / "bilstm.onnx"
    onnx.save(model, path)
    target = parse_target("cpu")
    (task,) = [t for t in extract_tasks(run_pipeline(import_onnx(str(path))), target) if t.node.op == "LSTM"]
    assert task.space["rows_tile"][-2:] == [16, 32] and task.space["split"] == ["tiles", "directions"]
    x = support.random_input((6, 5, 3), seed=3, low=-1, high=1)
    want = support.run_onnxruntime(model, {"x": x})[0]
    for knobs in ({"rows_tile": 16, "rows": 3, "split": "tiles"}, {"rows_tile": 32, "rows": 2, "split": "directions"}):
        db = TuningDatabase.open(tmp_path / f"{knobs['rows_tile']}.jsonl")
        db.append({"target": str(target), "task": task.key, "op": "LSTM", "knobs": knobs, "ms": 1.0, "error": None})
        got = load(compile_model(str(path), tmp_path / f"tuned{knobs['rows_tile']}", db=db.path)).run(x)[0]
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_every_axis_symbolic_is_tunable(tmp_path):
    """A model declaring every axis symbolic (as real models do) has knob spaces for its blocked
    and NCHW convs and its MatMul, and a short tune over them compiles and computes the same."""
    rng = np.random.default_rng(5)
    inits = [("W1", (rng.standard_normal((16, 4, 3, 3)) * 0.3).astype("float32")),
             ("W2", (rng.standard_normal((16, 16, 3, 3)) * 0.1).astype("float32")),
             ("W3", (rng.standard_normal((12, 5, 3, 1)) * 0.3).astype("float32")),
             ("M", (rng.standard_normal((9, 20)) * 0.3).astype("float32"))]
    nodes = [helper.make_node("Conv", ["x", "W1"], ["a"], pads=[1, 1, 1, 1]), helper.make_node("Relu", ["a"], ["r"]),
             helper.make_node("Conv", ["r", "W2"], ["y"], pads=[1, 1, 1, 1]),
             helper.make_node("Conv", ["z", "W3"], ["t"], pads=[1, 0, 1, 0]),
             helper.make_node("MatMul", ["m", "M"], ["u"])]
    model = support.make_model(nodes, [support.tensor_info("x", "float32", ["n", 4, "h", "w"]),
                                       support.tensor_info("z", "float32", ["n", 5, "h2", "w2"]),
                                       support.tensor_info("m", "float32", ["rows", 9])],
                               [support.tensor_info(n, "float32", None) for n in ("y", "t", "u")], inits)
    path, db = tmp_path / "model.onnx", str(tmp_path / "tune.jsonl")
    onnx.save(model, path)
    tasks = extract_tasks(run_pipeline(import_onnx(str(path))), parse_target("cpu"))
    assert {"ConvBlocked", "Conv", "MatMul"} <= {task.node.op for task in tasks}
    assert all(task.space for task in tasks)
    tune(str(path), db, trials=3, dims={"n": 1, "h": 12, "w": 9, "h2": 7, "w2": 11, "rows": 5})
    from convrnn.compiler import compile_model

    tuned = load(compile_model(str(path), tmp_path / "tuned.convrnn", db=db))
    feeds = {"x": support.random_input((2, 4, 12, 9)), "z": support.random_input((2, 5, 7, 11)),
             "m": support.random_input((5, 9))}
    for ours, theirs in zip(tuned.run(feeds), support.run_onnxruntime(model, feeds)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)
