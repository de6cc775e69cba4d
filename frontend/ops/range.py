"""Range. With constants and a symbolic limit (a Shape element, e.g. Range(0, seq, 1) for
positions) the output's length is a formula of that dim; with a run-time start, limit or delta
(a loop's counter) it is a run-time dim bound by RangeLength (compiler/bound_dims.py)."""
from convrnn.compiler import symbolic_dims
from convrnn.compiler.errors import UnsupportedError
from convrnn.frontend.registry import converter


def _known_scalars(ctx):
    """(start, limit, delta) as ints or dims, or None when one is a run-time tensor."""
    scalars = []
    for index, what in enumerate(("start", "limit", "delta")):
        try:
            elements = ctx.shape_vector(index, what)
        except UnsupportedError:
            return None
        if elements is None or len(elements) != 1:
            raise ctx.error(f"{what} must be a scalar")
        scalars.append(elements[0])
    return scalars


def _run_time_range(ctx):
    start, limit, delta = (ctx.required_input(i) for i in range(3))
    for what, value in (("start", start), ("limit", limit), ("delta", delta)):
        if value.type.shape not in ((), (1,)):
            raise ctx.error(f"{what} must be a scalar, it is {value.type}")
        if value.type.dtype != start.type.dtype:
            raise ctx.error(f"{what} is {value.type.dtype}, start {start.type.dtype}")
    length = ctx.new_dim("range")
    ctx.emit("RangeLength", [start, limit, delta], {"binds": [length]}, temp=True)
    return ctx.emit("DynamicRange", [start, delta], {"shape": [length]})  # a list: refined as dims are


@converter("Range", since=11)
def convert_range(ctx):
    scalars = _known_scalars(ctx)
    if scalars is None or isinstance(scalars[0], str) or isinstance(scalars[2], str):
        return _run_time_range(ctx)
    start, limit, delta = scalars
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
