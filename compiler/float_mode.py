"""The artifact's floating-point mode functions: flush denormals to zero during a run.

Denormal (subnormal) floats take a microcode assist on x86 for every instruction that
meets one: a convolution fed by a layer whose outputs decay towards zero (trained weights
often do) runs tens of times slower than on normal numbers. onnxruntime and OpenVINO offer
flushing as an option, PyTorch as torch.set_flush_denormal; the values it changes are below
1.2e-38, far inside the 1e-4 tolerance of any output that is not itself denormal.

The mode lives in MXCSR, which each thread has its own of. `ENTER` saves the calling
thread's MXCSR in a 2-element int32 state tensor, sets FTZ and DAZ there and in every thread
of TVM's pool (a parallel loop wide enough to give every thread an iteration: each calling
thread has a pool of its own, so this is done per run, not once); `LEAVE` gives the caller's
MXCSR back to it and to the pool, whose other users (a model loaded without flushing, the
caller's own TVM code) then see the caller's mode. The runtime calls them around every run
(runtime/model.py); each costs about a microsecond.

A model that converts between float formats (a Cast from float32 to float16, bfloat16 to
float64, ...) must convert denormals exactly, as ONNX defines it: its artifact has no mode
functions and runs in the caller's mode.
"""
from __future__ import annotations

from typing import Any, Iterable

from convrnn.compiler import tvm_adapter as tvm_
from convrnn.compiler.ir import Node, is_floating
from convrnn.compiler.target import Target

ENTER = "convrnn_flush_denormals"
LEAVE = "convrnn_restore_float_mode"

_FTZ_DAZ = 0x8040  # MXCSR bit 15 (flush to zero) and bit 6 (denormals are zero)
_POOL_ITERATIONS = 1024  # more than any pool has threads: each runs at least one

_ENTER_SOURCE = f'''
@T.prim_func
def {ENTER}(state_handle: T.handle):
    state = T.match_buffer(state_handle, (2,), "int32")
    T.evaluate(T.call_llvm_intrin("void", "llvm.x86.sse.stmxcsr", T.address_of(state[0])))
    state[1] = state[0] | {_FTZ_DAZ}
    for i in T.parallel({_POOL_ITERATIONS}):
        T.evaluate(T.call_llvm_intrin("void", "llvm.x86.sse.ldmxcsr", T.address_of(state[1])))
    T.evaluate(T.call_llvm_intrin("void", "llvm.x86.sse.ldmxcsr", T.address_of(state[1])))
'''

_LEAVE_SOURCE = f'''
@T.prim_func
def {LEAVE}(state_handle: T.handle):
    state = T.match_buffer(state_handle, (2,), "int32")
    for i in T.parallel({_POOL_ITERATIONS}):
        T.evaluate(T.call_llvm_intrin("void", "llvm.x86.sse.ldmxcsr", T.address_of(state[0])))
    T.evaluate(T.call_llvm_intrin("void", "llvm.x86.sse.ldmxcsr", T.address_of(state[0])))
'''


def converts_float_formats(nodes: Iterable[Node]) -> bool:
    """Whether a node reads one float format and writes another (its conversion must keep
    denormals)."""
    for node in nodes:
        formats = {v.type.dtype for v in (*node.inputs, *node.outputs) if v is not None and is_floating(v.type.dtype)}
        if "from" in node.attrs and is_floating(str(node.attrs["from"])):
            formats.add(str(node.attrs["from"]))  # a bit-pattern input the kernel sees as its storage
        if len(formats) > 1:
            return True
    return False


def float_mode_functions(target: Target, nodes: Iterable[Node]) -> dict[str, Any]:
    """ENTER and LEAVE for an x86 CPU target whose kernels (`nodes`) do not convert between
    float formats; none elsewhere (the runtime then runs in the caller's mode)."""
    if not target.is_x86 or converts_float_formats(nodes):
        return {}
    return {ENTER: tvm_.parse_primfunc(_ENTER_SOURCE), LEAVE: tvm_.parse_primfunc(_LEAVE_SOURCE)}
