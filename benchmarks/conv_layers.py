"""Per-layer GFLOP/s of convrnn's conv and dense kernels against onnxruntime on ResNet-18 shapes.

Each layer is a one-node ONNX model (Conv with bias, or Gemm) compiled by convrnn and run by
onnxruntime with the same thread count. Runs are timed in alternating blocks (DESIGN.md:
thread pools keep spinning after a call), and the median over all blocks is reported.

    TVM_NUM_THREADS=2 python benchmarks/conv_layers.py [--threads 2] [--blocks 4] [--runs 10] [--only NAME]
"""
from __future__ import annotations

import os
import tempfile

import numpy as np
import onnx
from onnx import helper, numpy_helper

from timing import against_onnxruntime, require_tvm_threads, timing_parser

# name: (in_channels, size, out_channels, kernel, stride, pad)
RESNET18_CONVS = {
    "stem_7x7_s2": (3, 224, 64, 7, 2, 3),
    "l1_3x3_64": (64, 56, 64, 3, 1, 1),
    "l2_3x3_s2_64-128": (64, 56, 128, 3, 2, 1),
    "l2_1x1_s2_64-128": (64, 56, 128, 1, 2, 0),
    "l2_3x3_128": (128, 28, 128, 3, 1, 1),
    "l3_3x3_s2_128-256": (128, 28, 256, 3, 2, 1),
    "l3_1x1_s2_128-256": (128, 28, 256, 1, 2, 0),
    "l3_3x3_256": (256, 14, 256, 3, 1, 1),
    "l4_3x3_s2_256-512": (256, 14, 512, 3, 2, 1),
    "l4_1x1_s2_256-512": (256, 14, 512, 1, 2, 0),
    "l4_3x3_512": (512, 7, 512, 3, 1, 1),
}
# name: (M, K, N) of Gemm with transB=1 (the classifier)
DENSE = {"fc_512-1000": (1, 512, 1000), "gemm_64x512x512": (64, 512, 512)}


def _model(node, inputs, outputs, inits):
    graph = helper.make_graph([node], "layer", inputs, outputs, inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)


def conv_model(c, size, oc, k, s, p):
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array((rng.standard_normal((oc, c, k, k)) * 0.1).astype("float32"), "W"),
             numpy_helper.from_array(rng.standard_normal(oc).astype("float32"), "B")]
    node = helper.make_node("Conv", ["X", "W", "B"], ["Y"], kernel_shape=[k, k], strides=[s, s], pads=[p] * 4)
    x = helper.make_tensor_value_info("X", onnx.TensorProto.FLOAT, [1, c, size, size])
    y = helper.make_tensor_value_info("Y", onnx.TensorProto.FLOAT, None)
    out = (size + 2 * p - k) // s + 1
    flops = 2 * oc * out * out * c * k * k
    return _model(node, [x], [y], inits), {"X": rng.standard_normal((1, c, size, size)).astype("float32")}, flops


def dense_model(m, k, n):
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array((rng.standard_normal((n, k)) * 0.1).astype("float32"), "W"),
             numpy_helper.from_array(rng.standard_normal(n).astype("float32"), "C")]
    node = helper.make_node("Gemm", ["X", "W", "C"], ["Y"], transB=1)
    x = helper.make_tensor_value_info("X", onnx.TensorProto.FLOAT, [m, k])
    y = helper.make_tensor_value_info("Y", onnx.TensorProto.FLOAT, None)
    return _model(node, [x], [y], inits), {"X": rng.standard_normal((m, k)).astype("float32")}, 2 * m * k * n


def measure(name, model, feeds, flops, threads, blocks, runs, workdir):
    medians = against_onnxruntime(model, feeds, threads, blocks, runs, os.path.join(workdir, name), atol=1e-3)
    gflops = {k: flops / v / 1e6 for k, v in medians.items()}
    print(f"{name:22s} convrnn {medians['convrnn']:8.3f} ms {gflops['convrnn']:7.1f} GFLOP/s | "
          f"onnxruntime {medians['onnxruntime']:8.3f} ms {gflops['onnxruntime']:7.1f} GFLOP/s | "
          f"ratio {medians['convrnn'] / medians['onnxruntime']:5.2f}x", flush=True)


def main(argv=None):
    parser = timing_parser(__doc__)
    parser.add_argument("--only", default="", help="substring of the layer names to run")
    args = parser.parse_args(argv)
    require_tvm_threads(args.threads)
    layers = {name: conv_model(*shape) for name, shape in RESNET18_CONVS.items()}
    layers.update({name: dense_model(*shape) for name, shape in DENSE.items()})
    with tempfile.TemporaryDirectory() as workdir:
        for name, (model, feeds, flops) in layers.items():
            if args.only in name:
                measure(name, model, feeds, flops, args.threads, args.blocks, args.runs, workdir)


if __name__ == "__main__":
    main()
