"""This machine's measured peaks, the yardsticks of `convrnn profile`: float32 multiply-add
throughput and memory bandwidth, each from a micro-kernel built with TVM like convrnn's own
kernels and run on all of the pool's threads.

  FMA peak:  each thread runs independent vector multiply-add chains held in registers
             (enough chains to cover the FMA latency of two ports; as benchmarks/roofline.py).
  bandwidth: each thread scales its own slice of a 32 MiB buffer (STREAM_BYTES) into
             another (bytes read + written, as the profile counts a kernel's): the main
             memory's bandwidth where the last-level cache is smaller than the buffers (else
             that cache's); a kernel whose data stays in a nearer cache can exceed it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from convrnn.compiler import tvm_adapter
from convrnn.compiler.target import Target
from convrnn.runtime import tvm_runtime
from convrnn.runtime.threads import pool_threads

FMA_ITERATIONS = 100_000
STREAM_BYTES = 32 << 20  # per buffer: past the last-level caches of most machines
# A peak is the best a machine does: the fastest of many short measurements is the one
# least disturbed by other processes sharing the cores (a parallel kernel waits for its
# slowest thread: one descheduled thread halves a two-core "peak").
MEASUREMENTS, MEASUREMENT_MS = 15, 5


@dataclass(frozen=True)
class Peaks:
    threads: int
    gflop_per_s: float  # float32, a multiply-add counted as 2 FLOPs
    gb_per_s: float


def fma_kernel(threads: int, lanes: int, chains: int, iterations: int):
    """`chains` independent multiply-add chains of `lanes` floats per thread (benchmarks/roofline.py
    measures with it too)."""
    from tvm.script import tirx as T

    @T.prim_func
    def fma(a: T.Buffer((threads, lanes), "float32"), out: T.Buffer((threads, lanes), "float32")):
        T.func_attr({"tirx.noalias": True})
        for t in T.parallel(threads):
            acc = T.alloc_buffer((chains, lanes), "float32", scope="local")
            x = T.alloc_buffer((lanes,), "float32", scope="local")
            for j in T.vectorized(lanes):
                x[j] = a[t, j]
            for c in T.unroll(chains):
                for j in T.vectorized(lanes):
                    acc[c, j] = x[j] + T.float32(c)
            for _ in range(iterations):
                for c in T.unroll(chains):
                    for j in T.vectorized(lanes):
                        acc[c, j] = acc[c, j] * x[j] + x[j]
            for j in T.vectorized(lanes):
                out[t, j] = acc[0, j] + acc[chains - 1, j]

    return fma


def _stream_kernel(threads: int, lanes: int, vectors: int):
    from tvm.script import tirx as T

    @T.prim_func
    def stream(a: T.Buffer((threads, vectors, lanes), "float32"), out: T.Buffer((threads, vectors, lanes), "float32")):
        T.func_attr({"tirx.noalias": True})
        for t in T.parallel(threads):
            for v in range(vectors):
                for j in T.vectorized(lanes):
                    out[t, v, j] = a[t, v, j] * T.float32(0.5)

    return stream


def _seconds(func, arrays: list, target: Target) -> float:
    executable = tvm_adapter.build({"main": func}, target)
    device = tvm_runtime.device("cpu")
    tensors = [tvm_runtime.upload(a, device) for a in arrays]
    return min(tvm_adapter.time_kernel(executable, "main", tensors, repeat=1, min_repeat_ms=MEASUREMENT_MS)
               for _ in range(MEASUREMENTS))


def measure_peaks(target: Target) -> Peaks:
    """Both peaks on the pool's threads, for a CPU target of `target.vector_lanes` lanes."""
    if target.kind != "llvm":
        raise NotImplementedError(f"peaks are measured on CPU targets, not {target.kind}")
    threads, lanes = pool_threads(), target.vector_lanes
    chains = 24 if lanes >= 16 else 12  # AVX-512 has 32 vector registers, AVX2 16
    a = np.full((threads, lanes), 0.5, np.float32)
    fma_s = _seconds(fma_kernel(threads, lanes, chains, FMA_ITERATIONS), [a, np.zeros_like(a)], target)
    vectors = STREAM_BYTES // 4 // lanes // threads
    data = np.ones((threads, vectors, lanes), np.float32)
    stream_s = _seconds(_stream_kernel(threads, lanes, vectors), [data, np.zeros_like(data)], target)
    return Peaks(threads=threads, gflop_per_s=threads * FMA_ITERATIONS * chains * lanes * 2 / fma_s / 1e9,
                 gb_per_s=2 * data.nbytes / stream_s / 1e9)
