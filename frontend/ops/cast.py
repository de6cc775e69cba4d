"""Cast and CastLike to one of convrnn's dtypes (a no-op when the dtype does not change).

Opset 19 adds `saturate` (float8 targets only), opset 24 `round_mode` (the E8M0 target)."""
import numpy as np
from onnx import helper

from convrnn.frontend.registry import converter
from convrnn.schedules.element_conversions import E8M0, E8M0_ROUND_MODES, MINI_FLOATS, is_bit_pattern
from convrnn.schedules.ops.cast import cast_problem


def onnx_dtype_name(code: int) -> str:
    """The numpy (or ml_dtypes) name of an ONNX element type code."""
    try:
        return str(np.dtype(helper.tensor_dtype_to_np_dtype(code)))
    except (KeyError, TypeError, ValueError):
        return f"ONNX type {code}"


def emit_cast(ctx, x, dtype: str):
    problem = cast_problem(x.type.dtype, dtype)
    if problem:
        raise ctx.unsupported(problem)
    if dtype == x.type.dtype:
        return [x]
    attrs = {"to": dtype}
    if is_bit_pattern(x.type.dtype):
        attrs["from"] = x.type.dtype
    if ctx.opset >= 19 and (dtype in MINI_FLOATS or dtype == E8M0):
        attrs["saturate"] = int(ctx.attr("saturate", 1))
    if ctx.opset >= 24 and dtype == E8M0:
        round_mode = ctx.attr("round_mode", "up")
        if round_mode not in E8M0_ROUND_MODES:
            raise ctx.error(f"round_mode {round_mode!r} is none of {', '.join(E8M0_ROUND_MODES)}")
        attrs["round_mode"] = round_mode
    return ctx.emit("Cast", [x], attrs)


@converter("Cast", since=6)
def convert_cast(ctx):
    return emit_cast(ctx, ctx.required_input(0), onnx_dtype_name(ctx.attr("to")))


@converter("CastLike", since=15)
def convert_cast_like(ctx):
    return emit_cast(ctx, ctx.required_input(0), ctx.required_input(1).type.dtype)
