"""Direct against Winograd F(2x2, 3x3) convolution per layer: the measurements behind
compiler/passes/select_winograd.py's thresholds.

Each layer is a small ONNX model (a 1x1 Conv and Relu, so that the measured layer reads its
input in the blocked layout as it does inside a network; then the 3x3 Conv, pad 1, bias, and
Relu) compiled twice by convrnn, once with every eligible conv direct and once with every one
Winograd, both checked against onnxruntime and timed in alternating blocks (as
time_in_blocks). One JSON line a layer.

    TVM_NUM_THREADS=2 python benchmarks/winograd_choice.py [--threads 2] [--blocks 4] [--runs 10] [--only NAME]
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from timing import require_tvm_threads, time_in_blocks, timing_parser

CHANNELS = [(32, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 512)]
SIZES = [(6, 19), (9, 9), (12, 38), (14, 14), (25, 77), (28, 28)]


def layer(channels: int, out_channels: int, height: int, width: int) -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array((rng.standard_normal((out_channels, channels, 3, 3)) * 0.05).astype("float32"), "W")
    bias = numpy_helper.from_array(rng.standard_normal(out_channels).astype("float32"), "B")
    first = numpy_helper.from_array((rng.standard_normal((channels, channels, 1, 1)) * 0.1).astype("float32"), "W1")
    nodes = [helper.make_node("Conv", ["x", "W1"], ["p"]), helper.make_node("Relu", ["p"], ["r"]),
             helper.make_node("Conv", ["r", "W", "B"], ["c"], pads=[1, 1, 1, 1]), helper.make_node("Relu", ["c"], ["y"])]
    graph = helper.make_graph(nodes, "layer", [helper.make_tensor_value_info("x", 1, [1, channels, height, width])],
                              [helper.make_tensor_value_info("y", 1, None)], [first, weight, bias])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)


def compiled(model: onnx.ModelProto, path: Path, winograd: bool):
    """convrnn's build with the selection forced one way (the pass's thresholds set aside)."""
    import convrnn.compiler.passes  # noqa: F401  (the package binds the pass's name to its function)
    from convrnn.compiler import compile_model
    from convrnn.runtime import load

    selection = sys.modules["convrnn.compiler.passes.select_winograd"]
    choose = selection.choose_winograd
    selection.choose_winograd = lambda *shape: winograd
    try:
        return load(compile_model(model, path))
    finally:
        selection.choose_winograd = choose


def main() -> None:
    import onnxruntime as ort

    parser = timing_parser(__doc__)
    parser.add_argument("--only", default="", help="substring of the layer names (e.g. 128-256_6x19) to run")
    args = parser.parse_args()
    require_tvm_threads(args.threads)
    with tempfile.TemporaryDirectory() as work:
        for channels, out_channels in CHANNELS:
            for height, width in SIZES:
                name = f"{channels}-{out_channels}_{height}x{width}"
                if args.only not in name:
                    continue
                model = layer(channels, out_channels, height, width)
                x = np.random.default_rng(1).random((1, channels, height, width), dtype=np.float32)
                want = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
                builds = {kind: compiled(model, Path(work) / f"{name}_{kind}", kind == "winograd")
                          for kind in ("direct", "winograd")}
                for build in builds.values():
                    np.testing.assert_allclose(build.run(x)[0], want, rtol=1e-3, atol=1e-3)
                ms = time_in_blocks({kind: (lambda b=build: b.run(x)) for kind, build in builds.items()},
                                    args.blocks, args.runs)
                print(json.dumps({"layer": name, "multiply_adds_M": round(channels * out_channels * 9 * height * width / 1e6, 1),
                                  "channel_mean": round(2 * channels * out_channels / (channels + out_channels)),
                                  "direct_ms": round(ms["direct"], 4), "winograd_ms": round(ms["winograd"], 4),
                                  "speedup": round(ms["direct"] / ms["winograd"], 2)}), flush=True)


if __name__ == "__main__":
    main()
