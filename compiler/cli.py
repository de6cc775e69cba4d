"""The `convrnn` command line: compile, tune, run, bench, profile, inspect.

A user error (bad model, bad input, bad artifact, bad flag) prints one line on stderr and
exits 2; no traceback.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

USAGE_ERROR = 2


class CliError(Exception):
    """A mistake in the command line itself."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not argparse's usage dump
        raise CliError(f"{message} (see {self.prog} --help)")


def _parse_shape(text: str) -> tuple[str, list]:
    """NAME=1x3x224x224 (a dim may be a name: NAME=batchx3x224x224)."""
    name, sep, dims = text.partition("=")
    if not sep or not name or not dims:
        raise CliError(f"--input-shape {text!r}: expected NAME=DIMxDIMx..., e.g. input=1x3x224x224")
    shape: list = []
    for dim in dims.lower().split("x"):
        if dim.isdigit() and int(dim) > 0:
            shape.append(int(dim))
        elif dim.isidentifier():
            shape.append(dim)
        else:
            raise CliError(f"--input-shape {text!r}: {dim!r} is not a positive size or a dim name")
    return name, shape


def _load_input(text: str):
    import numpy as np

    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise CliError(f"--input {text!r}: expected NAME=FILE.npy")
    try:
        return name, np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise CliError(f"--input {name}: no such file {path!r}") from None
    except (OSError, ValueError) as exc:
        raise CliError(f"--input {name}: {path!r} is not a readable .npy file ({exc})") from None


def cmd_compile(args: argparse.Namespace) -> int:
    from convrnn.compiler.build import compile_model

    shapes = dict(_parse_shape(s) for s in args.input_shape)
    start = time.perf_counter()
    out = compile_model(args.model, args.output, target=args.target, input_shapes=shapes, db=args.db)
    print(f"compiled {args.model} -> {out} in {time.perf_counter() - start:.1f} s")
    return 0


def cmd_tune(args: argparse.Namespace) -> int:
    from convrnn.compiler.tuning.tuner import tune

    _at_least(1, trials=args.trials, workers=args.workers)
    if args.time_budget is not None:
        _at_least(0, time_budget=args.time_budget)
    _use_threads(args.threads)  # kernels are measured with the threads they will run with
    progress = _Progress(sys.stderr)
    start = time.perf_counter()
    outcomes = tune(args.model, args.db, target=args.target, trials=args.trials, time_budget=args.time_budget,
                    input_shapes=dict(_parse_shape(s) for s in args.input_shape),
                    dims=dict(_parse_dim(s) for s in args.dim), workers=args.workers, report=progress,
                    check_in_model=not args.no_model_check)
    progress.close()
    tuned = sum(o.best_ms is not None for o in outcomes)
    print(f"tuned {tuned}/{len(outcomes)} tasks of {args.model} in {time.perf_counter() - start:.0f} s; "
          f"records in {args.db} (use: convrnn compile {args.model} -o OUT --db {args.db})")
    return 0


class _Progress:
    """One redrawn status line on a terminal; only the finished tasks' lines elsewhere."""

    def __init__(self, stream):
        self.stream, self.live, self.width = stream, stream.isatty(), 0

    def __call__(self, line: str, finished: bool) -> None:
        if self.live:
            self.stream.write("\r" + line.ljust(self.width)[:200] + ("\n" if finished else ""))
            self.width = 0 if finished else len(line)
        elif finished:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.live and self.width:
            self.stream.write("\n")


def _parse_dim(text: str) -> tuple[str, int]:
    from convrnn.compiler.symbolic_dims import symbol_name

    name, sep, size = text.rpartition("=")
    if not sep or not any(ch.isalnum() for ch in name) or not size.isdigit() or int(size) < 1:
        raise CliError(f"--dim {text!r}: expected NAME=SIZE, e.g. frames=200")
    name = symbol_name(name)  # the model's dim_param as written (p2o.DynamicDimension.1) or as convrnn names it
    return name, int(size)


def _at_least(minimum: float, **flags: float) -> None:
    """A CliError naming the first of the numeric options `flags` below `minimum`."""
    for name, value in flags.items():
        if value < minimum:
            raise CliError(f"--{name.replace('_', '-')} must be at least {minimum}, got {value}")


def _use_threads(threads: Optional[int]) -> int:
    """Set the thread count before TVM is first imported (it reads it then); returns it."""
    import os

    from convrnn.runtime.threads import physical_cores

    if threads is not None:
        _at_least(1, threads=threads)
    os.environ["TVM_NUM_THREADS"] = str(threads or os.environ.get("TVM_NUM_THREADS") or physical_cores())
    return int(os.environ["TVM_NUM_THREADS"])


