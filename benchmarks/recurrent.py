"""Recurrent models: convrnn beside its peers, in one process, on the same inputs.

    python benchmarks/recurrent.py [--threads 2] [--blocks 4] [--runs 10] [--models lstm_b1 ...]
                                   [--systems convrnn ...] [--db tune.jsonl [--tune TRIALS]]
                                   [--json results.json] [--markdown results.md]

With --db convrnn also runs tuned ("convrnn-tuned"), from that database; with --tune as well,
each model is first tuned into it (TRIALS per task, measured at the benchmark's sizes), as
`convrnn tune` would, so one command tunes and times. TVM's own Relax build is tried too: its
ONNX importer has no LSTM, GRU or RNN, so for these models its row says why it failed.

The models are built from the definitions in tests/data/make_recurrent_models.py at benchmark
size (bigger than the committed test files) and exported on the fly with PyTorch's TorchScript
exporter, symbolic batch and sequence axes included; without PyTorch there is nothing to run.

Every system gets the same thread count: TVM_NUM_THREADS (set here before TVM is imported),
onnxruntime's intra_op_num_threads, torch.set_num_threads, OpenVINO's INFERENCE_NUM_THREADS
(with the f32 precision hint: on AVX-512 BF16 CPUs it otherwise computes in bf16). Every
output of every system is checked against onnxruntime's before timing; timing reuses
benchmarks/timing.py's `time_in_blocks` (blocks of runs per system taken in alternation, median
of all runs). convrnn compiles each model once with its axes symbolic, as a user would; where
that fails the row says why and, if the model compiles with its input shape pinned, that
artifact is timed instead and the row is marked "pinned".

Timings need a quiet machine. Seen here on 2026-11-28 with another job loading the 2 cores:
PyTorch's GRU 512 (T=50, batch 1) took 5 ms at 1 thread and 410 ms at 2 (OpenMP barriers
waiting on a descheduled thread), and every system's numbers moved by 2-3x between runs.
"""
from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.dont_write_bytecode = True  # importing the two helpers below leaves no __pycache__ in the tree
sys.path.insert(0, str(ROOT / "tests" / "data"))  # make_recurrent_models: the torch definitions
sys.path.insert(0, str(Path(__file__).resolve().parent))  # run: the harness's timing helper

# name -> (make_recurrent_models builder name, builder options, seed, batch, seq, description)
MODELS = {
    "lstm_b1": ("_recurrent", dict(kind="LSTM", inputs=80, hidden=256, layers=2), 1, 1, 100,
                "LSTM 2x256, input 80, T=100, batch 1"),
    "lstm_b16": ("_recurrent", dict(kind="LSTM", inputs=80, hidden=256, layers=2), 1, 16, 100,
                 "LSTM 2x256, input 80, T=100, batch 16"),
    "bilstm_b1": ("_recurrent", dict(kind="LSTM", inputs=80, hidden=256, layers=2, bidirectional=True), 2, 1, 100,
                  "bidirectional LSTM 2x256, input 80, T=100, batch 1"),
    "gru_b1": ("_recurrent", dict(kind="GRU", inputs=128, hidden=512), 3, 1, 50,
               "GRU 512, input 128, T=50, batch 1"),
    "crnn": ("crnn", dict(mels=80, widths=(16, 32), hidden=128, classes=32), 4, 1, 200,
             "CRNN: 2 conv blocks (16, 32) -> 2-layer biLSTM 128 -> Linear 32, 1x1x80x200"),
    "text_classifier": ("gru_classifier", dict(vocab=10000, embed=64, channels=128, hidden=128, classes=4), 5, 1, 256,
                        "GRU text classifier: Embedding 64 -> Conv1d 128 -> GRU 128 -> Linear 4, T=256"),
}
RTOL, ATOL = 1e-3, 1e-4


def build(name: str):
    """(torch module, input name, input array, output names, dynamic axes, torch example) for a model."""
    import make_recurrent_models as makers
    import torch

    builder_name, options, seed, batch, seq, _ = MODELS[name]
    builder = getattr(makers, builder_name)
    module, example, inputs, outputs, axes = makers.instantiate(lambda: builder(**options), seed)
    rng = np.random.default_rng(seed)
    if builder_name == "_recurrent":
        shape = (seq, batch, options["inputs"])
        x = rng.standard_normal(shape, dtype=np.float32)
    elif builder_name == "crnn":
        x = rng.standard_normal((batch, 1, options["mels"], seq), dtype=np.float32)
    else:
        x = rng.integers(0, options["vocab"], (batch, seq)).astype(np.int64)
    return module, inputs[0], x, outputs, axes, (torch.from_numpy(x),)


