"""convrnn beside its peers, in one process, on the same inputs.

    python benchmarks/run.py [--threads 2] [--blocks 4] [--runs 10] [--models resnet18 audio_cnn ...]
                             [--db tune.jsonl] [--json results.json] [--markdown results.md]

With --db (written by `convrnn tune` for these models) convrnn runs twice: untuned and tuned.

Every system gets the same thread count. Runs are timed in blocks taken in alternation
(blocks x runs per system, median of all runs): a thread pool keeps spinning for a while
after a call and slows whichever system runs next, so alternating single calls would
measure that instead. Outputs are checked against onnxruntime's before timing.

Models: full-width ResNet-18 at 1x3x224x224 (exported on the fly from PyTorch, skipped
without it; never committed), a standard MobileNetV2 1.0 at 1x3x224x224 (built with
onnx.helper, random weights: benchmarks/mobilenet_v2.py) and the committed test models in
tests/data/.
"""
from __future__ import annotations

import functools
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from timing import require_writable, time_in_blocks, timing_parser

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
sys.path.insert(0, str(DATA))  # make_models: the torch definitions behind the test models

# name -> (onnx file in tests/data or None to export on the fly, input shape, make_models entry)
MODELS = {
    "resnet18": (None, (1, 3, 224, 224), "resnet18"),
    "mobilenet_v2": (None, (1, 3, 224, 224), "mobilenet_v2"),
    "resnet18_w16": ("resnet18_w16.onnx", (1, 3, 64, 64), "resnet18_w16"),
    "mobilenet_v2_small": ("mobilenet_v2_small.onnx", (1, 3, 64, 64), "mobilenet_v2_small"),
    "audio_cnn": ("audio_cnn.onnx", (1, 40, 100), "audio_cnn"),
}
RTOL, ATOL = 1e-3, 1e-4


def torch_model(entry: str):
    """The PyTorch module an ONNX model was exported from, or None without torch."""
    try:
        import make_models
    except ImportError:
        return None
    if entry == "resnet18":
        return make_models.instantiate(make_models.resnet18, seed=0)
    build, _, seed = make_models.MODELS[entry]
    return make_models.instantiate(build, seed)


def onnx_path(name: str, work: Path) -> Path | None:
    file, shape, entry = MODELS[name]
    if file is not None:
        return DATA / file
    if entry == "mobilenet_v2":  # built with onnx.helper (benchmarks/mobilenet_v2.py), random weights
        import onnx
        from mobilenet_v2 import mobilenet_v2

        path = work / f"{name}.onnx"
        onnx.save(mobilenet_v2(), str(path))
        return path
    module = torch_model(entry)
    if module is None:
        return None
    import make_models
    import torch

    return make_models.export(module, torch.randn(*shape), work / f"{name}.onnx")


# --- the systems: each returns a zero-argument callable producing the model's output ----------
def convrnn_runner(name: str, path: Path, x: np.ndarray, work: Path, threads: int, db: str | None = None):
    from convrnn.compiler import compile_model
    from convrnn.runtime import load

    out = work / f"{path.stem}{'.tuned' if db else ''}.convrnn"
    start = time.perf_counter()
    compile_model(path, out, db=db)
    print(f"  convrnn{' (tuned)' if db else ''} compiled {path.name} in {time.perf_counter() - start:.1f} s")
    model = load(out)
    return lambda: model.run(x)[0]


def peer_runner(make):
    """A runner of convrnn.compiler.bench (onnxruntime, OpenVINO) on this script's one input."""
    def runner(name: str, path: Path, x: np.ndarray, work: Path, threads: int):
        import onnx

        run = make(path, {onnx.load(str(path), load_external_data=False).graph.input[0].name: x}, threads)
        return lambda: run()[0]

    return runner


def pytorch_runner(name: str, path: Path, x: np.ndarray, work: Path, threads: int):
    import torch

    torch.set_num_threads(threads)
    module = torch_model(MODELS[name][2])
    tensor = torch.from_numpy(x)

    def run():
        with torch.inference_mode():
            return module(tensor).numpy()

    return run


