"""Runs flush denormal floats to zero (compiler/float_mode.py) and give the caller back its mode."""
import threading

import numpy as np
import pytest

import support
from convrnn.compiler.float_mode import float_mode_functions
from convrnn.compiler.target import parse_target
from convrnn.runtime import InputError, load

DENORMAL = np.float32(1e-39)


def _caller_keeps_denormals() -> bool:
    """numpy's float32 arithmetic on this thread sees a denormal as itself (not flushed)."""
    return float(np.multiply(np.full(64, DENORMAL), np.float32(1.0))[0]) != 0.0


def _inputs(batch: int):
    # y = relu(x + b) * z: x + b is in [1, 3], so y is (x + b) * z, a denormal unless flushed
    return np.full((batch, 16), 2.0, np.float32), np.full((batch, 16), DENORMAL, np.float32)


def test_denormal_inputs_are_flushed_in_every_thread_of_the_pool(compiled_small):
    model = load(compiled_small)
    assert model.flushes_denormals
    (y,) = model.run(*_inputs(4096))  # large enough for the kernel to run on every pool thread
    assert not np.any(y), "a denormal input was not flushed to zero"
    assert _caller_keeps_denormals(), "the run left the caller's thread flushing denormals"


def test_flushing_can_be_turned_off(compiled_small):
    load(compiled_small).run(*_inputs(4096))  # leaves TVM's pool in the caller's mode, not flushing
    model = load(compiled_small, flush_denormals=False)
    assert not model.flushes_denormals
    x, z = _inputs(4096)
    (y,) = model.run(x, z)
    np.testing.assert_array_equal(y, (x + np.linspace(-1, 1, 16, dtype=np.float32)) * z)
    assert np.all(y != 0)


def test_the_callers_mode_comes_back_when_a_run_fails(compiled_small, monkeypatch):
    model = load(compiled_small)

    def failing_executor(*arguments):
        raise RuntimeError("a kernel's check failed")

    monkeypatch.setattr(model, "executor", failing_executor)
    monkeypatch.setattr(model, "_run_calls", lambda binding: failing_executor())
    with pytest.raises(RuntimeError):
        model.run(*_inputs(8))
    assert _caller_keeps_denormals()


def test_kernel_timing_runs_in_the_same_mode(compiled_small):
    model = load(compiled_small)
    x, z = _inputs(64)
    timings = model.time_calls({"x": x, "z": z}, repeats=2)
    assert timings and all(len(t.seconds) == 2 for t in timings)
    (y,) = model.run(x, z)
    assert not np.any(y)
    assert _caller_keeps_denormals()


def test_each_calling_thread_gets_its_own_mode_back(compiled_small):
    model = load(compiled_small)
    results = {}

    def work(key):
        (y,) = model.run(*_inputs(256))
        results[key] = (not np.any(y), _caller_keeps_denormals())

    threads = [threading.Thread(target=work, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {i: (True, True) for i in range(3)}


def test_a_bad_input_still_gets_its_error(compiled_small):
    with pytest.raises(InputError, match="expected float32"):
        load(compiled_small).run(np.zeros((2, 16), np.float64), np.zeros((2, 16), np.float32))
    assert _caller_keeps_denormals()


def test_only_x86_targets_carry_the_mode_functions():
    assert float_mode_functions(parse_target('{"kind": "llvm", "mtriple": "x86_64-linux-gnu"}'), [])
    assert not float_mode_functions(parse_target('{"kind": "llvm", "mtriple": "aarch64-linux-gnu", "mattr": ["+neon"]}'), [])
    assert not float_mode_functions(parse_target("cuda"), [])


@pytest.mark.parametrize("to", ["float64", "float16"])
def test_a_model_converting_float_formats_keeps_denormals_exact(to):
    from onnx import helper

    node = helper.make_node("Cast", ["x"], ["y"], to=helper.np_dtype_to_tensor_dtype(np.dtype(to)))
    model = support.make_model([node], [support.tensor_info("x", "float32", [64])],
                               [support.tensor_info("y", to, [64])])
    compiled = support.compile_cached(model)
    assert not compiled.flushes_denormals
    x = np.full(64, DENORMAL if to == "float64" else np.float32(3e-6), np.float32)  # float16's denormals
    (y,) = compiled.run(x)
    np.testing.assert_array_equal(y, x.astype(to))
    assert np.all(y != 0)
