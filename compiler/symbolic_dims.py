"""Arithmetic on symbolic dims, and the refinement of dims that a constant fixes.

A dim is an int or a text: a plain name ("batch") or a formula of names with + - *, floor
division by a positive int and max/min of two dims ("(frames - 2) // 2 + 1"), what Pad, Concat, Reshape, Conv
and Slice make of symbolic inputs. Every formula is kept in one canonical text (a polynomial
over names and floor-division atoms, terms in a fixed order), so the same dim reached two
ways compares equal as text; the runtime evaluates the text (runtime/dims.py).

Refinement: type inference calls `equate(a, b)` where ONNX requires two dims to be equal
(a broadcast against a constant, a weight's input size, a concat's other axes). Outside an
import that is a plain check; during one (`collecting_equalities`) a symbolic dim that must
equal a constant or another dim is recorded, and the importer substitutes it everywhere:
the graph input then declares the constant, which the runtime checks against what it is fed.
Imports only compiler/ir.py.
"""
from __future__ import annotations

import ast
import contextlib
import contextvars
from typing import Collection, Iterator, Optional, Sequence

from convrnn.compiler.ir import Dim

# A polynomial: monomial (sorted tuple of atoms) -> integer coefficient; () is the constant term.
# An atom is a plain name or the canonical text of a floor division "(inner) // k".
Poly = dict


def _poly_const(value: int) -> Poly:
    return {(): value} if value else {}


def _poly_atom(atom: str) -> Poly:
    return {(atom,): 1}


def _add(a: Poly, b: Poly, sign: int = 1) -> Poly:
    out = dict(a)
    for mono, coef in b.items():
        out[mono] = out.get(mono, 0) + sign * coef
        if out[mono] == 0:
            del out[mono]
    return out


def _mul(a: Poly, b: Poly) -> Poly:
    out: Poly = {}
    for ma, ca in a.items():
        for mb, cb in b.items():
            mono = tuple(sorted(ma + mb))
            out[mono] = out.get(mono, 0) + ca * cb
            if out[mono] == 0:
                del out[mono]
    return out


