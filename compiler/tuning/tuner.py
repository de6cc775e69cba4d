"""`convrnn tune`: search each task's knobs by measuring candidates on this machine.

Per task: the template's defaults first (knobs {}), then a random start, then evolution
(one knob of one of the fastest candidates moved to a neighbouring value), until the task
has `trials` records, its space is exhausted, or the time budget is spent. Then each task's
best is judged inside the model (in_model.py), unless check_in_model is False. Candidates are
built in parallel (TVM compiles outside Python's lock), then timed one at a time. Every
measurement is appended to the database at once, so a killed run resumes where it stopped.
"""
from __future__ import annotations

import json
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Optional

from convrnn.compiler.passes import run_pipeline
from convrnn.compiler.target import parse_target
from convrnn.compiler.tuning.database import TuningDatabase, knobs_key
from convrnn.compiler.tuning.in_model import judge_in_model
from convrnn.compiler.tuning.measure import build_candidate, concrete_dims, kernel_arguments, time_candidate
from convrnn.compiler.tuning.tasks import Task, extract_tasks
from convrnn.frontend import import_onnx
from convrnn.runtime import tvm_runtime

RANDOM_START = 3  # candidates drawn at random before evolution starts
EXPLORE = 0.2  # chance that an evolution step draws at random instead


@dataclass
class TaskOutcome:
    task: Task
    measured: int  # records of this task in the database after the run
    default_ms: Optional[float]
    best_ms: Optional[float]
    best_knobs: Optional[dict]


Report = Callable[[str, bool], None]  # (line, task finished)


def tune(model: Any, db_path: str, target: Any = "cpu", trials: int = 16, time_budget: Optional[float] = None,
         input_shapes: Optional[dict] = None, dims: Optional[dict[str, int]] = None, workers: int = 2,
         report: Report = lambda line, done: None, seed: int = 0, check_in_model: bool = True) -> list[TaskOutcome]:
    target = parse_target(target)
    graph = run_pipeline(import_onnx(model, input_shapes), target)
    tasks = extract_tasks(graph, target)
    db = TuningDatabase.open(db_path)
    for problem in db.problems:
        report(problem, True)
    deadline = None if time_budget is None else time.monotonic() + time_budget
    rng = random.Random(seed)
    outcomes = []
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for index, task in enumerate(tasks):
            label = f"[{index + 1}/{len(tasks)}] {task.describe}"
            _tune_task(task, db, target, trials, deadline, dims or {}, pool, workers, rng,
                       lambda line: report(f"{label}  {line}", False))
            outcomes.append(_outcome(task, db, str(target), concrete_dims(task, dims or {})))
            report(f"{label}  {_summary(outcomes[-1])}", True)
    if check_in_model:
        judge_in_model(model, graph, tasks, db, target, input_shapes, dims or {},
                       lambda t: concrete_dims(t, dims or {}), lambda line: report(f"[model] {line}", True))
    return outcomes


def _tune_task(task, db, target, trials, deadline, dims, pool, workers, rng, report) -> None:
    target_key = str(target)
    measured_at = concrete_dims(task, dims)  # the sizes of its symbolic dims, kept in each record
    done = {knobs_key(r["knobs"]): r.get("ms") for r in db.of_task(target_key, task.key, measured_at)}
    wanted = min(trials, task.size + 1)  # + the defaults
    args = None
    while len(done) < wanted and (deadline is None or time.monotonic() < deadline):
        batch = _propose(task.space, done, rng, min(workers, wanted - len(done)))
        if not batch:
            break  # the space is exhausted
        builds = [pool.submit(build_candidate, task, knobs, target) for knobs in batch]
        # Every build of the batch ends before any timing starts: a compile beside a timed kernel
        # takes a core from it (the first of each batch, the defaults included, timed up to 2x slow).
        built = [_finished(build) for build in builds]
        for knobs, executable in zip(batch, built):
            record = {"target": target_key, "task": task.key, "op": task.node.op, "describe": task.describe,
                      "dims": measured_at, "knobs": knobs, "ms": None, "error": None}
            try:
                if isinstance(executable, Exception):
                    raise executable
                if args is None:
                    args = kernel_arguments(task, dims, tvm_runtime.device(target.device_type))
                record["ms"] = time_candidate(executable, args)
            except Exception as exc:  # a candidate TVM cannot build or run is recorded, not fatal
                last_line = (str(exc).strip().splitlines() or [""])[-1]
                record["error"] = f"{type(exc).__name__}: {last_line}"
            db.append(record)
            done[knobs_key(knobs)] = record["ms"]
            best = min((ms for ms in done.values() if ms is not None), default=None)
            report(f"trial {len(done)}/{wanted}" + (f"  best {best:.4f} ms" if best is not None else ""))


def _finished(build) -> Any:
    """A build's executable, or the exception it raised."""
    try:
        return build.result()
    except Exception as exc:  # recorded with its candidate
        return exc


def _propose(space: dict[str, list], done: dict[str, Optional[float]], rng: random.Random, count: int) -> list[dict]:
    """Up to `count` unmeasured candidates: the defaults ({}) first, a random start, then
    mutations of the fastest ones."""
    chosen: list[dict] = []
    taken = set(done)

    def take(knobs: dict) -> None:
        if knobs_key(knobs) not in taken:
            taken.add(knobs_key(knobs))
            chosen.append(knobs)

    take({})
    measured = sorted(((ms, key) for key, ms in done.items() if ms is not None and key != "{}"))
    for _ in range(50 * count):
        if len(chosen) >= count:
            break
        if len(measured) < RANDOM_START or rng.random() < EXPLORE:
            take({name: rng.choice(values) for name, values in space.items()})
        else:
            parent = json.loads(rng.choice(measured[:3])[1])
            name = rng.choice([n for n, values in space.items() if len(values) > 1])
            values = space[name]
            position = values.index(parent[name]) if parent.get(name) in values else 0
            step = rng.choice([-1, 1]) if 0 < position < len(values) - 1 else (1 if position == 0 else -1)
            take({**parent, name: values[position + step]})
    return chosen[:count]


def _outcome(task: Task, db: TuningDatabase, target_key: str, measured_at: dict[str, int]) -> TaskOutcome:
    records = db.of_task(target_key, task.key, measured_at)
    default = [r["ms"] for r in records if r["knobs"] == {} and r.get("ms") is not None]
    best = db.best(target_key, task.key, measured_at)
    return TaskOutcome(task, len(records), default[0] if default else None,
                       best["ms"] if best else None, best["knobs"] if best else None)


def _summary(outcome: TaskOutcome) -> str:
    if outcome.best_ms is None:
        return f"{outcome.measured} trials, none ran"
    text = f"{outcome.measured} trials, best {outcome.best_ms:.4f} ms"
    if outcome.default_ms:
        text += f" ({outcome.default_ms / outcome.best_ms:.2f}x the defaults' {outcome.default_ms:.4f} ms)"
    return text
