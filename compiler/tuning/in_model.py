"""The tuner's last step: each task's tuned knobs judged inside the model they came from.

A candidate is timed alone (measure.py), with its weights flushed but its input warm, its
threads idle before the call and nothing after it: a model's kernels meet each other's data
in the caches and start the moment the last one ends, and a candidate fastest alone can be
slower there than the defaults. So the tuner compiles the
model with its defaults and once per rank of candidate (build k takes each task's k-th
fastest), times every kernel call in the order the model runs them (the builds in
alternation, as CompiledModel.time_calls), and records for each judged candidate a verdict:
the task's time in the model with it and with the defaults. A compile takes the candidate
that ran fastest in the model if it beat the defaults there (TuningDatabase.chosen).
"""
from __future__ import annotations

import statistics
import tempfile
from pathlib import Path
from typing import Any, Callable, Optional

from convrnn.compiler.ir import Graph
from convrnn.compiler.tuning.database import IN_MODEL, TuningDatabase, knobs_key
from convrnn.compiler.tuning.tasks import Task, task_key

CANDIDATES = 2  # a task's fastest candidates (alone) that are judged in the model
ROUNDS = 5  # alternations of the builds
REPEATS = 10  # runs of the whole call sequence per build and round


def judge_in_model(model: Any, graph: Graph, tasks: list[Task], db: TuningDatabase, target: Any,
                   input_shapes: Optional[dict], dims: dict[str, int], measured_at: Callable[[Task], dict],
                   report: Callable[[str], None]) -> None:
    """Append an in-model verdict to `db` for each of the CANDIDATES fastest candidates of each
    task whose fastest differs from its defaults: build k takes every task's k-th candidate.
    graph: the model's graph after the pass pipeline (its nodes name the kernel calls)."""
    from convrnn.compiler.bench import random_feeds
    from convrnn.compiler.build import compile_model
    from convrnn.runtime import load

    judged = {task.key: (task, _fastest(db, str(target), task, measured_at(task))) for task in tasks}
    judged = {key: (task, records) for key, (task, records) in judged.items() if records}
    if not judged:
        return
    with tempfile.TemporaryDirectory(prefix="convrnn-judge-") as work:
        builds = {"default": load(compile_model(model, Path(work) / "default", target, input_shapes))}
        for k in range(max(len(records) for _, records in judged.values())):
            # each task's k-th candidate alone, whatever an earlier verdict said of it
            kth = TuningDatabase(db.path, [records[k] for _, records in judged.values() if len(records) > k])
            builds[k] = load(compile_model(model, Path(work) / f"candidate{k}", target, input_shapes, db=kth))
        feeds = random_feeds(builds["default"].inputs, dims)
        per_call: dict[Any, list[list[float]]] = {name: [] for name in builds}
        nodes: list[str] = []
        for _ in range(ROUNDS):
            for name, build in builds.items():
                timings = build.time_calls(feeds, REPEATS)
                per_call[name].append([statistics.median(t.seconds) for t in timings])
                nodes = [t.node for t in timings]
    keys = {node.name: task_key(node) for node in graph.nodes}
    task_of_node = {name: key for name, key in keys.items() if key in judged}
    ms: dict[Any, dict[str, float]] = {name: {} for name in builds}
    for name, rounds in per_call.items():
        for index, node in enumerate(nodes):
            key = task_of_node.get(node)
            if key is not None:
                ms[name][key] = ms[name].get(key, 0.0) + 1e3 * statistics.median(r[index] for r in rounds)
    for key, (task, records) in judged.items():
        if key not in ms["default"]:
            continue  # no call of it was timed (a kernel inside a Loop or If body): no verdict
        default_ms = ms["default"][key]
        for k, record in enumerate(records):
            db.append({"target": str(target), "task": key, "op": task.node.op, "describe": task.describe,
                       "dims": measured_at(task), "knobs": record["knobs"], "ms": None, "error": None,
                       "measure": IN_MODEL,
                       "in_model": {"default_ms": round(default_ms, 5), "tuned_ms": round(ms[k][key], 5)}})
        tuned = ", ".join(f"{ms[k][key]:.4f}" for k in range(len(records)))
        fastest = min(range(len(records)), key=lambda k: ms[k][key])
        verdict = f"kept candidate {fastest + 1}" if ms[fastest][key] < default_ms else "dropped: the defaults"
        report(f"{task.describe}  in the model {default_ms:.4f} ms untuned, {tuned} ms tuned ({verdict})")


def _fastest(db: TuningDatabase, target: str, task: Task, dims: dict) -> list[dict]:
    """The task's CANDIDATES fastest successful records at `dims` with knobs of its template's
    space, fastest first, when the very fastest is not the defaults (else none)."""
    records = sorted(db.measured(target, task.key, dims, task.space), key=lambda r: r["ms"])
    if not records or not records[0]["knobs"]:
        return []
    distinct: dict[str, dict] = {}
    for record in records:
        if record["knobs"]:
            distinct.setdefault(knobs_key(record["knobs"]), record)
    return list(distinct.values())[:CANDIDATES]
