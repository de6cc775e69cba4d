"""Einsum (opset 12+): up to 4 operands, explicit or implicit output, ellipsis. A two-operand
equation that is a matrix product (a Linear exported as "bsi,oi->bso", a batched matmul)
becomes the IR MatMul (its weight transposed at import when constant); any other is the IR
Einsum's reduction."""
import numpy as np

from convrnn.frontend.registry import converter
from convrnn.schedules.ops.einsum import ELLIPSIS_PREFIX

MAX_OPERANDS = 4


def _split(term: str, ctx) -> tuple[str, bool, str]:
    """(letters before the ellipsis, whether there is one, letters after it)."""
    head, ellipsis, tail = term.partition("...")
    if "." in head + tail or not all(ch.isalpha() for ch in head + tail):
        raise ctx.error(f"term {term!r} holds characters other than letters and one ellipsis")
    return head, bool(ellipsis), tail


def _ellipsis(first: int, count: int) -> list[str]:
    return [f"{ELLIPSIS_PREFIX}{j}" for j in range(first, first + count)]


def parse_equation(equation: str, ranks: list[int], ctx) -> tuple[list[list[str]], list[str]]:
    """The tokens of each operand and of the output. Ellipsis axes are right-aligned across the
    operands (numpy broadcasting): with E of them in all, an operand holding e gets the last e."""
    equation = equation.replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    terms = [_split(term, ctx) for term in lhs.split(",")]
    if len(terms) != len(ranks):
        raise ctx.error(f"equation {equation!r} has {len(terms)} terms for {len(ranks)} inputs")
    own = []
    for (head, ellipsis, tail), rank in zip(terms, ranks):
        letters = len(head) + len(tail)
        if letters > rank or (not ellipsis and letters != rank):
            raise ctx.error(f"equation {equation!r}: {letters} indices for an operand of rank {rank}")
        own.append(rank - letters)
    total = max(own, default=0)
    tokens = [list(head) + _ellipsis(total - count, count) + list(tail)
              for (head, _, tail), count in zip(terms, own)]
    if arrow:
        head, ellipsis, tail = _split(rhs, ctx)
        output = list(head) + (_ellipsis(0, total) if ellipsis else []) + list(tail)
    else:  # implicit: the ellipsis axes, then the letters that occur once, in ASCII order
        letters = [t for term in tokens for t in term if not t.startswith(ELLIPSIS_PREFIX)]
        output = _ellipsis(0, total) + sorted(t for t in set(letters) if letters.count(t) == 1)
    known = {t for term in tokens for t in term}
    if len(set(output)) != len(output) or any(t not in known for t in output):
        raise ctx.error(f"equation {equation!r}: the output's indices must be distinct indices of the inputs")
    return tokens, output


def _as_matmul(ctx, values, terms, output):
    """The MatMul's outputs when the equation is a matrix product ([.., m, k] x [k, n] or
    [.., k, n] with the same leading indices; B may hold [n, k]), else None."""
    if len(terms) != 2 or values[0].type.dtype != "float32":
        return None
    a, b = terms
    if any(len(set(t)) != len(t) for t in (a, b)) or len(b) < 2:
        return None
    contracted = [t for t in a if t in b and t not in output]
    if len(contracted) != 1 or a[-1] != contracted[0] or contracted[0] not in b[-2:]:
        return None
    k = contracted[0]
    n = b[-1] if b[-2] == k else b[-2]
    if n in a or output != a[:-1] + [n]:
        return None
    if len(b) > 2 and (len(a) < 2 or b[:-2] != a[:-2] or a[-2] in b):
        return None
    left, right = values
    if b[-1] == k:  # B is [.., n, k]: swap its last two axes
        weight = ctx.builder.constant_of(right)
        if weight is not None:
            right = ctx.make_constant(np.ascontiguousarray(np.swapaxes(weight, -1, -2)), "weight_t")
        else:
            perm = list(range(len(b) - 2)) + [len(b) - 1, len(b) - 2]
            right = ctx.emit1("Transpose", [right], {"perm": perm}, temp=True)
    return ctx.emit("MatMul", [left, right])


@converter("Einsum", since=12)
def convert_einsum(ctx):
    values = [ctx.required_input(i) for i in range(len(ctx.node.input))]
    if not 1 <= len(values) <= MAX_OPERANDS:
        raise ctx.unsupported(f"{len(values)} operands (convrnn claims 1 to {MAX_OPERANDS})")
    equation = ctx.attr("equation")
    if not equation:
        raise ctx.error("the equation attribute is missing")
    terms, output = parse_equation(equation, [v.type.rank for v in values], ctx)
    matmul = _as_matmul(ctx, values, terms, output)
    if matmul is not None:
        return matmul
    return ctx.emit("Einsum", values, {"terms": terms, "output": output})
