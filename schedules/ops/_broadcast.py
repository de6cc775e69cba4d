"""TE helpers shared by op computes: numpy broadcasting, IR shapes as TE shapes.

No op is registered here; discovery imports this module harmlessly.
"""
from __future__ import annotations


def _is_one(dim) -> bool:
    return hasattr(dim, "value") and int(dim.value) == 1


def broadcast_shape(tensors):
    """The broadcast TE shape of the tensors (symbolic dims broadcast only against 1)."""
    rank = max(len(t.shape) for t in tensors)
    shape = []
    for axis in range(rank):
        dims = [t.shape[axis - rank + len(t.shape)] for t in tensors if axis - rank + len(t.shape) >= 0]
        non_one = [d for d in dims if not _is_one(d)]
        shape.append(non_one[0] if non_one else dims[0])
    return shape


def broadcast_index(tensor, index):
    """The element of `tensor` read at output `index` under broadcasting."""
    offset = len(index) - len(tensor.shape)
    return tensor[tuple(0 if _is_one(dim) else index[offset + axis] for axis, dim in enumerate(tensor.shape))]


def broadcast_compute(tensors, fn, name: str, shape=None):
    """te.compute over the broadcast shape (or `shape`, which the tensors broadcast to) of fn(*elements)."""
    from convrnn.compiler.tvm_adapter import te

    shape = broadcast_shape(tensors) if shape is None else shape
    return te.compute(shape, lambda *i: fn(*(broadcast_index(t, i) for t in tensors)), name=name)


def te_shape(shape, tensors):
    """An IR shape as TE dims: symbols reuse the inputs' shape variables of the same name, and
    a symbol no input has becomes a new variable (bound from the output buffer at call time)."""
    from convrnn.compiler import tvm_adapter as tvm_

    known = {d.name: d for t in tensors for d in t.shape if hasattr(d, "name")}
    for d in shape:
        if isinstance(d, str) and d not in known:
            known[d] = tvm_.size_var(d)
    return [d if isinstance(d, int) else known[d] for d in shape]
