"""The tuning database: a JSON-lines file, one measured candidate per line.

Appending one complete line per measurement (flushed and fsynced) is what makes a killed
tuning run resumable and loses nothing measured before the kill; a line that does not parse
(a torn last line, a hand edit) is reported and skipped, never fatal.

A record: {"version": 1, "target": <target JSON text>, "task": <task key>, "op": "Conv",
"describe": "...", "dims": {symbolic dim: the size it was measured at}, "knobs": {...},
"ms": float or null, "error": text or null, "measure": how "ms" was taken, "time": ISO}.
A verdict record ("measure": "in_model", "ms": null, "in_model": {"default_ms", "tuned_ms"})
holds a task's time in its model with its defaults and with candidate "knobs"; a compile
takes the judged candidate fastest in the model, or the defaults where none beat them
(chosen). Only records of this convrnn's way of measuring (MEASURE; a record without one
was timed warm, its weights cached from the call before, which picked kernels slower in
the model) compare with each other, as if the others were not there. A task's key does not
hold the dims, so one task may have been measured at several sizes (batch 1, then batch
16): times compare only at the same dims. Tuning resumes, and reports the best, at the dims
it measures; a compile (whose dims are symbolic) takes the fastest record at the dims of the
task's latest measurement, the tuning the user ran last. A record without dims is one at {}.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from convrnn.compiler.errors import TuningError

FORMAT_VERSION = 1
MEASURE = "cold"  # single calls, every argument but the input flushed from the caches before each
IN_MODEL = "in_model"  # a verdict on a task's tuned knobs, timed in its model (tuning/in_model.py)
WARM = "warm"  # the measure of records without one
_REQUIRED = {"version": int, "target": str, "task": str, "knobs": dict}


def dims_of(record: dict[str, Any]) -> dict[str, int]:
    """The sizes of the symbolic dims a record was measured at."""
    dims = record.get("dims")
    return dims if isinstance(dims, dict) else {}


def knobs_key(knobs: dict) -> str:
    return json.dumps(knobs, sort_keys=True)


@dataclass
class TuningDatabase:
    path: Path
    records: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # one line per skipped line of the file

    @classmethod
    def open(cls, path: "str | os.PathLike") -> "TuningDatabase":
        """Read `path` (a missing file is an empty database)."""
        db = cls(Path(path))
        if not db.path.exists():
            return db
        try:
            with open(db.path, encoding="utf-8", errors="replace") as lines:
                for number, line in enumerate(lines, 1):
                    if not line.strip():
                        continue
                    problem = db._take(line)
                    if problem:
                        db.problems.append(f"{db.path}:{number}: {problem}; line skipped")
        except OSError as exc:  # a folder, no permission: nothing half-read is used
            raise TuningError(f"cannot read tuning database {db.path}: {exc.strerror}") from None
        return db

    def _take(self, line: str) -> Optional[str]:
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            return f"not JSON ({exc.msg})"
        if not isinstance(record, dict):
            return "not a JSON object"
        for key, kind in _REQUIRED.items():
            if not isinstance(record.get(key), kind):
                return f"missing or malformed {key!r}"
        if record["version"] != FORMAT_VERSION:
            return f"record format version {record['version']}, this convrnn reads {FORMAT_VERSION}"
        ms = record.get("ms")
        if ms is not None and not (isinstance(ms, (int, float)) and ms > 0):
            return "malformed 'ms'"
        self.records.append(record)
        return None

    def append(self, record: dict[str, Any]) -> None:
        record = {"version": FORMAT_VERSION, "measure": MEASURE, **record, "time": time.strftime("%Y-%m-%dT%H:%M:%S")}
        line = json.dumps(record, sort_keys=True) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a+", encoding="utf-8") as out:
                if out.tell() and not self._ends_with_newline(out):
                    line = "\n" + line  # after a torn last line (a killed writer): start a fresh one
                out.write(line)
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:
            raise TuningError(f"cannot write tuning database {self.path}: {exc.strerror}") from None
        self.records.append(record)

    @staticmethod
    def _ends_with_newline(handle) -> bool:
        with open(handle.name, "rb") as raw:
            raw.seek(-1, os.SEEK_END)
            return raw.read(1) == b"\n"

    def of_task(self, target: str, task: str, dims: Optional[dict[str, int]] = None) -> list[dict[str, Any]]:
        """A task's records on a target measured this convrnn's way, in file order; only those
        measured at `dims` if given."""
        return [r for r in self.records if r["target"] == target and r["task"] == task
                and r.get("measure", WARM) == MEASURE and (dims is None or dims_of(r) == dims)]

    def measured(self, target: str, task: str, dims: Optional[dict[str, int]] = None,
                 space: Optional[dict[str, list]] = None) -> list[dict[str, Any]]:
        """of_task's records that ran (an "ms"), only those whose knobs all lie in `space` if given."""
        return [r for r in self.of_task(target, task, dims) if r.get("ms") is not None
                and (space is None or all(v in space.get(k, ()) for k, v in r["knobs"].items()))]

    def best(self, target: str, task: str, dims: Optional[dict[str, int]] = None,
             space: Optional[dict[str, list]] = None) -> Optional[dict[str, Any]]:
        """The fastest successful record of a task on a target at `dims` (by default the dims of
        its latest successful record), among those whose knobs all lie in `space` if given (a
        hand edit or an older convrnn may hold knobs the template no longer takes); None when
        there is none."""
        measured = self.measured(target, task, dims, space)
        if not measured:
            return None
        latest = dims_of(measured[-1])
        return min((r for r in measured if dims_of(r) == latest), key=lambda r: r["ms"])

    def chosen(self, target: str, task: str, space: Optional[dict[str, list]] = None) -> Optional[dict[str, Any]]:
        """What a compile applies. The best record while no in-model verdict judged its knobs
        (at its dims); else, of the candidates judged there (each by its latest verdict), the
        one that ran fastest in the model, if it beat the defaults there (None: the template's
        defaults)."""
        best = self.best(target, task, space=space)
        if best is None:
            return None
        latest: dict[str, dict[str, Any]] = {}
        for r in self.records:
            if (r["target"] == target and r["task"] == task and r.get("measure") == IN_MODEL
                    and dims_of(r) == dims_of(best) and _verdict(r) is not None):
                latest[knobs_key(r["knobs"])] = r
        if knobs_key(best["knobs"]) not in latest:
            return best
        winners = sorted((r for r in latest.values() if _verdict(r)), key=lambda r: r["in_model"]["tuned_ms"])
        for winner in winners:
            records = [r for r in self.measured(target, task, dims_of(best), space)
                       if knobs_key(r["knobs"]) == knobs_key(winner["knobs"])]
            if records:
                return records[0]
        return None


def _verdict(record: dict[str, Any]) -> Optional[bool]:
    """Whether an in-model record found the tuned knobs faster (None: malformed)."""
    times = record.get("in_model")
    if not isinstance(times, dict):
        return None
    tuned, default = times.get("tuned_ms"), times.get("default_ms")
    if not all(isinstance(t, (int, float)) and t >= 0 for t in (tuned, default)):
        return None
    return tuned < default