def _floordiv(a: Poly, k: int) -> Poly:
    if k <= 0:
        raise ValueError(f"floor division of a dim by {k}")
    if k == 1:
        return dict(a)
    # floor((k*Q + R) / k) == Q + floor(R / k): whole multiples of k leave the division.
    whole = {m: c // k for m, c in a.items() if m and c % k == 0}
    rest = {m: c for m, c in a.items() if m and c % k != 0}
    constant = a.get((), 0)
    if not rest:
        return _add(whole, _poly_const(constant // k))
    # Keep the constant's multiple of k outside too: floor((R + c) / k) = floor((R + c % k) / k) + c // k.
    inner = _add(rest, _poly_const(constant % k))
    if len(inner) == 1 and list(inner.values())[0] == 1:
        (mono,) = inner
        nested = _division_of(mono[0]) if len(mono) == 1 else None
        if nested is not None:  # floor(floor(x / m) / k) == floor(x / (m * k)) for positive ints m, k
            return _add(whole, _add(_floordiv(nested[0], nested[1] * k), _poly_const(constant // k)))
    text = _render(inner)
    atom = f"{text if text.isidentifier() else f'({text})'} // {k}"
    return _add(whole, _add(_poly_atom(atom), _poly_const(constant // k)))


def _division_of(atom: str) -> Optional[tuple[Poly, int]]:
    """(x, k) when the atom is the floor division x // k."""
    if " // " not in atom:
        return None
    tree = ast.parse(atom, mode="eval").body
    if isinstance(tree, ast.BinOp) and isinstance(tree.op, ast.FloorDiv) and isinstance(tree.right, ast.Constant):
        return _from_ast(tree.left, atom), int(tree.right.value)
    return None


def _mono_text(mono: tuple, coef: int) -> str:
    # A floor division in a product, or after a leading minus ("-(a + 1) // 4" would divide -(a + 1)),
    # keeps its parentheses.
    factors = [f"({atom})" if " // " in atom and (len(mono) > 1 or coef != 1) else atom for atom in mono]
    if abs(coef) != 1 or not factors:
        factors.insert(0, str(abs(coef)))
    return " * ".join(factors)


def _order(item) -> tuple:
    mono, _ = item
    return (0 if mono else 1, -len(mono), mono)


def _render(p: Poly) -> str:
    if not p:
        return "0"
    terms = sorted(p.items(), key=_order)
    text = ""
    for index, (mono, coef) in enumerate(terms):
        body = _mono_text(mono, coef)
        if index == 0:
            text = body if coef > 0 else f"-{body}"
        else:
            text += f" {'+' if coef > 0 else '-'} {body}"
    return text


def to_dim(p: Poly) -> Dim:
    if not p:
        return 0
    if set(p) == {()}:
        return p[()]
    return _render(p)


def parse_poly(text: str) -> Poly:
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError:
        raise ValueError(f"{text!r} is not a dim formula") from None
    return _from_ast(tree, text)


def _from_ast(node: ast.AST, text: str, bindings: Optional[dict] = None) -> Poly:
    """The polynomial of a parsed formula, with names replaced by the dims `bindings` gives."""
    if isinstance(node, ast.Name):
        return poly(bindings[node.id]) if bindings and node.id in bindings else _poly_atom(node.id)
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return _poly_const(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return _add({}, _from_ast(node.operand, text, bindings), -1)
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _EXTREMA
            and len(node.args) == 2 and not node.keywords):
        first, second = (to_dim(_from_ast(arg, text, bindings)) for arg in node.args)
        return _extremum_poly(node.func.id, first, second)
    if isinstance(node, ast.BinOp):
        left, right = _from_ast(node.left, text, bindings), _from_ast(node.right, text, bindings)
        if isinstance(node.op, ast.FloorDiv):
            if set(right) - {()}:
                raise ValueError(f"{text!r}: only division by an integer is a dim formula")
            return _floordiv(left, right.get((), 0))
        if isinstance(node.op, ast.Add):
            return _add(left, right)
        if isinstance(node.op, ast.Sub):
            return _add(left, right, -1)
        if isinstance(node.op, ast.Mult):
            return _mul(left, right)
    raise ValueError(f"{text!r} is not a dim formula (names, integers, + - * //, max and min only)")


def poly(dim: Dim) -> Poly:
    return _poly_const(int(dim)) if isinstance(dim, int) else parse_poly(dim)


def canonical(dim: Dim) -> Dim:
    """The dim in its canonical form (an int when the formula is constant)."""
    return dim if isinstance(dim, int) else to_dim(parse_poly(dim))


def add(a: Dim, b: Dim) -> Dim:
    return to_dim(_add(poly(a), poly(b)))


def sub(a: Dim, b: Dim) -> Dim:
    return to_dim(_add(poly(a), poly(b), -1))


def mul(a: Dim, b: Dim) -> Dim:
    return to_dim(_mul(poly(a), poly(b)))


def floordiv(a: Dim, k: int) -> Dim:
    return to_dim(_floordiv(poly(a), int(k)))


def ceildiv(a: Dim, k: int) -> Dim:
    return floordiv(add(a, k - 1), k)


def product(dims: Sequence[Dim]) -> Dim:
    result: Dim = 1
    for dim in dims:
        result = mul(result, dim)
    return result


def total(dims: Sequence[Dim]) -> Dim:
    result: Dim = 0
    for dim in dims:
        result = add(result, dim)
    return result


def window_dim(size: Dim, offset: int, stride: int) -> Dim:
    """(size + offset) // stride + 1: the length of a window op's output over `size`."""
    return add(floordiv(add(size, offset), stride), 1)


def exact_quotient(a: Dim, b: Dim) -> Optional[Dim]:
    """a / b when b divides a as polynomials (by an int, or by one monomial), else None."""
    pa, pb = poly(a), poly(b)
    if len(pb) != 1:
        return None if pa != pb else 1
    ((mono, coef),) = pb.items()
    out: Poly = {}
    for m, c in pa.items():
        rest = list(m)
        for atom in mono:
            if atom not in rest:
                return None
            rest.remove(atom)
        if c % coef:
            return None
        out[tuple(rest)] = c // coef
    return to_dim(out)


def maximum(a: Dim, b: Dim) -> Dim:
    return _extremum("max", a, b)


def minimum(a: Dim, b: Dim) -> Dim:
    return _extremum("min", a, b)


def _extremum(kind: str, a: Dim, b: Dim) -> Dim:
    return to_dim(_extremum_poly(kind, canonical(a), canonical(b)))


def _extremum_poly(kind: str, a: Dim, b: Dim) -> Poly:
    """max(a, b) or min(a, b) of canonical dims. Canonically every extremum is linear in atoms
    max(D, 0) whose D leads with a positive term: max(a, b) = b + max(a - b, 0) (or
    a + max(b - a, 0)), min(a, b) = a + b - max(a, b); so max(256 - s, 0) + s and
    max(256, s) are one formula (a pad to a minimum length, then its frame count)."""
    pa, pb = poly(a), poly(b)
    difference = _add(pa, pb, -1)
    if not difference or set(difference) == {()}:
        larger = pa if difference.get((), 0) >= 0 else pb
        smaller = pb if larger is pa else pa
        return dict(larger if kind == "max" else smaller)
    (lead, coef), = sorted(difference.items(), key=_order)[:1]
    base = pb
    if coef < 0:
        difference, base = _add({}, difference, -1), pa
    maximum_poly = _add(base, _poly_atom(f"max({_render(difference)}, 0)"))
    return maximum_poly if kind == "max" else _add(_add(pa, pb), maximum_poly, -1)


_EXTREMA = ("max", "min")


def symbol_name(text: str) -> str:
    """The dim name convrnn gives an ONNX dim_param (which may hold dots, dashes, spaces)."""
    cleaned = "".join(ch if ch.isalnum() else "_" for ch in text)
    return cleaned if cleaned[:1].isalpha() else f"d_{cleaned}"


def names_in(dim: Dim) -> set[str]:
    if isinstance(dim, int):
        return set()
    tree = ast.parse(dim, mode="eval")
    functions = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and id(node) not in functions}


def substitute(dim: Dim, bindings: dict[str, Dim]) -> Dim:
    """The dim with names replaced by the dims `bindings` gives them."""
    if isinstance(dim, int) or not names_in(dim) & set(bindings):
        return dim
    return to_dim(_from_ast(ast.parse(dim, mode="eval").body, dim, bindings))


def evaluate(dim: Dim, bindings: dict[str, int]) -> Optional[int]:
    """The dim's value when every name it holds is bound, else None."""
    value = substitute(dim, bindings)
    return value if isinstance(value, int) else None


# --- equalities that type inference requires -------------------------------------------------
_COLLECTOR: contextvars.ContextVar[Optional[list]] = contextvars.ContextVar("dim_equalities", default=None)


@contextlib.contextmanager
def collecting_equalities() -> Iterator[list]:
    """Within this block `equate` records the equalities it needs instead of refusing them."""
    found: list[tuple[Dim, Dim]] = []
    token = _COLLECTOR.set(found)
    try:
        yield found
    finally:
        _COLLECTOR.reset(token)


_KNOWN: contextvars.ContextVar[dict] = contextvars.ContextVar("known_dims", default={})


@contextlib.contextmanager
def assuming(known: "dict[str, Dim] | Sequence[tuple[str, Dim]]") -> Iterator[None]:
    """Within this block formulas the model requires to equal a constant or another formula
    (Graph.dim_checks, checked at run time) count as it; a constant also inside products
    ("n * p * q" with "p * q" known as 12 is "12 * n")."""
    token = _KNOWN.set({**_KNOWN.get(), **dict(known)})
    try:
        yield
    finally:
        _KNOWN.reset(token)


def apply_known(dim: Dim) -> Dim:
    known = _KNOWN.get()
    if isinstance(dim, int) or not known:
        return dim
    seen = set()
    while isinstance(dim, str) and dim in known and dim not in seen:
        seen.add(dim)
        dim = known[dim]
    if isinstance(dim, int):
        return dim
    p = poly(dim)
    for text, value in known.items():
        kp = poly(text)
        if not isinstance(value, int) or len(kp) != 1 or list(kp.values())[0] != 1:
            continue
        (factors,) = kp
        out: Poly = {}
        for mono, coef in p.items():
            rest = list(mono)
            while all(rest.count(f) >= factors.count(f) for f in set(factors)) and factors:
                for f in factors:
                    rest.remove(f)
                coef *= value
            key = tuple(rest)
            out[key] = out.get(key, 0) + coef
        p = {m: c for m, c in out.items() if c}
    return to_dim(p)


def equate(a: Dim, b: Dim, what: str = "dims") -> Dim:
    """The one dim that two dims ONNX requires to be equal stand for: the more concrete one.
    Unequal ints, or symbolic dims outside an import, are a ValueError."""
    if a == b:
        return a
    a, b = apply_known(a), apply_known(b)
    if a == b:
        return a
    if isinstance(a, int) and isinstance(b, int):
        raise ValueError(f"{what}: {a} != {b}")
    found = _COLLECTOR.get()
    if found is None:
        raise ValueError(f"{what}: {a!r} and {b!r} differ")
    found.append((a, b))
    return more_concrete(a, b)


def more_concrete(a: Dim, b: Dim) -> Dim:
    if isinstance(a, int) or isinstance(b, int):
        return a if isinstance(a, int) else b
    if a.isidentifier() != b.isidentifier():
        return b if a.isidentifier() else a  # a formula carries more than a bare name
    return min(a, b)


def solve(a: Dim, b: Dim, prefer: Collection[str] = ()) -> dict[str, Dim]:
    """Bindings of names that make a == b: a bare name takes the other side (first one of
    `prefer`); a formula linear in one name with coefficient +-1 is solved for it. ValueError
    when neither applies."""
    sides = ((a, b), (b, a)) if a in prefer or b not in prefer else ((b, a), (a, b))
    for name_side, other in sides:
        if isinstance(name_side, str) and name_side.isidentifier() and name_side not in names_in(other):
            return {name_side: other}
    for side, other in ((a, b), (b, a)):
        if isinstance(side, int):
            continue
        p = poly(side)
        for mono, coef in p.items():
            if len(mono) != 1 or not mono[0].isidentifier() or abs(coef) != 1:
                continue
            name = mono[0]
            remainder = {m: c for m, c in p.items() if m != mono}
            if name in set().union(*(names_in(atom) for m in remainder for atom in m)) | names_in(other):
                continue
            # coef * name + remainder == other  ->  name == coef * (other - remainder)
            return {name: to_dim(_mul(_poly_const(coef), _add(poly(other), remainder, -1)))}
    pa, pb = poly(a), poly(b)
    if len(pa) == 1 and len(pb) == 1:  # c * x * y == d * x * z: cancel the common factors
        ((ma, ca),), ((mb, cb),) = pa.items(), pb.items()
        common = list(ma)
        ra, rb = list(ma), list(mb)
        for atom in common:
            if atom in rb:
                ra.remove(atom)
                rb.remove(atom)
        if len(ra) + len(rb) < len(ma) + len(mb):
            return solve(to_dim({tuple(ra): ca}), to_dim({tuple(rb): cb}))
    raise ValueError(f"cannot make {a!r} equal {b!r}")