def cmd_bench(args: argparse.Namespace) -> int:
    import tempfile

    _at_least(1, blocks=args.blocks, runs=args.runs)
    if args.json:
        _check_writable("--json", args.json)
    args.threads = _use_threads(args.threads)
    from convrnn.compiler.bench import bench, table, write_json
    from convrnn.compiler.build import compile_model
    from convrnn.runtime import load

    shapes = dict(_parse_shape(s) for s in args.input_shape)
    dims = dict(_parse_dim(s) for s in args.dim)
    flush = not args.keep_denormals
    with tempfile.TemporaryDirectory() as work:
        artifacts = {"convrnn (untuned)": load(compile_model(args.model, Path(work) / "untuned", input_shapes=shapes),
                                               flush_denormals=flush)}
        if args.db:
            artifacts["convrnn (tuned)"] = load(compile_model(args.model, Path(work) / "tuned", input_shapes=shapes,
                                                              db=args.db), flush_denormals=flush)
        rows = bench(args.model, artifacts, dims, args.threads, args.blocks, args.runs)
    print(f"{args.model}: {args.threads} threads, median of {args.blocks} blocks x {args.runs} runs"
          + (f", {', '.join(f'{k}={v}' for k, v in dims.items())}" if dims else ""))
    print(table(rows))
    if args.json:
        write_json(args.json, rows, {"model": str(args.model), "threads": args.threads, "dims": dims, "db": args.db})
        print(f"wrote {args.json}")
    if not all(row.agrees for row in rows):
        print("convrnn: error: some system's outputs disagree with onnxruntime's", file=sys.stderr)
        return 1
    return 0


def _check_writable(flag: str, path: str) -> None:
    """A CliError now, before any compiling or measuring, for an output file that cannot be written."""
    import os

    folder = Path(path).resolve().parent
    if not folder.is_dir():
        raise CliError(f"{flag} {path}: no such folder {folder}")
    if Path(path).is_dir():
        raise CliError(f"{flag} {path}: is a folder, not a file")
    if not os.access(folder, os.W_OK) or Path(path).exists() and not os.access(path, os.W_OK):
        raise CliError(f"{flag} {path}: not writable")


def cmd_profile(args: argparse.Namespace) -> int:
    if args.json:
        _check_writable("--json", args.json)
    shapes = dict(_parse_shape(s) for s in args.input_shape)
    dims = dict(_parse_dim(s) for s in args.dim)
    _use_threads(args.threads)
    from convrnn.compiler.profile import profile_model, summary, table, write_json

    result = profile_model(args.model, dims=dims, input_shapes=shapes, db=args.db,
                           flush_denormals=not args.keep_denormals)
    print(summary(result))
    print(table(result))
    if args.json:
        try:
            write_json(args.json, result)
        except OSError as exc:
            raise CliError(f"--json {args.json}: cannot be written ({exc.strerror or exc})") from None
        print(f"wrote {args.json}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    import numpy as np

    from convrnn.runtime import load

    model = load(args.artifact, flush_denormals=not args.keep_denormals)
    inputs = dict(_load_input(text) for text in args.input)
    start = time.perf_counter()
    outputs = model.run_dict(**inputs)
    elapsed = time.perf_counter() - start
    for name, array in outputs.items():
        preview = np.array2string(array.reshape(-1)[:6], precision=4, separator=", ")
        print(f"{name}: {array.dtype}{list(array.shape)} {preview}{' ...' if array.size > 6 else ''}")
    print(f"ran in {elapsed * 1e3:.2f} ms")
    if args.output:
        _save_npz(Path(args.output), outputs)
        print(f"wrote {args.output}")
    return 0


def _save_npz(path: Path, arrays: dict) -> None:
    """Write through a temporary file, so an interrupted write never leaves a partial file."""
    import os

    import numpy as np

    partial = path.with_name(f".{path.name}.partial")
    with open(partial, "wb") as handle:
        np.savez(handle, **arrays)
    os.replace(partial, path)


def cmd_inspect(args: argparse.Namespace) -> int:
    from convrnn.compiler.inspect import describe_model

    print(describe_model(args.model, after=args.after, input_shapes=dict(_parse_shape(s) for s in args.input_shape),
                         target=args.target))
    return 0


def _add_measuring_arguments(parser: argparse.ArgumentParser, threads_use: str) -> None:
    """The options of the commands that time kernels: threads, input shapes, symbolic sizes."""
    parser.add_argument("--threads", type=int, default=None,
                        help=f"threads {threads_use} (default: TVM_NUM_THREADS, else one per core)")
    parser.add_argument("--input-shape", action="append", default=[], metavar="NAME=DIMS", help="as for compile")
    parser.add_argument("--dim", action="append", default=[], metavar="NAME=SIZE",
                        help="a symbolic dim's size when measuring (default 1), e.g. frames=200")


def _add_denormals_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--keep-denormals", action="store_true",
                        help="compute with denormal floats (below 1.2e-38) instead of flushing them to zero "
                             "(slower where they occur; see convrnn.runtime.load)")


