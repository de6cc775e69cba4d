"""`convrnn profile`: where a model's time goes, kernel by kernel, against this machine's peaks.

The model is compiled (untuned, or with a tuning database) and run on random inputs with its
kernels called one by one (the runtime's `time_calls`); each call's time is the median over
the repeats. A convolution's, matrix product's or recurrence's rate is in GFLOP/s (its
multiply-adds, counted from the shapes by compiler/kernel_work.py, x 2) against the measured
FMA peak; every other kernel's in GB/s (bytes read + written) against the measured memory
bandwidth (compiler/peaks.py), both measured once per profile.

Calling kernels from Python adds a few microseconds per call that the executor (one call for
the whole model, what `run` uses) does not: the total can exceed a run's time on small models.
Kernels and peaks are measured at different moments: on cores shared with other processes
either can measure low, and a kernel can then show more than 100% of its peak.
"""
from __future__ import annotations

import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from convrnn.compiler.bench import random_feeds, write_json as _write_json
from convrnn.compiler.kernel_work import bytes_moved, multiply_adds
from convrnn.compiler.peaks import Peaks, measure_peaks
from convrnn.runtime.errors import InputError

# Repeats: as many as fill about this long, within these bounds.
TARGET_SECONDS = 1.0
MIN_REPEATS, MAX_REPEATS = 5, 200


@dataclass(frozen=True)
class KernelRow:
    node: str
    op: str
    kernel: str
    inputs: list  # concrete shapes, in the node's order (absent optional inputs left out)
    outputs: list
    ms: float  # median over the repeats
    share: float  # of the sum of every call's ms
    multiply_adds: Optional[int]  # None: not a compute-bound op
    bytes: int  # read + written
    gflop_per_s: Optional[float]  # compute-bound ops: 2 x multiply-adds / time
    gb_per_s: Optional[float]  # the other ops: bytes / time
    of_peak: float  # the rate over its peak (FMA or bandwidth)


@dataclass(frozen=True)
class Profile:
    model: str
    threads: int
    dims: dict
    repeats: int
    total_ms: float
    peaks: Peaks
    rows: list  # KernelRow, slowest first
    run_ms: float = 0.0  # a whole run (the executor, what `run` takes), median of the repeats
    has_bodies: bool = False  # Loop or If bodies run inside `run_ms`, not among the rows


def profile_model(model: "str | Path", dims: Optional[dict[str, int]] = None,
                  input_shapes: Optional[dict[str, list]] = None, db: "str | Path | None" = None,
                  repeats: Optional[int] = None, flush_denormals: bool = True) -> Profile:
    """Compile `model` for this CPU, time each kernel call on random inputs (symbolic dims at
    `dims`, default 1) over `repeats` runs (default: about TARGET_SECONDS' worth), and rate
    each against the peaks measured here. flush_denormals: as for convrnn.runtime.load."""
    dims = dict(dims or {})
    with tempfile.TemporaryDirectory() as work:
        compiled, nodes = _compile(model, Path(work) / "artifact", input_shapes, db, flush_denormals)
        _check_dims(compiled.inputs, dims)
        feeds = random_feeds(compiled.inputs, dims)
        if repeats is None:
            repeats = _repeats_for(compiled, feeds)
        timings = compiled.time_calls(feeds, repeats)
        run_ms = _run_ms(compiled, feeds, repeats)
        has_bodies = compiled.program is not None
    peaks = measure_peaks(_cpu_target())
    medians = [1e3 * float(np.median(t.seconds)) for t in timings]
    total = sum(medians)
    rows = [_row(timing, node, ms, ms / total if total > 0 else 0.0, peaks)
            for timing, node, ms in zip(timings, nodes, medians)]
    rows.sort(key=lambda row: row.ms, reverse=True)
    return Profile(str(model), peaks.threads, dims, repeats, total, peaks, rows, run_ms, has_bodies)


