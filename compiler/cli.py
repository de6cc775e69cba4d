"""The `convrnn` command line: compile, run, inspect.

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
    out = compile_model(args.model, args.output, target=args.target, input_shapes=shapes)
    print(f"compiled {args.model} -> {out} in {time.perf_counter() - start:.1f} s")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    import numpy as np

    from convrnn.runtime import load

    model = load(args.artifact)
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

    print(describe_model(args.model, after=args.after, input_shapes=dict(_parse_shape(s) for s in args.input_shape)))
    return 0


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
    compile_.set_defaults(run=cmd_compile)

    run = commands.add_parser("run", help="run a compiled artifact on .npy inputs")
    run.add_argument("artifact", help="artifact directory written by `convrnn compile`")
    run.add_argument("--input", action="append", default=[], metavar="NAME=FILE.npy", help="an input (repeatable)")
    run.add_argument("--output", help="write all outputs to this .npz file")
    run.set_defaults(run=cmd_run)

    inspect = commands.add_parser("inspect", help="print a model's graph after import or after a pass")
    inspect.add_argument("model", help="the .onnx file")
    inspect.add_argument("--after", choices=["import"] + pass_names(), default=None,
                         help="print the graph after this pass (default: after the whole pipeline)")
    inspect.add_argument("--input-shape", action="append", default=[], metavar="NAME=DIMS")
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
