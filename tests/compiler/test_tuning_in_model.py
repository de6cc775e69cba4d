"""The tuner's in-model check: each task's tuned knobs timed in the model against its
defaults, a verdict recorded, and a compile taking the tuned knobs only while they won."""
import json

import numpy as np
import onnx
from onnx import helper

import support
from convrnn.compiler import compile_model
from convrnn.compiler.cli import main
from convrnn.compiler.target import parse_target
from convrnn.compiler.tuning.apply import apply_tuning
from convrnn.compiler.tuning.database import IN_MODEL, MEASURE, TuningDatabase
from convrnn.compiler.tuning.tasks import extract_tasks
from convrnn.compiler.tuning.tuner import tune
from convrnn.compiler.passes import run_pipeline
from convrnn.frontend import import_onnx
from convrnn.runtime import load

TARGET = str(parse_target("cpu"))


def conv_gemm_model() -> onnx.ModelProto:
    """Conv 8->32 3x3 + Relu, then Gemm -> 16 over the flattened 32 x 4 x 4: two tasks."""
    rng = np.random.default_rng(5)
    inits = [("W", (rng.standard_normal((32, 8, 3, 3)) * 0.2).astype("float32")),
             ("G", (rng.standard_normal((32 * 4 * 4, 16)) * 0.05).astype("float32"))]
    nodes = [helper.make_node("Conv", ["x", "W"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("Flatten", ["r"], ["f"]),
             helper.make_node("Gemm", ["f", "G"], ["y"])]
    return support.make_model(nodes, [support.tensor_info("x", "float32", [2, 8, 4, 4])],
                              [support.tensor_info("y", "float32", None)], inits)


def record(knobs, ms=None, measure=MEASURE, task="t", dims=None, **extra):
    return {"version": 1, "target": TARGET, "task": task, "knobs": knobs, "ms": ms, "measure": measure,
            "dims": dims or {}, **extra}


def verdict(knobs, tuned_ms, default_ms, **extra):
    return record(knobs, measure=IN_MODEL, in_model={"tuned_ms": tuned_ms, "default_ms": default_ms}, **extra)


def database(tmp_path, records):
    path = tmp_path / "db.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    db = TuningDatabase.open(path)
    assert not db.problems
    return db


def test_a_compile_takes_the_candidate_fastest_in_the_model(tmp_path):
    fast, slow = {"a": 1}, {"a": 2}
    candidates = [record({}, 1.0), record(fast, 0.5), record(slow, 0.8)]
    assert database(tmp_path, candidates).chosen(TARGET, "t")["knobs"] == fast
    assert database(tmp_path, candidates + [verdict(fast, 0.4, 0.6)]).chosen(TARGET, "t")["knobs"] == fast
    assert database(tmp_path, candidates + [verdict(fast, 0.7, 0.6)]).chosen(TARGET, "t") is None
    # the latest verdict on those knobs decides; one on other knobs, or at other dims, does not
    assert database(tmp_path, candidates + [verdict(fast, 0.7, 0.6), verdict(fast, 0.5, 0.6)]
                    ).chosen(TARGET, "t")["knobs"] == fast
    assert database(tmp_path, candidates + [verdict(slow, 0.9, 0.6)]).chosen(TARGET, "t")["knobs"] == fast
    assert database(tmp_path, candidates + [verdict(fast, 0.9, 0.6, dims={"n": 4})]
                    ).chosen(TARGET, "t")["knobs"] == fast
    # of the candidates judged in the model, the fastest there, if it beat the defaults there
    judged_both = candidates + [verdict(fast, 0.7, 0.6)]
    assert database(tmp_path, judged_both + [verdict(slow, 0.5, 0.6)]).chosen(TARGET, "t")["knobs"] == slow
    assert database(tmp_path, candidates + [verdict(fast, 0.55, 0.6), verdict(slow, 0.5, 0.6)]
                    ).chosen(TARGET, "t")["knobs"] == slow
    assert database(tmp_path, judged_both + [verdict(slow, 0.65, 0.6)]).chosen(TARGET, "t") is None
    # a malformed verdict is no verdict
    broken = record(fast, measure=IN_MODEL, in_model={"tuned_ms": "slow"})
    assert database(tmp_path, candidates + [broken]).chosen(TARGET, "t")["knobs"] == fast


def test_verdicts_are_not_candidates(tmp_path):
    db = database(tmp_path, [record({}, 1.0), verdict({"a": 1}, 0.1, 0.2)])
    assert [r["knobs"] for r in db.of_task(TARGET, "t")] == [{}]
    assert db.best(TARGET, "t")["knobs"] == {}


def test_a_losing_verdict_leaves_the_node_its_defaults(tmp_path):
    graph = run_pipeline(import_onnx(conv_gemm_model()))
    target = parse_target("cpu")
    task = extract_tasks(graph, target)[0]
    knobs = {name: values[-1] for name, values in task.space.items()}
    candidates = [record({}, 1.0, task=task.key), record(knobs, 0.5, task=task.key)]

    def knobs_of_task(db):
        tuned = apply_tuning(graph, db, target)
        return [n.attrs.get("knobs") for n in tuned.nodes if n.name == task.node.name][0]

    assert knobs_of_task(database(tmp_path, candidates)) == knobs
    assert knobs_of_task(database(tmp_path, candidates + [verdict(knobs, 0.9, 0.6, task=task.key)])) is None


def test_tune_judges_each_tuned_task_in_the_model(tmp_path):
    model_file = tmp_path / "model.onnx"
    onnx.save(conv_gemm_model(), model_file)
    # each task's two fastest so far: knobs other than its defaults (nothing left to search)
    tasks = extract_tasks(run_pipeline(import_onnx(conv_gemm_model())), parse_target("cpu"))
    seeded = {t.key: [{name: values[-1] for name, values in t.space.items()},
                      {name: values[0] for name, values in t.space.items()}] for t in tasks}
    db_path = database(tmp_path, [record(knobs, 1e-6 * (rank + 1), task=key)
                                  for key, both in seeded.items() for rank, knobs in enumerate(both)]).path
    lines = []
    tune(str(model_file), str(db_path), trials=1, report=lambda line, done: lines.append(line))
    db = TuningDatabase.open(db_path)
    for task in tasks:
        verdicts = [r for r in db.records if r.get("measure") == IN_MODEL and r["task"] == task.key]
        assert [v["knobs"] for v in verdicts] == seeded[task.key]
        assert all(v["in_model"]["tuned_ms"] > 0 and v["in_model"]["default_ms"] > 0 for v in verdicts)
        winners = [v for v in verdicts if v["in_model"]["tuned_ms"] < v["in_model"]["default_ms"]]
        chosen = db.chosen(TARGET, task.key)
        if winners:
            assert chosen["knobs"] == min(winners, key=lambda v: v["in_model"]["tuned_ms"])["knobs"]
        else:
            assert chosen is None
    assert sum("[model]" in line for line in lines) == len(tasks)
    # whatever the verdicts, the compiled model computes what onnxruntime does
    compiled = load(compile_model(str(model_file), tmp_path / "art", db=str(db_path)))
    x = support.random_input((2, 8, 4, 4), seed=1)
    np.testing.assert_allclose(compiled.run(x=x)[0], support.run_onnxruntime(conv_gemm_model(), {"x": x})[0],
                               rtol=1e-4, atol=1e-4)


def test_the_cli_can_skip_the_check(tmp_path, capsys):
    model_file = tmp_path / "model.onnx"
    onnx.save(conv_gemm_model(), model_file)
    db_path = tmp_path / "tune.jsonl"
    assert main(["tune", str(model_file), "--db", str(db_path), "--trials", "2", "--no-model-check"]) == 0
    assert not [r for r in TuningDatabase.open(db_path).records if r.get("measure") == IN_MODEL]