def _run_ms(compiled, feeds, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        compiled.run(feeds)
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def _row(timing, node, ms: float, share: float, peaks: Peaks) -> KernelRow:
    """One call's row: its work from its node and its arguments' shapes (inputs, then outputs)."""
    present = len(timing.arguments) - len(node.outputs)  # the inputs given (absent ones are not passed)
    shapes = [list(shape) for shape, _ in timing.arguments]
    given = iter(shapes[:present])
    macs = multiply_adds(node, [None if v is None else next(given) for v in node.inputs], shapes[present:])
    moved = bytes_moved(timing.arguments)
    seconds = max(ms, 1e-9) / 1e3
    if macs is not None:
        gflops, gbs = 2 * macs / seconds / 1e9, None
        of_peak = gflops / peaks.gflop_per_s
    else:
        gflops, gbs = None, moved / seconds / 1e9
        of_peak = gbs / peaks.gb_per_s
    return KernelRow(timing.node, node.op, timing.kernel, shapes[:present], shapes[present:], ms, share, macs, moved,
                     gflops, gbs, of_peak)


def _cpu_target():
    from convrnn.compiler.target import parse_target

    return parse_target("cpu")


def _compile(model, output: Path, input_shapes, db, flush_denormals: bool) -> tuple[Any, list]:
    """compile_model's steps, keeping the compiled graph: its nodes' ops and attrs say what
    work each kernel call does. The loaded model, and the node of each kernel call in order
    (names are not unique: a recurrence's projection and time loop share one)."""
    from convrnn.compiler import tvm_adapter
    from convrnn.compiler.build import compile_graph, make_plan, open_tuning_database
    from convrnn.frontend import import_onnx
    from convrnn.runtime import load
    from convrnn.runtime.artifact import write_artifact

    tuning = open_tuning_database(db) if db is not None else None
    compiled, executable = compile_graph(import_onnx(model, input_shapes), _cpu_target(), tuning)
    plan, constants = make_plan(compiled)
    write_artifact(output, plan, constants, lambda path: tvm_adapter.export_library(executable, path))
    return load(output, flush_denormals=flush_denormals), [call.node for call in compiled.calls if call.kernel is not None]


def _check_dims(inputs, dims: dict[str, int]) -> None:
    known = sorted({d for spec in inputs for d in spec.shape if isinstance(d, str)})
    unknown = sorted(set(dims) - set(known))
    if unknown:
        raise InputError(f"--dim {', '.join(unknown)}: the model has no such symbolic dim "
                         f"({'its dims are ' + ', '.join(known) if known else 'all its dims are fixed'})")


def _repeats_for(compiled, feeds) -> int:
    compiled.run(feeds)  # the first run allocates
    start = time.perf_counter()
    compiled.run(feeds)
    once = time.perf_counter() - start
    return int(min(MAX_REPEATS, max(MIN_REPEATS, TARGET_SECONDS / max(once, 1e-6))))


def _shapes(shapes: list) -> str:
    return ", ".join("x".join(map(str, shape)) or "scalar" for shape in shapes)


def summary(result: Profile) -> str:
    """The header line: what was measured, the total and the peaks."""
    dims = f", {', '.join(f'{k}={v}' for k, v in result.dims.items())}" if result.dims else ""
    bodies = (" (it runs Loop and If bodies, whose kernels are not among the rows)" if result.has_bodies else "")
    return (f"{result.model}: {result.threads} threads{dims}, median of {result.repeats} runs kernel by kernel, "
            f"{result.total_ms:.3f} ms in {len(result.rows)} kernel calls; a whole run {result.run_ms:.3f} ms{bodies}; "
            f"peaks measured here: {result.peaks.gflop_per_s:.0f} GFLOP/s (float32 FMA), "
            f"{result.peaks.gb_per_s:.1f} GB/s (memory)")


def table(result: Profile) -> str:
    """The rows as a markdown table, slowest first."""
    lines = ["| node | op | inputs | outputs | ms | share | achieved | of peak |", "|---|---|---|---|---|---|---|---|"]
    for row in result.rows:
        rate = f"{row.gflop_per_s:.1f} GFLOP/s" if row.gflop_per_s is not None else f"{row.gb_per_s:.2f} GB/s"
        lines.append(f"| {row.node} | {row.op} | {_shapes(row.inputs)} | {_shapes(row.outputs)} | {row.ms:.4f} | "
                     f"{100 * row.share:.1f}% | {rate} | {100 * row.of_peak:.1f}% |")
    return "\n".join(lines)


def write_json(path: "str | Path", result: Profile) -> None:
    """The profile as JSON (rows as `table` prints them, plus their counts), written whole."""
    meta = {key: value for key, value in asdict(result).items() if key != "rows"}
    _write_json(path, result.rows, meta)
