"""BatchNormalization at inference (opsets 7, 9, 14, 15) -> IR BatchNormalization.

Opset 7 has `spatial` (0 is per-activation statistics: unsupported); 14 adds training_mode
(1 is unsupported); 15 lets scale/bias and mean/var have their own float types, which the IR
op reads in its compute precision. The training-only outputs (running mean/var, saved statistics) must be absent.
"""
from convrnn.frontend.registry import converter


@converter("BatchNormalization", since=7)
def convert_batch_norm(ctx):
    if ctx.opset < 9 and ctx.attr("spatial", 1) != 1:
        raise ctx.unsupported("spatial=0 (per-activation statistics)")
    if ctx.attr("training_mode", 0):
        raise ctx.unsupported("training_mode=1 (only inference is supported)")
    if any(name for name in ctx.node.output[1:]):
        raise ctx.unsupported("the training outputs (running/saved mean and variance)")
    inputs = [ctx.required_input(i) for i in range(5)]
    y = ctx.emit1("BatchNormalization", inputs, {"epsilon": float(ctx.attr("epsilon", 1e-5))})
    return [y] + [None] * (len(ctx.node.output) - 1)
