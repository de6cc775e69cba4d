"""Range whose limit is a symbolic dim (a Shape element, e.g. Range(0, seq, 1) for positions):
the output's length is a formula of that dim. Constant inputs were folded at import already;
run-time tensors would give an output whose length no input shape fixes, which is refused."""
from convrnn.compiler import symbolic_dims
from convrnn.compiler.errors import UnsupportedError
from convrnn.frontend.registry import converter


def _scalar(ctx, index, what):
    try:
        elements = ctx.shape_vector(index, what)
    except UnsupportedError:
        raise ctx.unsupported(f"{what} is a run-time tensor: the output's length must follow from "
                              f"constants and dims of input shapes") from None
    if elements is None or len(elements) != 1:
        raise ctx.error(f"{what} must be a scalar")
    return elements[0]


@converter("Range", since=11)
def convert_range(ctx):
    start, limit, delta = (_scalar(ctx, i, what) for i, what in enumerate(("start", "limit", "delta")))
    if isinstance(start, str) or isinstance(delta, str):
        raise ctx.unsupported("a symbolic start or delta (convrnn claims a symbolic limit only)")
    if delta == 0:
        raise ctx.error("delta must not be 0")
    dtype = ctx.type(1).dtype
    if dtype not in ("int64", "int32"):
        raise ctx.unsupported(f"a {dtype} range over a symbolic limit")
    length = (symbolic_dims.ceildiv(symbolic_dims.sub(limit, start), delta) if delta > 0
              else symbolic_dims.ceildiv(symbolic_dims.sub(start, limit), -delta))
    if isinstance(length, int) and length < 1:
        raise ctx.unsupported(f"an empty range (start {start}, limit {limit}, delta {delta})")
    attrs = {"start": int(start), "delta": int(delta), "length": length, "dtype": dtype}
    return ctx.emit("Range", [], attrs)
