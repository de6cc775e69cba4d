"""LayerNormalization (opset 17): axis (negative counts from the end), epsilon, stash_type (the
statistics' type: float or double), optional B; Mean and InvStdDev outputs when asked for."""
from onnx import TensorProto

from convrnn.frontend.registry import converter

_STASH_DTYPES = {TensorProto.FLOAT: "float32", TensorProto.DOUBLE: "float64"}


@converter("LayerNormalization", since=17)
def convert_layer_norm(ctx):
    x = ctx.required_input(0)
    rank = x.type.rank
    axis = int(ctx.attr("axis", -1))
    if not -rank <= axis < rank:
        raise ctx.error(f"axis {axis} is out of range for rank {rank}")
    stash_type = int(ctx.attr("stash_type", TensorProto.FLOAT))
    if stash_type not in _STASH_DTYPES:
        raise ctx.unsupported(f"stash_type {stash_type} (convrnn claims float and double statistics)")
    attrs = {"axis": axis % rank, "epsilon": float(ctx.attr("epsilon", 1e-5)), "stash_dtype": _STASH_DTYPES[stash_type]}
    inputs = [x, ctx.required_input(1)] + ([ctx.input(2)] if ctx.input(2) is not None else [])
    return ctx.emit("LayerNormalization", inputs, attrs)
