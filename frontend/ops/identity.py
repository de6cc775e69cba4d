"""Identity, and Dropout at inference (its mask output is all ones: bool from opset 10, the
input's type before)."""
import numpy as np

from convrnn.frontend.registry import converter


@converter("Identity", since=1)
def convert_identity(ctx):
    return [ctx.required_input(0)]


@converter("Dropout", since=1)
def convert_dropout(ctx):
    x = ctx.required_input(0)
    training = ctx.constant(2, "training_mode") if ctx.opset >= 12 else None
    if training is not None and training.any():
        raise ctx.unsupported("training_mode=True (convrnn compiles inference, where Dropout is the identity)")
    if len(ctx.node.output) > 1 and ctx.node.output[1]:
        if not x.type.is_static:
            raise ctx.unsupported("Dropout mask output of a tensor with symbolic dims")
        mask_type = bool if ctx.opset >= 10 else x.type.dtype
        return [x, ctx.make_constant(np.ones(x.type.shape, dtype=mask_type), "mask")]
    return [x]


@converter("Constant", since=1)
def convert_constant(ctx):
    # Reached only if folding did not handle it; Constant has no inputs, so it always folds.
    raise ctx.error("Constant node could not be evaluated")
