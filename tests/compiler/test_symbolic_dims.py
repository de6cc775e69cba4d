"""Symbolic dim arithmetic (compiler/symbolic_dims.py): canonical formulas evaluate as the
integer arithmetic they stand for, the same dim reached two ways is one text, and the
equalities that type inference requires are solved for the names they fix."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convrnn.compiler import symbolic_dims as dims
from convrnn.runtime.dims import formula

NAMES = ("a", "b", "frames")


@st.composite
def expressions(draw, depth=3):
    """(dim built with symbolic_dims, the same arithmetic as a Python function of the names)."""
    if depth == 0 or draw(st.booleans()):
        if draw(st.booleans()):
            value = draw(st.integers(-5, 20))
            return value, lambda env, v=value: v
        name = draw(st.sampled_from(NAMES))
        return name, lambda env, n=name: env[n]
    op = draw(st.sampled_from(["add", "sub", "mul", "floordiv", "max", "min"]))
    left, left_fn = draw(expressions(depth=depth - 1))
    if op == "floordiv":
        k = draw(st.integers(1, 5))
        return dims.floordiv(left, k), lambda env: left_fn(env) // k
    right, right_fn = draw(expressions(depth=depth - 1))
    combine = {"add": (dims.add, lambda x, y: x + y), "sub": (dims.sub, lambda x, y: x - y),
               "mul": (dims.mul, lambda x, y: x * y), "max": (dims.maximum, max), "min": (dims.minimum, min)}[op]
    return combine[0](left, right), lambda env: combine[1](left_fn(env), right_fn(env))


@settings(max_examples=300, deadline=None)
@given(expressions(), st.fixed_dictionaries({n: st.integers(1, 50) for n in NAMES}))
def test_canonical_formula_evaluates_like_the_arithmetic(expression, env):
    dim, reference = expression
    value = dim if isinstance(dim, int) else formula(dim)(env)
    assert value == reference(env)
    assert dims.canonical(dim) == dim  # already canonical: parsing and rendering again is a no-op
    assert dims.evaluate(dim, env) == reference(env)


def test_the_same_dim_two_ways_is_one_text():
    assert dims.add(dims.add("T", 2), -2) == "T"
    assert dims.mul("a", "b") == dims.mul("b", "a") == "a * b"
    assert dims.floordiv(dims.add(dims.mul("x", 2), 3), 2) == "x + 1"
    assert dims.floordiv(dims.floordiv("x", 2), 3) == "x // 6"
    assert dims.canonical("(frames - 2) // 2 + 1") == dims.window_dim("frames", -2, 2) == "frames // 2"
    assert dims.product([1, "unk__57", "unk__58"]) == "unk__57 * unk__58"
    assert dims.total(["T", "T", 3]) == "2 * T + 3"


def test_a_negated_floor_division_keeps_its_parentheses():
    # -((a + 1) // 4) + a: printed "-(a + 1) // 4 + a" it would divide -(a + 1) instead
    dim = dims.add(dims.sub(0, dims.floordiv(dims.add("a", 1), 4)), "a")
    assert [formula(dim)({"a": a}) for a in (1, 3, 6)] == [a - (a + 1) // 4 for a in (1, 3, 6)]


def test_extrema_are_linear_in_one_kind_of_atom():
    # a pad to a minimum length, then the length itself: one formula
    assert dims.add(dims.maximum(dims.sub(256, "s"), 0), "s") == dims.maximum(256, "s") == "max(s - 256, 0) + 256"
    assert dims.minimum("a", "b") == dims.sub("a", dims.maximum(dims.sub("a", "b"), 0))
    assert dims.maximum("x", "x") == "x" and dims.maximum(3, 7) == 7 and dims.minimum("x + 2", "x") == "x"
    assert dims.names_in("max(s - 256, 0) + 256") == {"s"}


def test_quotients():
    assert dims.exact_quotient("a * b * 6", "b * 3") == "2 * a"
    assert dims.exact_quotient("a * b", "c") is None
    assert dims.exact_quotient(dims.add(dims.mul("a", 4), 8), 4) == "a + 2"


@pytest.mark.parametrize("a, b, bindings", [
    ("input_dim_1", 80, {"input_dim_1": 80}),
    ("frames - 2", 98, {"frames": 100}),
    ("x", "y + 1", {"x": "y + 1"}),
    ("n * 240", "n * m", {"m": 240}),
])
def test_solve(a, b, bindings):
    assert dims.solve(a, b) == bindings


def test_unsolvable_equalities_are_refused():
    with pytest.raises(ValueError):
        dims.solve("x // 2", 5)
    with pytest.raises(ValueError):
        dims.equate(3, 4)


def test_equate_outside_an_import_checks_only():
    with pytest.raises(ValueError, match="differ"):
        dims.equate("a", 3)
    with dims.collecting_equalities() as found:
        assert dims.equate("a", 3) == 3
    assert found == [("a", 3)]
