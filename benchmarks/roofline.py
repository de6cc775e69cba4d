"""How fast the recurrent benchmarks could possibly run here: measured bandwidth and FMA
peak, and the floor they put under each model's latency, next to issues 3's and 4's targets.

    TVM_NUM_THREADS=2 python benchmarks/roofline.py [--threads 2] [--peers recurrent.json] [--json out.json]

--peers takes the JSON that benchmarks/recurrent.py writes: the targets are then the fastest
peer measured there over the speed-up asked for, instead of issue 3's stated peer times.

At batch 1 a recurrent step multiplies the whole recurrent weight R by one hidden vector:
every step streams R (gates x hidden x hidden x 4 bytes per direction and layer) from cache
and does one multiply-add per weight, so a step cannot be faster than R's bytes over the
cores' read bandwidth, whatever the kernel. Two probes, built with TVM like every convrnn
kernel and run on `--threads` cores:
  read bandwidth: each thread sums its own buffer of the size its share of R has, over and
      over (16-lane vector loads, 8 accumulators), so the data stays in that core's cache as
      R does in the step kernel;
  FMA peak: each thread runs 24 independent vector multiply-add chains held in registers.
A model's floor is  steps x layers x directions' R bytes / (threads x bandwidth)  plus the
hoisted input projections' FLOPs, and any other layers' (the CRNN's convs and output layer),
at the FMA peak (all ideal: no barriers, no activations, no data movement).
"""
from __future__ import annotations

import argparse
import json
import os

import numpy as np

# name: (cell gates, hidden, inputs, layers, directions, steps, batch, the fastest peer's ms
#        as issue 3 states it, the speed-up it asks for, FLOPs of the other layers)
# The CRNN (issue 4: 1.5x): its peer time is onnxruntime's measured here on 2026-11-28 (the
# issue states none); its other layers are two 3x3 convs (1->16 channels at 80x200, 16->32 at
# 40x100) and the output Linear 256->32 over 100 steps.
CRNN_OTHER_FLOPS = 2 * (16 * 9 * 80 * 200 + 32 * 16 * 9 * 40 * 100 + 100 * 256 * 32)
MODELS = {
    "lstm_b1": (4, 256, 80, 2, 1, 100, 1, 2.8, 2.0, 0),
    "bilstm_b1": (4, 256, 80, 2, 2, 100, 1, 6.5, 2.0, 0),
    "gru_b1": (3, 512, 128, 1, 1, 50, 1, 3.6, 2.0, 0),
    "lstm_b16": (4, 256, 80, 2, 1, 100, 16, 16.6, 1.15, 0),
    "crnn": (4, 128, 640, 2, 2, 100, 1, 2.7, 1.5, CRNN_OTHER_FLOPS),
}
LANES, CHAINS = 16, 8


