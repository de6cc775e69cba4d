"""Sliding-window arithmetic shared by Conv, ConvTranspose and the pools (no TVM).

Pads are in ONNX order: all begins, then all ends (``[h_begin, w_begin, h_end, w_end]``).
Conv and the window pools accept symbolic spatial dims on every axis (real models declare
them all symbolic); other window ops take static spatial dims. A window over a symbolic dim
gives the formula `window_dim` writes, which is the dim itself where the window keeps the
length (stride 1, pads_begin + pads_end == dilation * (kernel - 1)) (floor mode only: ceil
mode's rule for the last window is not a formula of that form).
"""
from __future__ import annotations

from typing import Optional, Sequence

from convrnn.compiler.ir import Dim
from convrnn.compiler.symbolic_dims import window_dim


# Ops whose spatial dims may be symbolic (see the module docstring).
SYMBOLIC_SPATIAL_OPS = ("Conv", "ConvTranspose", "MaxPool", "AveragePool", "ConvBlocked", "MaxPoolBlocked",
                        "AveragePoolBlocked")


def static_spatial(shape: Sequence[Dim], what: str, symbolic: Optional[bool] = None) -> list[Dim]:
    """The spatial dims (axes 2..) of an NC... shape: ints, or also symbolic dims when
    `symbolic` (default: `what` is one of SYMBOLIC_SPATIAL_OPS)."""
    if symbolic is None:
        symbolic = what in SYMBOLIC_SPATIAL_OPS
    spatial = list(shape[2:])
    for dim in spatial:
        if isinstance(dim, str) and not symbolic:
            raise ValueError(f"{what}: symbolic spatial dim {dim!r} is not supported (only batch may be symbolic)")
    return spatial


def window_output_dim(size: Dim, kernel: int, stride: int, pad_begin: int, pad_end: int,
                      dilation: int, ceil_mode: bool = False) -> Dim:
    """Output length of a window sliding over one axis; in ceil mode a last partial window
    counts only if it starts inside the input or the begin padding (onnxruntime's rule).
    Over a symbolic `size` the result is a derived dim (module docstring)."""
    span = dilation * (kernel - 1) + 1
    if isinstance(size, str):
        if ceil_mode and stride > 1:
            raise ValueError(f"ceil_mode with stride {stride} over the symbolic dim {size!r} is not supported "
                             "(floor mode is, or give that axis a fixed size)")
        return window_dim(size, pad_begin + pad_end - span, stride)
    room = size + pad_begin + pad_end - span
    if room < 0:
        raise ValueError(f"window of {span} does not fit input of {size} with pads ({pad_begin}, {pad_end})")
    out = (-(-room // stride) if ceil_mode else room // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + pad_begin:
        out -= 1
    return out


def spatial_extents(out_spatial: Sequence[Dim], in_spatial: Sequence, new_var) -> list:
    """The output's spatial extents for a window op's TE compute: static ones as inferred, a
    kept symbolic one as the input's variable, a derived one as `new_var(name)`, a variable
    of its own bound from the output buffer (the runtime computes it by the formula, so it
    always agrees with the input's length; a plain variable keeps the schedules' loop
    arithmetic as simple as for any symbolic dim)."""
    return [given if getattr(given, "name", None) == out else new_var(out) if isinstance(out, str) else out
            for out, given in zip(out_spatial, in_spatial)]


def auto_pads(auto_pad: str, sizes: Sequence[Dim], kernels: Sequence[int], strides: Sequence[int],
              dilations: Sequence[int], explicit: Sequence[int]) -> list[int]:
    """Explicit pads for an ONNX auto_pad mode (NOTSET keeps `explicit`)."""
    rank = len(sizes)
    if auto_pad in ("NOTSET", ""):
        return list(explicit) if explicit else [0] * (2 * rank)
    if auto_pad == "VALID":
        return [0] * (2 * rank)
    if auto_pad not in ("SAME_UPPER", "SAME_LOWER"):
        raise ValueError(f"unknown auto_pad {auto_pad!r}")
    begins, ends = [], []
    for size, kernel, stride, dilation in zip(sizes, kernels, strides, dilations):
        span = dilation * (kernel - 1) + 1
        if isinstance(size, str):
            if stride != 1:
                raise ValueError(f"auto_pad={auto_pad} with stride {stride} over the symbolic dim {size!r} "
                                 "is not supported (only stride 1 is)")
            total = span - 1
        else:
            total = max((-(-size // stride) - 1) * stride + span - size, 0)
        small, large = total // 2, total - total // 2
        begins.append(small if auto_pad == "SAME_UPPER" else large)
        ends.append(large if auto_pad == "SAME_UPPER" else small)
    return begins + ends


def check_window_attrs(rank: int, kernel: Sequence[int], strides: Sequence[int], pads: Sequence[int],
                       dilations: Sequence[int], negative_pads: bool = False) -> None:
    """Lengths and signs of window attributes, so every op reports the same errors.
    (ConvTranspose's pads go negative when output_shape asks for more than the input gives.)"""
    pads_low = -(1 << 30) if negative_pads else 0
    for name, values, length, low in (("kernel_shape", kernel, rank, 1), ("strides", strides, rank, 1),
                                      ("dilations", dilations, rank, 1), ("pads", pads, 2 * rank, pads_low)):
        if len(values) != length:
            raise ValueError(f"{name} {list(values)} should have {length} entries for {rank} spatial dims")
        if any(v < low for v in values):
            raise ValueError(f"{name} {list(values)} must be >= {low}")
