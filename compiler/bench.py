"""`convrnn bench`: one model compiled by convrnn (untuned, and tuned with a database) beside
onnxruntime and OpenVINO (when installed), in one process, on the same random inputs.

Timing (also used by benchmarks/): a thread pool keeps spinning for a while after a call and
slows whichever system runs next, so single calls in alternation would measure that; blocks
of runs per system, taken in alternation with a pause and a short untimed warm-up before
each block, do not.
"""
from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

SLOW_RUN_S = 0.5  # a system slower than this per call gets one call per block
# Lets the previous system's spinning threads go idle: thread pools busy-wait after a call
# (OpenMP's, PyTorch's, for up to 200 ms; TVM's too). With 50 ms pauses onnxruntime's LSTM,
# timed right after convrnn's, measured 8.0 ms here instead of 2.2 ms.
PAUSE_S = 0.3
# After the pause, each system runs untimed for this long first: its own threads were parked
# and its data left the caches during the pause. Without it a sub-millisecond model timed in
# blocks of 5 runs measured 2x its steady speed here (MobileNetV2-style: 0.50 against 0.21 ms).
WARM_UP_S = 0.02
RTOL, ATOL = 1e-3, 1e-4

Runner = Callable[[], list]


def time_in_blocks(runners: dict[str, Callable[[], Any]], blocks: int, runs: int) -> dict[str, float]:
    """Median milliseconds per call of each zero-argument runner, over `blocks` blocks of
    `runs` calls per system taken in alternation, after one uncounted warm-up block; each
    block starts with a pause and WARM_UP_S of untimed calls."""
    times: dict[str, list[float]] = {name: [] for name in runners}
    calls = {}
    for name, run in runners.items():
        start = time.perf_counter()
        run()
        calls[name] = 1 if time.perf_counter() - start > SLOW_RUN_S else runs
    for block in range(blocks + 1):
        for name, run in runners.items():
            time.sleep(PAUSE_S)
            warm_until = time.perf_counter() + WARM_UP_S
            while calls[name] > 1 and time.perf_counter() < warm_until:
                run()
            for _ in range(calls[name]):
                start = time.perf_counter()
                run()
                if block:
                    times[name].append(time.perf_counter() - start)
    return {name: 1e3 * statistics.median(values) for name, values in times.items()}


def onnxruntime_runner(model_path: "str | Path", feeds: dict[str, np.ndarray], threads: int) -> Runner:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
    return lambda: session.run(None, feeds)


def onnxruntime_reference(model_path: "str | Path", feeds: dict[str, np.ndarray], threads: int) -> list:
    """onnxruntime's outputs as the oracle: exact integer products on every host
    (compiler/integer_oracle.py), the model as it is when it has none."""
    import onnx

    from convrnn.compiler.integer_oracle import has_integer_products, with_uint8_operands

    model = onnx.load(str(model_path), load_external_data=False)
    if not has_integer_products(model):
        return onnxruntime_runner(model_path, feeds, threads)()
    with tempfile.TemporaryDirectory() as folder:  # external data, loaded in, is saved inside
        exact = Path(folder) / "exact.onnx"
        onnx.save(with_uint8_operands(onnx.load(str(model_path))), exact)
        return onnxruntime_runner(exact, feeds, threads)()


def openvino_runner(model_path: "str | Path", feeds: dict[str, np.ndarray], threads: int) -> Runner:
    import openvino as ov

    # f32 explicitly: on CPUs with AVX-512 BF16 OpenVINO otherwise computes in bf16.
    config = {"INFERENCE_NUM_THREADS": threads, "INFERENCE_PRECISION_HINT": "f32"}
    compiled = ov.Core().compile_model(str(model_path), "CPU", config)
    request = compiled.create_infer_request()
    return lambda: [np.asarray(request.infer(feeds)[output]) for output in compiled.outputs]


PEERS = {"onnxruntime": ("onnxruntime", onnxruntime_runner), "openvino": ("openvino", openvino_runner)}


@dataclass
class Row:
    system: str
    ms: float
    ratio: float  # ms / the fastest peer's ms (< 1: faster than every peer)
    agrees: bool  # every output within RTOL/ATOL of onnxruntime's


def random_feeds(inputs, dims: dict[str, int], seed: int = 0) -> dict[str, np.ndarray]:
    """Random arrays for a compiled model's input specs, symbolic dims at `dims` (default 1)."""
    rng = np.random.default_rng(seed)
    feeds = {}
    for spec in inputs:
        shape = [dims.get(d, 1) if isinstance(d, str) else d for d in spec.shape]
        if spec.dtype.startswith("float"):
            feeds[spec.name] = rng.standard_normal(shape).astype(spec.dtype)
        else:  # token ids and the like: small non-negative values are valid for any vocabulary
            feeds[spec.name] = rng.integers(0, 2, shape).astype(spec.dtype)
    return feeds


def bench(model_path: "str | Path", artifacts: dict[str, Any], dims: dict[str, int], threads: int,
          blocks: int, runs: int, report: Callable[[str], None] = print) -> list[Row]:
    """Time each loaded convrnn artifact (name -> CompiledModel) and every installed peer."""
    first = next(iter(artifacts.values()))
    feeds = random_feeds(first.inputs, dims)
    runners: dict[str, Runner] = {name: (lambda m=model: m.run(**feeds)) for name, model in artifacts.items()}
    for name, (module, make) in PEERS.items():
        try:
            __import__(module)
        except ImportError:
            report(f"{name} is not installed: left out")
            continue
        try:
            runners[name] = make(model_path, feeds, threads)
        except Exception as exc:  # a peer that cannot run this model is reported, not fatal
            report(f"{name} cannot run {model_path}: {type(exc).__name__}: {str(exc).strip().splitlines()[0]}")
    reference = onnxruntime_reference(model_path, feeds, threads) if "onnxruntime" in runners else None
    agrees = {name: reference is None or all(np.allclose(ours, theirs, rtol=RTOL, atol=ATOL)
                                             for ours, theirs in zip(run(), reference))
              for name, run in runners.items()}
    medians = time_in_blocks(runners, blocks, runs)
    peers = [ms for name, ms in medians.items() if name in PEERS]
    fastest = min(peers) if peers else None
    return [Row(name, ms, ms / fastest if fastest else float("nan"), agrees[name]) for name, ms in medians.items()]


def table(rows: list[Row]) -> str:
    """The rows as a markdown table (speed-up = the fastest peer's time / this system's)."""
    lines = ["| system | ms | speed-up vs fastest peer | agrees with onnxruntime |", "|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row.system} | {row.ms:.3f} | {1 / row.ratio:.2f}x | {'yes' if row.agrees else 'NO'} |")
    return "\n".join(lines)


def write_json(path: "str | Path", rows: list[Row], meta: dict) -> None:
    """Through a temporary file beside it, so an interrupted write leaves no partial file."""
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps({**meta, "rows": [asdict(r) for r in rows]}, indent=2) + "\n")
    os.replace(partial, path)
