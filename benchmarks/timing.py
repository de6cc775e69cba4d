"""Timing shared by the benchmarks: `time_in_blocks` is the package's (convrnn.compiler.bench,
which `convrnn bench` uses too), so the scripts and the CLI measure the same way."""
from __future__ import annotations

from convrnn.compiler.bench import time_in_blocks  # noqa: F401  (re-exported for the scripts)


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
