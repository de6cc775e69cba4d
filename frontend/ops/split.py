"""Split: sizes from the `split` attribute (before 13) or input (13+), `num_outputs` (18+),
or equal chunks; with num_outputs the last chunk may be smaller. A chunk may be empty."""
import numpy as np

from convrnn.frontend.registry import converter


def _sizes(ctx, dim, outputs):
    sizes = ctx.attr("split") if ctx.opset < 13 else ctx.shape_vector(1, "split")
    if sizes:
        return [int(s) for s in sizes]
    if isinstance(dim, str):
        raise ctx.unsupported(f"splitting symbolic dim {dim!r}")
    if ctx.opset >= 18 and ctx.has_attr("num_outputs"):
        count = ctx.attr("num_outputs")
        chunk = -(-dim // count)  # ceil: all chunks equal except a smaller last one
        return [min(chunk, dim - k * chunk) for k in range(count)]
    if dim % outputs:
        raise ctx.error(f"dim {dim} does not split into {outputs} equal parts")
    return [dim // outputs] * outputs


@converter("Split", since=2)
def convert_split(ctx):
    x = ctx.required_input(0)
    axis = ctx.attr("axis", 0)
    if not -x.type.rank <= axis < x.type.rank:
        raise ctx.error(f"axis {axis} is out of range for rank {x.type.rank}")
    axis %= x.type.rank
    sizes = _sizes(ctx, x.type.shape[axis], len(ctx.node.output))
    if len(sizes) != len(ctx.node.output):
        raise ctx.error(f"{len(sizes)} split sizes for {len(ctx.node.output)} outputs")
    if 0 in sizes:
        return _with_empty_chunks(ctx, x, axis, sizes)
    if len(sizes) == 1:
        return [x]
    return ctx.emit("Split", [x], {"axis": axis, "sizes": sizes})


def _with_empty_chunks(ctx, x, axis, sizes):
    """Empty chunks hold no data: constants of their shapes; the others split as usual."""
    shape = list(x.type.shape)
    if any(isinstance(d, str) for a, d in enumerate(shape) if a != axis):
        raise ctx.unsupported(f"empty split chunks of a tensor with symbolic dims {shape}")
    filled = [s for s in sizes if s]
    if len(filled) > 1:
        parts = iter(ctx.emit("Split", [x], {"axis": axis, "sizes": filled}, temp=True))
    else:
        parts = iter([x] * len(filled))
    results = []
    for size in sizes:
        if size:
            results.append(next(parts))
        else:
            results.append(ctx.make_constant(np.zeros(shape[:axis] + [0] + shape[axis + 1:], x.type.dtype), "empty"))
    return results
