import numpy as np
import pytest

import support
from convrnn.runtime import InputError, load


def _expected(x, z):
    return np.maximum(x + np.linspace(-1, 1, 16, dtype=np.float32), 0) * z


def test_runs_by_position_and_by_name_and_matches_onnxruntime(compiled_small, small_onnx):
    model = load(compiled_small)
    x, z = support.random_input((3, 16), seed=1), support.random_input((3, 16), seed=2)
    (by_position,) = model.run(x, z)
    (by_name,) = model.run(z=z, x=x)
    (reference,) = support.run_onnxruntime(small_onnx, {"x": x, "z": z})
    np.testing.assert_allclose(by_position, reference, rtol=1e-6)
    np.testing.assert_array_equal(by_position, by_name)
    assert model.run_dict(x, z=z)["y"].shape == (3, 16)


def test_symbolic_batch_is_bound_per_call(compiled_small):
    model = load(compiled_small)
    for batch in (1, 7, 2):
        x, z = support.random_input((batch, 16), seed=batch), support.random_input((batch, 16), seed=10 + batch)
        (y,) = model.run(x, z)
        np.testing.assert_allclose(y, _expected(x, z), rtol=1e-6)


def test_only_the_last_few_shapes_keep_their_memory(compiled_small):
    """A sequence model sees a new length per call: its allocations must not pile up."""
    from convrnn.runtime.model import KEPT_BINDINGS

    model = load(compiled_small)
    batches = list(range(1, KEPT_BINDINGS + 4)) + [1, 2]  # the first ones are evicted, then come back
    for batch in batches:
        x, z = support.random_input((batch, 16), seed=batch), support.random_input((batch, 16), seed=10 + batch)
        (y,) = model.run(x, z)
        np.testing.assert_allclose(y, _expected(x, z), rtol=1e-6)
        assert len(model._bindings) <= KEPT_BINDINGS


def test_one_executor_call_runs_the_kernels_as_the_calls_one_by_one_do(compiled_small):
    import json

    plan = json.loads((compiled_small / "plan.json").read_text())
    assert plan["executor"]["args"]  # every tensor the kernels use, passed once
    x, z = support.random_input((5, 16), seed=3), support.random_input((5, 16), seed=4)
    with_executor, one_by_one = load(compiled_small), load(compiled_small)
    one_by_one.executor = None  # as for an artifact without one
    (a,), (b,) = with_executor.run(x, z), one_by_one.run(x, z)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a, _expected(x, z), rtol=1e-6)


def test_results_are_the_callers_own(compiled_small):
    """Outputs are copies: the next run does not overwrite what an earlier one returned."""
    model = load(compiled_small)
    x, z = support.random_input((2, 16), seed=1), support.random_input((2, 16), seed=2)
    (first,) = model.run(x, z)
    kept = first.copy()
    model.run(x * 2, z)
    np.testing.assert_array_equal(first, kept)


def test_describes_its_inputs_and_outputs(compiled_small):
    model = load(compiled_small)
    assert [(s.name, s.shape, s.dtype) for s in model.inputs] == [("x", ("batch", 16), "float32"),
                                                                   ("z", ("batch", 16), "float32")]
    assert [s.name for s in model.outputs] == ["y"]
    assert "x: float32[batch,16]" in repr(model)


@pytest.mark.parametrize("call, message", [
    (lambda m, x: m.run(x, x, x), "3 positional inputs, the model takes 2"),
    (lambda m, x: m.run(x, w=x), "unknown input 'w'; the model's inputs are x: float32\\[batch,16\\]"),
    (lambda m, x: m.run(x), "missing input 'z'"),
    (lambda m, x: m.run(x, x=x), "given both by position and by name"),
    (lambda m, x: m.run(x.astype(np.float64), x), "input 'x' has dtype float64, expected float32"),
    (lambda m, x: m.run(x[0], x), "input 'x' has rank 1 .* expected rank 2"),
    (lambda m, x: m.run(x[:, :8], x), "axis 1 must be 16"),
    (lambda m, x: m.run(x, x[:1]), "dim 'batch' is 3 in another input"),
    (lambda m, x: m.run(x[:0], x[:0]), "must be at least 1"),
])
def test_wrong_inputs_get_clear_errors(compiled_small, call, message):
    model = load(compiled_small)
    with pytest.raises(InputError, match=message):
        call(model, support.random_input((3, 16)))
