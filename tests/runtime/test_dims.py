"""Derived symbolic dims: the compiler's formula text (symbolic_dims.window_dim) and the runtime's
evaluation of it (runtime/dims.py) agree with the window arithmetic on concrete sizes."""
import pytest

from convrnn.compiler.symbolic_dims import window_dim
from convrnn.runtime.dims import formula, is_derived, names_in
from convrnn.schedules.window import window_output_dim


@pytest.mark.parametrize("kernel, stride, pads, dilation",
                         [(3, 1, (1, 1), 1), (3, 1, (0, 0), 1), (2, 2, (0, 0), 1), (3, 2, (1, 1), 1),
                          (3, 3, (2, 1), 1), (3, 1, (0, 0), 2), (5, 4, (0, 3), 1), (1, 1, (2, 2), 1)])
def test_window_formula_matches_window_arithmetic(kernel, stride, pads, dilation):
    span = dilation * (kernel - 1) + 1
    dim = window_output_dim("T", kernel, stride, *pads, dilation)
    assert dim == window_dim("T", sum(pads) - span, stride)
    for size in range(max(1, span - sum(pads)), 40):
        assert formula(dim)({"T": size}) == window_output_dim(size, kernel, stride, *pads, dilation)


def test_nested_windows_compose():
    once = window_dim("frames", -2, 2)
    twice = window_dim(once, -1, 2)
    assert (once, twice) == ("frames // 2", "(frames // 2 + 1) // 2")  # canonical: simplified
    for frames in range(2, 30):
        halved = (frames - 2) // 2 + 1
        assert formula(twice)({"frames": frames}) == (halved - 1) // 2 + 1
    assert names_in(twice) == {"frames"} and is_derived(twice) and not is_derived("frames")
    assert formula("-frames + 5")({"frames": 3}) == 2


def test_length_preserving_window_keeps_the_name():
    assert window_dim("seq", -1, 1) == "seq"
    assert window_dim("seq", -3, 1) == "seq - 2"


@pytest.mark.parametrize("text", ["__import__('os')", "T ** 2", "T / 2", "f(T)", "T.real", "1 +"])
def test_anything_but_a_dim_formula_is_refused(text):
    with pytest.raises(ValueError, match="not a dim formula"):
        formula(text)
