"""The tuner's last step: each task's tuned knobs judged inside the model they came from.

A candidate is timed alone (measure.py), with its weights flushed but its input warm, its
threads idle before the call and nothing after it: a model's kernels meet each other's data
in the caches and start the moment the last one ends, and a candidate fastest alone can be
slower there than the defaults. So the tuner compiles the
model twice, with its defaults and with its tuned knobs, times every kernel call in the
order the model runs them (the builds in alternation, as CompiledModel.time_calls), and
records for each task whose knobs it changed a verdict: the task's time in the model with
each build. A compile takes a task's tuned knobs only while its latest verdict (or none)
says they won (TuningDatabase.chosen).
"""
from __future__ import annotations

import statistics
import tempfile
from pathlib import Path
from typing import Any, Callable, Optional

from convrnn.compiler.tuning.database import IN_MODEL, TuningDatabase
from convrnn.compiler.tuning.tasks import Task

ROUNDS = 5  # alternations of the two builds
REPEATS = 10  # runs of the whole call sequence per build and round


def judge_in_model(model: Any, tasks: list[Task], db: TuningDatabase, target: Any,
                   input_shapes: Optional[dict], dims: dict[str, int], measured_at: Callable[[Task], dict],
                   report: Callable[[str], None]) -> None:
    """Append an in-model verdict to `db` for each task whose tuned knobs differ from its defaults."""
    from convrnn.compiler.bench import random_feeds
    from convrnn.compiler.build import compile_model
    from convrnn.runtime import load

    judged = {}
    for task in tasks:
        best = db.best(str(target), task.key, measured_at(task), space=task.space)
        if best is not None and best["knobs"]:
            judged[task.key] = (task, best["knobs"])
    if not judged:
        return
    with tempfile.TemporaryDirectory(prefix="convrnn-judge-") as work:
        # the tuned build takes every task's best, whatever an earlier verdict said of it
        candidates = TuningDatabase(db.path, [r for r in db.records if r.get("measure") != IN_MODEL])
        builds = {"default": load(compile_model(model, Path(work) / "default", target, input_shapes)),
                  "tuned": load(compile_model(model, Path(work) / "tuned", target, input_shapes, db=candidates))}
        feeds = random_feeds(builds["default"].inputs, dims)
        per_call: dict[str, list[list[float]]] = {name: [] for name in builds}
        nodes: list[str] = []
        for _ in range(ROUNDS):
            for name, build in builds.items():
                timings = build.time_calls(feeds, REPEATS)
                per_call[name].append([statistics.median(t.seconds) for t in timings])
                nodes = [t.node for t in timings]
    task_of_node = _task_of_node(model, input_shapes, judged)
    ms: dict[str, dict[str, float]] = {name: {} for name in builds}
    for name, rounds in per_call.items():
        for index, node in enumerate(nodes):
            key = task_of_node.get(node)
            if key is not None:
                ms[name][key] = ms[name].get(key, 0.0) + 1e3 * statistics.median(r[index] for r in rounds)
    for key, (task, knobs) in judged.items():
        if key not in ms["default"]:
            continue  # no call of it was timed (a kernel inside a Loop or If body): no verdict
        default_ms, tuned_ms = ms["default"][key], ms["tuned"][key]
        db.append({"target": str(target), "task": key, "op": task.node.op, "describe": task.describe,
                   "dims": measured_at(task), "knobs": knobs, "ms": None, "error": None, "measure": IN_MODEL,
                   "in_model": {"default_ms": round(default_ms, 5), "tuned_ms": round(tuned_ms, 5)}})
        verdict = "kept" if tuned_ms < default_ms else "dropped: the defaults"
        report(f"{task.describe}  in the model {tuned_ms:.4f} ms tuned, {default_ms:.4f} ms untuned ({verdict})")


def _task_of_node(model: Any, input_shapes: Optional[dict], judged: dict) -> dict[str, str]:
    """Node name -> the key of its judged task, over the graph the compiler builds."""
    from convrnn.compiler.passes import run_pipeline
    from convrnn.compiler.tuning.tasks import task_key
    from convrnn.frontend import import_onnx

    graph = run_pipeline(import_onnx(model, input_shapes))
    keys = {}
    for node in graph.nodes:
        key = task_key(node)
        if key in judged:
            keys[node.name] = key
    return keys