def stream_kernel(threads: int, floats: int, repeats: int):
    from tvm.script import tirx as T

    vectors = floats // LANES

    @T.prim_func
    def stream(w: T.Buffer((threads, floats), "float32"), out: T.Buffer((threads, LANES), "float32")):
        T.func_attr({"tirx.noalias": True})
        for t in T.parallel(threads):
            acc = T.alloc_buffer((CHAINS, LANES), "float32", scope="local")
            for c, j in T.grid(CHAINS, LANES):
                acc[c, j] = T.float32(0)
            for _, v in T.grid(repeats, vectors // CHAINS):
                for c in T.unroll(CHAINS):
                    for j in T.vectorized(LANES):
                        acc[c, j] = acc[c, j] + w[t, (v * CHAINS + c) * LANES + j]
            for j in T.vectorized(LANES):
                out[t, j] = (acc[0, j] + acc[1, j] + acc[2, j] + acc[3, j]
                             + acc[4, j] + acc[5, j] + acc[6, j] + acc[7, j])

    return stream


def fastest_peers(path: str) -> dict[str, float]:
    """model -> the fastest peer's ms in benchmarks/recurrent.py's JSON; a one-line exit when
    the file is not that."""
    try:
        with open(path) as results:
            rows = json.load(results)["rows"]
        measured: dict[str, float] = {}
        for row in rows:
            if not row["system"].startswith("convrnn") and row["ms"] is not None:  # (and convrnn-tuned)
                measured[row["model"]] = min(measured.get(row["model"], float("inf")), row["ms"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SystemExit(f"--peers {path}: not a results file of benchmarks/recurrent.py ({type(exc).__name__}: {exc})")
    return measured


def seconds(func, arrays, target) -> float:
    import tvm

    executable = tvm.compile(tvm.IRModule({"main": func}), target=target)
    dev = tvm.cpu()
    args = [tvm.runtime.tensor(a, dev) for a in arrays]
    timer = executable.mod.time_evaluator("main", dev, number=3, repeat=7)
    return float(np.median(timer(*args).results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--peers", help="benchmarks/recurrent.py's JSON: take the fastest peers' times from it")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    if os.environ.get("TVM_NUM_THREADS") != str(args.threads):
        raise SystemExit(f"set TVM_NUM_THREADS={args.threads} before starting (TVM reads it once)")
    measured = fastest_peers(args.peers) if args.peers else {}  # before the minute of measuring
    import tvm

    from convrnn.compiler import tvm_adapter
    from convrnn.compiler.peaks import fma_kernel
    from convrnn.compiler.target import parse_target

    target = tvm_adapter.tvm_target(parse_target("cpu"))
    threads = args.threads
    iterations = 200_000
    fma_s = seconds(fma_kernel(threads, LANES, 24, iterations), [np.full((threads, LANES), 0.5, np.float32),
                                                       np.zeros((threads, LANES), np.float32)], target)
    peak = threads * iterations * 24 * LANES * 2 / fma_s / 1e9
    print(f"FMA peak, {threads} threads: {peak:.0f} GFLOP/s")

    bandwidth = {}
    for name, (gates, hidden, inputs, layers, directions, steps, batch, *_) in MODELS.items():
        per_thread = directions * gates * hidden * hidden // threads  # floats of R each core streams per step
        per_thread -= per_thread % (LANES * CHAINS)
        if per_thread * 4 not in bandwidth:
            repeats = max(1, 50_000_000 // per_thread)
            s = seconds(stream_kernel(threads, per_thread, repeats),
                        [np.ones((threads, per_thread), np.float32), np.zeros((threads, LANES), np.float32)], target)
            bandwidth[per_thread * 4] = per_thread * 4 * repeats / s / 1e9  # GB/s per core
    source = f"fastest peer in {args.peers}" if args.peers else "the issues' fastest peer"
    rows = []
    print(f"\n{'model':<11}{'R per core':>12}{'GB/s/core':>11}{'step floor':>12}{'FLOP floor':>13}"
          f"{'floor':>9}{'target':>9}  (target: {source} / the speed-up asked)")
    for name, (gates, hidden, inputs, layers, directions, steps, batch, peer_ms, speedup, other) in MODELS.items():
        per_core = directions * gates * hidden * hidden * 4 // threads
        gbs = bandwidth[per_core - per_core % (LANES * CHAINS * 4)]
        step_ms = layers * steps * per_core / (gbs * 1e9) * 1e3
        if batch > 1:  # a batch of rows shares each weight load: the multiply-adds bound it instead
            step_flops = layers * steps * 2 * batch * directions * gates * hidden * hidden
            step_ms = max(step_ms, step_flops / (peak * 1e9) * 1e3)
        widths = [inputs] + [directions * hidden] * (layers - 1)
        proj_flops = sum(2 * steps * batch * w * directions * gates * hidden for w in widths)
        proj_ms = (proj_flops + other) / (peak * 1e9) * 1e3
        floor = step_ms + proj_ms
        target = measured.get(name, peer_ms) / speedup
        rows.append(dict(model=name, recurrent_bytes_per_core=per_core, gb_per_s_per_core=gbs, step_floor_ms=step_ms,
                         projection_floor_ms=proj_ms, floor_ms=floor, target_ms=target))
        verdict = "reachable" if floor < target else "below the floor"
        print(f"{name:<11}{per_core / 1024:>9.0f} KB{gbs:>11.0f}{step_ms:>10.2f}ms{proj_ms:>11.2f}ms"
              f"{floor:>7.2f}ms{target:>7.2f}ms  {verdict}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(dict(threads=threads, fma_peak_gflops=peak, rows=rows, tvm=tvm.__version__), out, indent=2)


if __name__ == "__main__":
    main()
