"""Timing shared by the benchmarks: blocks of runs per system, taken in alternation.

A thread pool keeps spinning for a while after a call and slows whichever system runs next,
so single calls in alternation would measure that; blocks of runs, with a pause before each
block, do not (DESIGN.md).
"""
from __future__ import annotations

import statistics
import time

# A system slower than this per call (TVM's untuned build) gets one call per block.
SLOW_RUN_S = 0.5
PAUSE_S = 0.05  # lets the previous system's spinning threads go idle


def time_in_blocks(runners: dict, blocks: int, runs: int) -> dict[str, float]:
    """Median milliseconds per call of each zero-argument runner, over `blocks` blocks of
    `runs` calls per system taken in alternation, after one uncounted warm-up block."""
    times: dict[str, list[float]] = {name: [] for name in runners}
    calls = {}
    for name, run in runners.items():
        start = time.perf_counter()
        run()
        calls[name] = 1 if time.perf_counter() - start > SLOW_RUN_S else runs
    for block in range(blocks + 1):
        for name, run in runners.items():
            time.sleep(PAUSE_S)
            for _ in range(calls[name]):
                start = time.perf_counter()
                run()
                if block:
                    times[name].append(time.perf_counter() - start)
    return {name: 1e3 * statistics.median(values) for name, values in times.items()}


def against_onnxruntime(model, feeds: dict, threads: int, blocks: int, runs: int, path: str,
                        rtol: float = 1e-3, atol: float = 1e-4) -> dict[str, float]:
    """Compile `model` with convrnn into `path`, check every output against onnxruntime's at
    the same thread count, and time both (median ms per run, as time_in_blocks)."""
    import numpy as np
    import onnxruntime as ort

    from convrnn.compiler import compile_model
    from convrnn.runtime import load

    compiled = load(compile_model(model, path))
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    for ours, theirs in zip(compiled.run(**feeds), session.run(None, feeds)):
        np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol)
    return time_in_blocks({"convrnn": lambda: compiled.run(**feeds),
                           "onnxruntime": lambda: session.run(None, feeds)}, blocks, runs)