# --- the systems: each returns a zero-argument callable producing the list of outputs ---------
def convrnn_runner(path: Path, input_name: str, x: np.ndarray, work: Path, threads: int, module,
                   db: str | None = None):
    from convrnn.compiler import compile_model
    from convrnn.runtime import load

    out, note = work / f"{path.stem}{'.tuned' if db else ''}.convrnn", ""
    start = time.perf_counter()
    try:
        compile_model(path, out, db=db)
    except Exception as exc:
        print(f"  convrnn cannot compile {path.name} with symbolic axes: {type(exc).__name__}: {first_line(exc)}")
        start, note = time.perf_counter(), "pinned"
        compile_model(path, out, input_shapes={input_name: list(x.shape)}, db=db)
    print(f"  convrnn{' (tuned)' if db else ''} compiled {path.name}{' (input shape pinned)' if note else ''} "
          f"in {time.perf_counter() - start:.1f} s")
    model = load(out)
    runner = lambda: model.run(x)  # noqa: E731
    runner.note = note
    return runner


def onnxruntime_runner(path: Path, input_name: str, x: np.ndarray, work: Path, threads: int, module):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feeds = {input_name: x}
    return lambda: session.run(None, feeds)


def openvino_runner(path: Path, input_name: str, x: np.ndarray, work: Path, threads: int, module):
    import openvino as ov

    config = {"INFERENCE_NUM_THREADS": threads, "INFERENCE_PRECISION_HINT": "f32"}
    compiled = ov.Core().compile_model(str(path), "CPU", config)
    request = compiled.create_infer_request()
    outputs = list(compiled.outputs)

    def run():
        result = request.infer({input_name: x})
        return [np.asarray(result[output]) for output in outputs]

    return run


def pytorch_runner(path: Path, input_name: str, x: np.ndarray, work: Path, threads: int, module):
    import torch

    torch.set_num_threads(threads)
    tensor = torch.from_numpy(x)

    def run():
        with torch.inference_mode():
            result = module(tensor)
        result = result if isinstance(result, (tuple, list)) else (result,)
        return [r.numpy() for r in result]

    return run


def tvm_relax_runner(path: Path, input_name: str, x: np.ndarray, work: Path, threads: int, module):
    from run import tvm_relax_runner as single_output_runner

    run = single_output_runner(path.stem, path, x, work, threads)
    return lambda: [run()]


def tune_model(path: Path, x: np.ndarray, axes: dict, input_name: str, db: str, trials: int) -> None:
    """`convrnn tune` of the exported model into `db`, its symbolic axes at the benchmark's sizes."""
    from convrnn.compiler.tuning.tuner import tune

    dims = {dim: x.shape[axis] for axis, dim in axes[input_name].items()}
    start = time.perf_counter()
    outcomes = tune(str(path), db, trials=trials, dims=dims)
    print(f"  tuned {len(outcomes)} tasks of {path.name} ({trials} trials each, {dims}) "
          f"in {time.perf_counter() - start:.0f} s into {db}")


SYSTEMS = {"convrnn": convrnn_runner, "convrnn-tuned": convrnn_runner, "onnxruntime": onnxruntime_runner,
           "tvm-relax": tvm_relax_runner, "openvino": openvino_runner, "pytorch": pytorch_runner}
PEERS = ("onnxruntime", "tvm-relax", "openvino", "pytorch")


def first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else ""


def available_systems(db: str | None) -> list[str]:
    systems = ["convrnn"] + (["convrnn-tuned"] if db else []) + ["onnxruntime", "tvm-relax"]
    for name, module in (("openvino", "openvino"), ("pytorch", "torch")):
        try:
            __import__(module)
        except ImportError:
            print(f"{name} is not installed: left out")
            continue
        systems.append(name)
    return systems


def agree(got: list, want: list) -> bool:
    return len(got) == len(want) and all(
        np.shape(g) == np.shape(w) and np.allclose(g, w, rtol=RTOL, atol=ATOL) for g, w in zip(got, want))


