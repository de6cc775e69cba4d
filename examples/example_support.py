"""What every example's run script needs: compile once, time calls, compare with onnxruntime,
show progress on long loops. Imports only convrnn's own dependencies (onnxruntime is optional).

Call `use_threads(n)` before anything imports convrnn: TVM reads TVM_NUM_THREADS when it loads.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterable, Iterator, TypeVar

Item = TypeVar("Item")


def use_threads(threads: int) -> None:
    os.environ["TVM_NUM_THREADS"] = str(threads)


def parse_arguments(doc: str, runs: int, runs_help: str) -> argparse.Namespace:
    """--threads (default 2, applied at once: before convrnn, and so TVM, is imported) and --runs."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=runs, help=runs_help)
    args = parser.parse_args()
    use_threads(args.threads)
    return args


def compile_and_load(model_path: Path, input_shapes: dict | None = None):
    """Compile `model_path` with convrnn into a temporary directory and load it; prints the
    compile time. The artifact lives as long as the process."""
    from convrnn.compiler import compile_model
    from convrnn.runtime import load

    out = Path(tempfile.mkdtemp(prefix="convrnn-example-")) / "artifact"
    start = time.perf_counter()
    compile_model(model_path, out, input_shapes=input_shapes)
    print(f"compiled {model_path.name} with convrnn in {time.perf_counter() - start:.1f} s")
    return load(out)


def onnxruntime_session(model_path: Path, threads: int):
    """An onnxruntime CPU session with `threads` intra-op threads, or None when onnxruntime
    is not installed (the comparison is then skipped, with a line saying so)."""
    try:
        import onnxruntime as ort
    except ImportError:
        print("onnxruntime is not installed: no comparison (pip install onnxruntime)")
        return None
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    return ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])


def median_ms(call: Callable[[], object], runs: int) -> float:
    """Median wall time of `call` in milliseconds over `runs` calls, after one warm-up call."""
    call()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def progress(items: Iterable[Item], label: str, total: int | None = None) -> Iterator[Item]:
    """Yield `items`, redrawing a one-line progress bar on stderr (only when it is a terminal,
    so logs and CI output stay clean)."""
    items = list(items) if total is None and not hasattr(items, "__len__") else items
    total = total if total is not None else len(items)  # type: ignore[arg-type]
    draw = sys.stderr.isatty() and total > 0
    for done, item in enumerate(items, 1):
        yield item
        if draw:
            filled = 30 * done // total
            sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total}")
            sys.stderr.flush()
    if draw:
        sys.stderr.write("\n")


def print_scores(title: str, recorded: float, ours: float, reference: float | None) -> None:
    """The recorded PyTorch score beside convrnn's and onnxruntime's (None: not installed)."""
    print(title)
    print(f"  pytorch (recorded) {recorded:.2%}")
    print(f"  convrnn            {ours:.2%}")
    if reference is not None:
        print(f"  onnxruntime        {reference:.2%}")


def print_latency(title: str, ours: Callable[[], object], theirs: Callable[[], object] | None, runs: int) -> None:
    """Median latency of a convrnn call beside the same onnxruntime call (None: not installed)."""
    print(f"{title}, median of {runs} runs:")
    print(f"  convrnn      {median_ms(ours, runs):.3f} ms")
    if theirs is not None:
        print(f"  onnxruntime  {median_ms(theirs, runs):.3f} ms")


def threads_label(threads: int) -> str:
    return f"{threads} thread{'s' if threads > 1 else ''}"
