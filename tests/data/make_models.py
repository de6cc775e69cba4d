"""Regenerates the committed test models (needs PyTorch; the tests themselves never import it).

    python tests/data/make_models.py

Weights are random but fixed (seeded), BatchNorm statistics included, so the models exercise
every op with non-trivial values. ResNet-18 keeps its real layer structure (7x7 stem, max
pool, four stages of two basic blocks, global pool, fc) at a quarter of its width
(16/32/64/128 channels instead of 64..512): full width is ~45 MB, too big to commit;
benchmarks/run.py exports the full-width one on the fly.
"""
from __future__ import annotations

from pathlib import Path

import onnx
import torch
from torch import nn

HERE = Path(__file__).resolve().parent
IR_VERSION = 10  # older onnxruntime builds refuse newer IR versions


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


def resnet18(widths=(64, 128, 256, 512), num_classes: int = 1000) -> nn.Module:
    layers = [nn.Conv2d(3, widths[0], 7, 2, 3, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU(),
              nn.MaxPool2d(3, 2, 1)]
    cin = widths[0]
    for stage, width in enumerate(widths):
        stride = 1 if stage == 0 else 2
        layers += [BasicBlock(cin, width, stride), BasicBlock(width, width, 1)]
        cin = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, num_classes)]
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    """MobileNetV2's block: 1x1 expand, 3x3 depthwise, 1x1 linear projection, ReLU6."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int):
        super().__init__()
        hidden = cin * expand
        layers = []
        if expand != 1:
            layers += [nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6()]
        layers += [nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden),
                   nn.ReLU6(), nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.block(x) if self.residual else self.block(x)


def mobilenet_v2_small(num_classes: int = 100) -> nn.Module:
    # (expand, channels, repeats, stride) as in MobileNetV2's table, at reduced width and depth.
    settings = [(1, 8, 1, 1), (6, 12, 2, 2), (6, 16, 2, 2), (6, 24, 2, 2), (6, 32, 1, 1)]
    layers = [nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU6()]
    cin = 16
    for expand, cout, repeats, stride in settings:
        for index in range(repeats):
            layers.append(InvertedResidual(cin, cout, stride if index == 0 else 1, expand))
            cin = cout
    layers += [nn.Conv2d(cin, 128, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU6(),
               nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(128, num_classes)]
    return nn.Sequential(*layers)


def audio_cnn(mels: int = 40, num_classes: int = 12) -> nn.Module:
    """A keyword-spotting style 1-D conv net over log-mel frames: [batch, mels, frames]."""
    def block(cin, cout, kernel):
        return [nn.Conv1d(cin, cout, kernel, padding=kernel // 2), nn.BatchNorm1d(cout), nn.ReLU()]

    return nn.Sequential(*block(mels, 32, 5), nn.MaxPool1d(2), *block(32, 48, 3), nn.AvgPool1d(2),
                         *block(48, 64, 3), nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(64, num_classes))


def randomize_batch_norm(model: nn.Module) -> None:
    """Random but plausible BatchNorm parameters and statistics (fresh ones are the identity)."""
    for module in model.modules():
        if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.uniform_(module.weight, 0.5, 1.5)
            nn.init.uniform_(module.bias, -0.2, 0.2)
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 1.5)


def instantiate(build, seed: int) -> nn.Module:
    """The model with random but fixed weights and BatchNorm statistics, in eval mode."""
    torch.manual_seed(seed)
    model = build()
    randomize_batch_norm(model)
    return model.eval()


def export(model: nn.Module, example: torch.Tensor, path: Path, dynamic_batch: bool = True) -> Path:
    """ONNX opset 17 with a symbolic batch axis; BatchNorm stays a node (convrnn folds it itself)."""
    axes = {"input": {0: "batch"}, "output": {0: "batch"}} if dynamic_batch else None
    with torch.no_grad():
        torch.onnx.export(model, (example,), str(path), input_names=["input"], output_names=["output"],
                          opset_version=17, dynamic_axes=axes, dynamo=False,
                          training=torch.onnx.TrainingMode.PRESERVE)
    proto = onnx.load(str(path))
    proto.ir_version = IR_VERSION
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))
    return path


# name -> (builder, example input shape, seed)
MODELS = {
    "resnet18_w16": (lambda: resnet18(widths=(16, 32, 64, 128), num_classes=100), (1, 3, 64, 64), 1),
    "mobilenet_v2_small": (mobilenet_v2_small, (1, 3, 64, 64), 2),
    "audio_cnn": (audio_cnn, (1, 40, 100), 3),
}


def main(out_dir: Path = HERE) -> None:
    for name, (build, shape, seed) in MODELS.items():
        path = export(instantiate(build, seed), torch.randn(*shape), out_dir / f"{name}.onnx")
        print(f"{path} ({path.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
