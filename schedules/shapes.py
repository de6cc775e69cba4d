"""Shape arithmetic shared by op type inference: broadcasting, axes, symbolic dims. No TVM."""
from __future__ import annotations

from typing import Sequence

from convrnn.compiler.ir import Dim
from convrnn.compiler.symbolic_dims import equate


def broadcast_shapes(*shapes: Sequence[Dim]) -> tuple[Dim, ...]:
    """numpy broadcasting. A symbolic dim against a constant other than 1, or against another
    symbolic dim, must equal it (symbolic_dims.equate: refined at import), as an exporter's
    symbolic dims stand for the sizes the weights fix; only a literal 1 broadcasts."""
    rank = max((len(s) for s in shapes), default=0)
    result: list[Dim] = []
    for axis in range(rank):
        dims = [s[axis - rank + len(s)] for s in shapes if axis - rank + len(s) >= 0]
        dims = list(dict.fromkeys(d for d in dims if d != 1))
        dim = dims[0] if dims else 1
        for other in dims[1:]:
            try:
                dim = equate(dim, other)
            except ValueError:
                raise ValueError(f"shapes {' and '.join(str(tuple(s)) for s in shapes)} do not broadcast") from None
        result.append(dim)
    return tuple(result)


def normalize_axis(axis: int, rank: int) -> int:
    if not -rank <= axis < max(rank, 1):
        raise ValueError(f"axis {axis} is out of range for rank {rank}")
    return axis % rank if rank else 0
