"""Timing shared by the benchmarks: `time_in_blocks` is the package's (convrnn.compiler.bench,
which `convrnn bench` uses too), so the scripts and the CLI measure the same way."""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from convrnn.compiler.bench import time_in_blocks  # noqa: F401  (re-exported for the scripts)


def timing_parser(doc: str) -> argparse.ArgumentParser:
    """The options every benchmark script takes: threads per system, blocks and runs per block."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--blocks", type=int, default=4)
    parser.add_argument("--runs", type=int, default=10)
    return parser


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


def require_tvm_threads(threads: int) -> None:
    """Exit unless TVM_NUM_THREADS was set to `threads` before the script started: TVM reads
    it once, at its first import, so the per-layer scripts cannot set it themselves."""
    if os.environ.get("TVM_NUM_THREADS") != str(threads):
        raise SystemExit(f"set TVM_NUM_THREADS={threads} before starting (TVM reads it once)")


def require_writable(**paths) -> None:
    """Exit with one line, before any measuring, when an output file (option name -> path or
    None) cannot be written: its folder is missing or it is a folder itself."""
    for option, path in paths.items():
        if path is not None and (not Path(path).resolve().parent.is_dir() or Path(path).is_dir()):
            raise SystemExit(f"--{option} {path}: cannot write there (no such folder, or a folder)")
