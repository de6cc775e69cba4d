"""A standard MobileNetV2 1.0 (torchvision's layer widths and inverted-residual blocks, BatchNorm
folded into the convs as exporters do, ReLU6 as Clip) at 1x3x224x224 with random weights,
built with onnx.helper: the benchmark's full-size depthwise-separable CNN, needing no PyTorch."""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# (expansion t, output channels c, repeats n, first stride s), torchvision's table
BLOCKS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


class _Builder:
    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits, self.count = [], [], 0

    def name(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}_{self.count}"

    def constant(self, prefix: str, array: np.ndarray) -> str:
        name = self.name(prefix)
        self.inits.append(numpy_helper.from_array(array.astype(np.float32), name))
        return name

    def conv(self, x: str, cin: int, cout: int, kernel: int, stride: int, group: int = 1, relu6: bool = True) -> str:
        fan_in = cin // group * kernel * kernel
        w = self.constant("w", self.rng.standard_normal((cout, cin // group, kernel, kernel)) * np.sqrt(2 / fan_in))
        b = self.constant("b", self.rng.standard_normal(cout) * 0.1)
        out = self.name("conv")
        self.nodes.append(helper.make_node("Conv", [x, w, b], [out], kernel_shape=[kernel] * 2, strides=[stride] * 2,
                                           pads=[kernel // 2] * 4, group=group))
        if not relu6:
            return out
        clipped = self.name("relu6")
        self.nodes.append(helper.make_node("Clip", [out, self.lo, self.hi], [clipped]))
        return clipped


def mobilenet_v2(seed: int = 0, classes: int = 1000) -> onnx.ModelProto:
    b = _Builder(seed)
    b.lo, b.hi = b.constant("lo", np.array(0.0)), b.constant("hi", np.array(6.0))
    x, channels = b.conv("input", 3, 32, 3, 2), 32
    for expansion, out_channels, repeats, first_stride in BLOCKS:
        for index in range(repeats):
            stride, hidden = (first_stride if index == 0 else 1), channels * expansion
            y = x if expansion == 1 else b.conv(x, channels, hidden, 1, 1)
            y = b.conv(y, hidden, hidden, 3, stride, group=hidden)
            y = b.conv(y, hidden, out_channels, 1, 1, relu6=False)
            if stride == 1 and channels == out_channels:
                added = b.name("residual")
                b.nodes.append(helper.make_node("Add", [x, y], [added]))
                y = added
            x, channels = y, out_channels
    x = b.conv(x, channels, 1280, 1, 1)
    b.nodes.append(helper.make_node("GlobalAveragePool", [x], ["pooled"]))
    b.nodes.append(helper.make_node("Flatten", ["pooled"], ["features"]))
    fc_w = b.constant("fc_w", b.rng.standard_normal((classes, 1280)) * np.sqrt(1 / 1280))
    fc_b = b.constant("fc_b", b.rng.standard_normal(classes) * 0.1)
    b.nodes.append(helper.make_node("Gemm", ["features", fc_w, fc_b], ["logits"], transB=1))
    graph = helper.make_graph(b.nodes, "mobilenet_v2_1.0",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 224, 224])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, classes])], b.inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)
