"""Cast to one of convrnn's dtypes (a no-op when the dtype does not change)."""
import numpy as np
from onnx import helper

from convrnn.compiler.ir import SUPPORTED_DTYPES
from convrnn.frontend.registry import converter


@converter("Cast", since=6)
def convert_cast(ctx):
    to = ctx.attr("to")
    try:
        dtype = str(np.dtype(helper.tensor_dtype_to_np_dtype(to)))
    except (KeyError, TypeError, ValueError):
        dtype = f"ONNX type {to}"
    if dtype not in SUPPORTED_DTYPES:
        raise ctx.unsupported(f"cast to {dtype} (convrnn supports {', '.join(SUPPORTED_DTYPES)})")
    x = ctx.required_input(0)
    if dtype == x.type.dtype:
        return [x]
    return ctx.emit("Cast", [x], {"to": dtype})
