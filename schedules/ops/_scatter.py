"""TIR loop nests for the scatter ops, whose element writes TE cannot express: the kernel is one
te.extern whose body copies the data to the output, then applies the updates in order.

No op is registered here; discovery imports this module harmlessly.
"""
from __future__ import annotations

REDUCTIONS = ("none", "add", "mul", "max", "min")


def loop_nest(extents, body, parallel_outer: bool = False):
    """for i0 in extents[0]: ... body([i0, ...]); the outermost loop parallel when asked."""
    from convrnn.compiler.tvm_adapter import tirx

    loop_vars = [tirx.Var(f"i{axis}", "int32") for axis in range(len(extents))]
    stmt = body(loop_vars)
    for axis in reversed(range(len(extents))):
        kind = tirx.ForKind.PARALLEL if parallel_outer and axis == 0 else tirx.ForKind.SERIAL
        stmt = tirx.For(loop_vars[axis], 0, extents[axis], kind, stmt)
    return stmt


def copy_stmt(source, target):
    from convrnn.compiler.tvm_adapter import tirx

    return loop_nest(list(source.shape), lambda i: tirx.BufferStore(target, tirx.BufferLoad(source, i), i),
                     parallel_outer=True)


def normalized_index(index, size, tirx):
    """An index read as int32, a negative one counted from the end."""
    index = index.astype("int32")
    return tirx.Select(index < 0, index + size, index)


def combine(reduction: str, old, update, tirx):
    if reduction == "none":
        return update
    if reduction == "add":
        return old + update
    if reduction == "mul":
        return old * update
    return tirx.max(old, update) if reduction == "max" else tirx.min(old, update)


def store_update(out, position, update, reduction: str, checked, tirx):
    """out[position] = combine(out[position], update), skipped unless each (index, size) in
    `checked` is in range (onnxruntime rejects such indices; a kernel must not write outside)."""
    store = tirx.BufferStore(out, combine(reduction, tirx.BufferLoad(out, position), update, tirx), position)
    inside = None
    for index, size in checked:
        check = tirx.And(index >= 0, index < size)
        inside = check if inside is None else tirx.And(inside, check)
    return tirx.IfThenElse(inside, store, None)