def build_parser() -> argparse.ArgumentParser:
    from convrnn.compiler.passes import pass_names

    parser = _Parser(prog="convrnn", description="Compile ONNX CNN/RNN models to fast kernels with Apache TVM.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    compile_ = commands.add_parser("compile", help="compile an ONNX model into an artifact directory")
    compile_.add_argument("model", help="the .onnx file")
    compile_.add_argument("-o", "--output", required=True, help="artifact directory to write")
    compile_.add_argument("--target", default="cpu",
                          help="'cpu' (this machine's LLVM target), 'cuda', or a TVM target JSON")
    compile_.add_argument("--input-shape", action="append", default=[], metavar="NAME=DIMS",
                          help="fix an input's shape, e.g. input=1x3x224x224 (repeatable)")
    compile_.add_argument("--db", help="a tuning database from `convrnn tune`: each kernel takes its best record")
    compile_.set_defaults(run=cmd_compile)

    tune = commands.add_parser("tune", help="search the model's kernel knobs by measuring them on this machine")
    tune.add_argument("model", help="the .onnx file")
    tune.add_argument("--db", required=True, help="JSON-lines tuning database to append to (resumes from it)")
    tune.add_argument("--target", default="cpu", help="as for compile")
    tune.add_argument("--trials", type=int, default=16, help="candidates measured per task (default 16)")
    tune.add_argument("--time-budget", type=float, default=None, metavar="SECONDS",
                      help="stop after this long (what was measured is kept)")
    tune.add_argument("--workers", type=int, default=2, help="candidates built at once (default 2)")
    tune.add_argument("--no-model-check", action="store_true",
                      help="skip timing the tuned kernels inside the model against the defaults (a compile "
                           "then takes every task's fastest candidate)")
    _add_measuring_arguments(tune, "the kernels are measured with")
    tune.set_defaults(run=cmd_tune)

    run = commands.add_parser("run", help="run a compiled artifact on .npy inputs")
    run.add_argument("artifact", help="artifact directory written by `convrnn compile`")
    run.add_argument("--input", action="append", default=[], metavar="NAME=FILE.npy", help="an input (repeatable)")
    run.add_argument("--output", help="write all outputs to this .npz file")
    _add_denormals_argument(run)
    run.set_defaults(run=cmd_run)

    bench_ = commands.add_parser("bench", help="time the model compiled by convrnn beside onnxruntime and OpenVINO")
    bench_.add_argument("model", help="the .onnx file")
    bench_.add_argument("--db", help="also time the build tuned with this database")
    _add_measuring_arguments(bench_, "every system runs with")
    bench_.add_argument("--blocks", type=int, default=4, help="blocks of runs per system, in alternation")
    bench_.add_argument("--runs", type=int, default=10, help="runs per block")
    bench_.add_argument("--json", help="also write the results to this JSON file")
    _add_denormals_argument(bench_)
    bench_.set_defaults(run=cmd_bench)

    profile = commands.add_parser("profile", help="time each kernel of the model against this machine's peaks")
    profile.add_argument("model", help="the .onnx file")
    profile.add_argument("--db", help="compile with this tuning database (as for compile)")
    _add_measuring_arguments(profile, "the kernels run with")
    profile.add_argument("--json", help="also write the rows to this JSON file")
    _add_denormals_argument(profile)
    profile.set_defaults(run=cmd_profile)

    inspect = commands.add_parser("inspect", help="print a model's graph after import or after a pass")
    inspect.add_argument("model", help="the .onnx file")
    inspect.add_argument("--after", choices=["import"] + pass_names(), default=None,
                         help="print the graph after this pass (default: after the whole pipeline)")
    inspect.add_argument("--input-shape", action="append", default=[], metavar="NAME=DIMS")
    inspect.add_argument("--target", default="cpu", help="the target whose passes run (as for compile)")
    inspect.set_defaults(run=cmd_inspect)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    from convrnn.runtime.errors import ConvrnnError

    try:
        args = build_parser().parse_args(argv)
        return args.run(args)
    except (CliError, ConvrnnError) as exc:
        print(f"convrnn: error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print("convrnn: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