def benchmark(name: str, systems: list[str], work: Path, args) -> list[dict]:
    from timing import time_in_blocks  # blocks in alternation, median of all runs
    import make_recurrent_models as makers

    module, input_name, x, outputs, axes, example = build(name)
    path = makers.export(module, example, [input_name], outputs, axes, work / f"{name}.onnx")
    print(f"{name}: {MODELS[name][5]} ({input_name} {list(x.shape)}, {path.stat().st_size / 1e6:.1f} MB)")
    if args.tune:
        tune_model(path, x, axes, input_name, args.db, args.tune)
    runners, notes = {}, {}
    for system in systems:
        options = {"db": args.db} if system == "convrnn-tuned" else {}
        try:
            runners[system] = SYSTEMS[system](path, input_name, x, work, args.threads, module, **options)
            notes[system] = getattr(runners[system], "note", "")
        except Exception as exc:  # a system that cannot run this model is reported, not fatal
            print(f"  {system} failed: {type(exc).__name__}: {first_line(exc)}")
    if "onnxruntime" not in runners:
        return []
    reference = runners["onnxruntime"]()
    agrees = {}
    for system, run in list(runners.items()):
        try:
            agrees[system] = agree(run(), reference)
        except Exception as exc:
            print(f"  {system} failed to run: {type(exc).__name__}: {first_line(exc)}")
            del runners[system]
    medians = time_in_blocks(runners, args.blocks, args.runs)
    fastest_peer = min((ms for system, ms in medians.items() if system in PEERS), default=float("nan"))
    rows = [dict(model=name, system=system, ms=ms, ratio=ms / fastest_peer, agrees=agrees[system],
                 note=notes.get(system, "")) for system, ms in medians.items()]
    for system in systems:
        if system not in medians:
            rows.append(dict(model=name, system=system, ms=None, ratio=None, agrees=None, note="failed"))
    return rows


def print_table(rows: list[dict], args) -> None:
    print(f"\n{args.threads} threads, median of {args.blocks} blocks x {args.runs} runs per system; "
          f"ratio = time / the fastest peer's time (<1: faster than every peer); "
          f"agrees = every output within rtol {RTOL}, atol {ATOL} of onnxruntime's")
    print(f"{'model':<17}{'system':<13}{'ms':>10}{'ratio':>8}{'speed-up':>10}  agrees")
    for row in rows:
        if row["ms"] is None:
            print(f"{row['model']:<17}{row['system']:<13}{'-':>10}{'-':>8}{'-':>10}  (failed)")
            continue
        speedup = f"{1 / row['ratio']:.2f}x" if row["ratio"] else "-"
        note = f"  ({row['note']})" if row["note"] else ""
        print(f"{row['model']:<17}{row['system']:<13}{row['ms']:>10.3f}{row['ratio']:>8.2f}{speedup:>10}  "
              f"{'yes' if row['agrees'] else 'NO'}{note}")


def main() -> None:
    from timing import require_writable, timing_parser

    parser = timing_parser(__doc__)
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--systems", nargs="+", choices=list(SYSTEMS), default=list(SYSTEMS),
                        help="which systems to run (onnxruntime always runs: it is the reference)")
    parser.add_argument("--db", help="a tuning database: also time convrnn tuned with it")
    parser.add_argument("--tune", type=int, metavar="TRIALS", help="tune each model into --db first")
    default_json = Path(tempfile.gettempdir()) / "convrnn_recurrent_benchmark.json"
    parser.add_argument("--json", type=Path, default=default_json, help=f"where to write the results ({default_json})")
    parser.add_argument("--markdown", type=Path, help="also write the rows as a markdown table here")
    args = parser.parse_args()
    if args.tune and not args.db:
        raise SystemExit("--tune needs --db: the database to tune into")
    require_writable(json=args.json, markdown=args.markdown)
    os.environ["TVM_NUM_THREADS"] = str(args.threads)  # TVM reads it once, at its first import

    try:
        import torch  # noqa: F401
    except ImportError:
        raise SystemExit("PyTorch is not installed: the benchmark models are exported from it on the fly")
    systems = [s for s in available_systems(args.db) if s in args.systems or s == "onnxruntime"]
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for name in args.models:
            try:
                rows += benchmark(name, systems, Path(work), args)
            except Exception as exc:
                print(f"{name}: failed: {type(exc).__name__}: {first_line(exc)}")
    print_table(rows, args)
    versions = {}
    for module in ("onnxruntime", "openvino", "torch", "tvm"):
        try:
            versions[module] = __import__(module).__version__
        except Exception:
            pass
    args.json.write_text(json.dumps(dict(
        threads=args.threads, blocks=args.blocks, runs=args.runs, machine=platform.processor() or platform.machine(),
        cpus=os.cpu_count(), versions=versions, models={name: MODELS[name][5] for name in args.models},
        rows=rows), indent=2) + "\n")
    print(f"results written to {args.json}")
    if args.markdown:
        lines = ["| model | system | ms | time / fastest peer's | agrees |", "|---|---|---|---|---|"]
        lines += [f"| {r['model']} | {r['system']} | " + ("- | - | failed |" if r["ms"] is None else
                  f"{r['ms']:.3f} | {r['ratio']:.2f} | {'yes' if r['agrees'] else 'NO'} |") for r in rows]
        args.markdown.write_text("\n".join(lines) + "\n")
        print(f"markdown written to {args.markdown}")
    if not all(row["agrees"] for row in rows if row["ms"] is not None):
        raise SystemExit("some system's outputs disagree with onnxruntime's")


if __name__ == "__main__":
    main()