def tvm_relax_runner(name: str, path: Path, x: np.ndarray, work: Path, threads: int):
    """TVM's own ONNX importer and default (untuned) Relax build: the baseline convrnn improves on."""
    import onnx
    import tvm
    from tvm import relax
    from tvm.relax.frontend.onnx import from_onnx

    model = onnx.load(str(path))
    module = from_onnx(model, shape_dict={model.graph.input[0].name: list(x.shape)}, keep_params_in_input=False)
    target = tvm.target.Target({"kind": "llvm", "mcpu": str(tvm.target.codegen.llvm_get_system_cpu())})
    vm = relax.VirtualMachine(tvm.compile(module, target=target), tvm.cpu())
    tensor = tvm.runtime.tensor(x)
    return lambda: vm["main"](tensor).numpy()


def available_systems(db: str | None) -> dict:
    from convrnn.compiler.bench import onnxruntime_runner, openvino_runner

    systems = {"convrnn": convrnn_runner}
    if db:
        systems["convrnn-tuned"] = functools.partial(convrnn_runner, db=db)
    systems.update({"onnxruntime": peer_runner(onnxruntime_runner), "tvm-relax": tvm_relax_runner})
    for name, module, runner in (("openvino", "openvino", peer_runner(openvino_runner)),
                                 ("pytorch", "torch", pytorch_runner)):
        try:
            __import__(module)
        except ImportError:
            print(f"{name} is not installed: left out")
            continue
        systems[name] = runner
    return systems


def benchmark(name: str, systems: dict, work: Path, args) -> list[tuple]:
    path = onnx_path(name, work)
    if path is None:
        print(f"{name}: skipped (PyTorch is not installed to export it)")
        return []
    shape = MODELS[name][1]
    x = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
    runners, rows = {}, []
    print(f"{name} {list(shape)}:")
    for system, make in systems.items():
        try:
            runners[system] = make(name, path, x, work, args.threads)
        except Exception as exc:  # a system that cannot run this model is reported, not fatal
            print(f"  {system} failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    if "onnxruntime" not in runners:
        return []
    reference = runners["onnxruntime"]()
    agrees = {s: bool(np.allclose(run(), reference, rtol=RTOL, atol=ATOL)) for s, run in runners.items()}
    medians = time_in_blocks(runners, args.blocks, args.runs)
    for system, ms in medians.items():
        rows.append((name, system, ms, ms / medians["onnxruntime"], agrees[system]))
    return rows


def main() -> None:
    parser = timing_parser(__doc__)
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--db", help="a tuning database: also time convrnn tuned with it")
    parser.add_argument("--json", help="write the rows to this JSON file")
    parser.add_argument("--markdown", help="write the rows as a markdown table to this file")
    args = parser.parse_args()
    require_writable(json=args.json, markdown=args.markdown)
    os.environ["TVM_NUM_THREADS"] = str(args.threads)  # TVM reads it once, at its first import

    systems = available_systems(args.db)
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for name in args.models:
            rows += benchmark(name, systems, Path(work), args)
    print(f"\n{args.threads} threads, median of {args.blocks} blocks x {args.runs} runs; "
          f"ratio = time / onnxruntime's time; agrees = outputs within rtol {RTOL}, atol {ATOL}")
    print(f"{'model':<20}{'system':<13}{'ms':>10}{'ratio':>8}  agrees")
    for name, system, ms, ratio, agree in rows:
        print(f"{name:<20}{system:<13}{ms:>10.3f}{ratio:>8.2f}  {'yes' if agree else 'NO'}")
    write_results(rows, args)
    if not all(row[4] for row in rows):
        raise SystemExit("some system's outputs disagree with onnxruntime's")


def write_results(rows: list[tuple], args) -> None:
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"threads": args.threads, "blocks": args.blocks, "runs": args.runs, "machine": platform.processor(),
             "rows": [dict(zip(("model", "system", "ms", "ratio_to_onnxruntime", "agrees"), row)) for row in rows]},
            indent=2) + "\n")
        print(f"wrote {args.json}")
    if args.markdown:
        lines = ["| model | system | ms | time / onnxruntime's | agrees |", "|---|---|---|---|---|"]
        lines += [f"| {m} | {s} | {ms:.3f} | {r:.2f} | {'yes' if a else 'NO'} |" for m, s, ms, r, a in rows]
        Path(args.markdown).write_text("\n".join(lines) + "\n")
        print(f"wrote {args.markdown}")


if __name__ == "__main__":
    main()
