"""The CPU kernel of ConvTranspose in its gather form, written directly in TIR (no TE stages).

Per spatial axis (kernel k, stride s, dilation d, begin pad pb), output position p reads
input i = (p + pb - t*d) / s for the taps t with (p + pb - t*d) % s == 0 and 0 <= i < in.
Writing p + pb = s*a + r, the output "phase" r fixes those taps at compile time: tap t
contributes for r iff (r - t*d) % s == 0, from input a - (t*d - r) // s. So each phase is a
small stride-1 correlation (ceil(k / s) taps when d == 1; k == s: exactly one): nothing is
multiplied by an inserted zero and no zero-interleaved copy of the input is made.

Loop nest (2-d; a 1-d op is the same with a unit height axis):

    parallel over (batch, output-channel tiles, input rows a_h)
      for each row phase r_h (unrolled in Python: its taps are static):
        output row p_h = s_h*a_h + r_h - pb_h
        interior of the width, in tiles of TW input columns a_w (all taps in bounds):
          registers acc[r_w][oc][TW] for every width phase r_w and oc of the tile,
          over input channels x the row taps of r_h x the column taps of each r_w:
            acc[r_w][oc][:] += X[c, a_h - off_h, a_w0 - off_w : +TW] * W[c, oc, t_h, t_w]
          then the s_w phases of each oc are interleaved into s_w*TW contiguous outputs
        the width's edges (output columns whose taps leave the input, and any columns a
          tile cannot cover): scalar, every tap checked

The vector runs along the input width (contiguous loads, the weight broadcast); the output
channels of the tile share each input vector. The interior's tile count is symbolic where the
width is: the last tile is shifted back to end at the interior's end (it recomputes, and
rewrites with the same values, up to TW - 1 columns of its neighbour), so every tile is whole
and needs no guard (TVM 0.27 does not lower a guarded vector tile over a symbolic extent), and
nothing is computed into a padded buffer and cropped.

Knobs: "oc_tile" (output channels per register tile, a divisor of the channels per group),
"width_vectors" (TW = that many vectors of the target's lanes; a static width narrower than that
takes a vector of the largest power of two that fits, down to MIN_TILE).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from convrnn.compiler.ir import TensorType
from convrnn.schedules.cpu.tiling import accumulators
from convrnn.schedules.implementations import Implementation, implements

MAX_WIDTH_VECTORS = 4
MIN_TILE = 4  # the narrowest vector tile (a static width narrower than that is all edge)
# Register tiles below this many accumulators leave the FMA units waiting on their latency.
MIN_ACCUMULATORS = 8


@dataclass(frozen=True)
class Axis:
    """One spatial axis: input and output extents (TIR text: an int or a variable name)."""
    size: str
    out: str
    kernel: int
    stride: int
    dilation: int
    pad_begin: int
    dummy: bool = False  # the unit height of a 1-d op

    def taps(self, phase: int) -> list[tuple[int, int]]:
        """(tap, input offset) of the taps feeding output phase `phase`: input a - offset."""
        s, d = self.stride, self.dilation
        return [(t, (t * d - phase) // s) for t in range(self.kernel) if (phase - t * d) % s == 0]

    def offsets(self) -> list[int]:
        return [off for phase in range(self.stride) for _, off in self.taps(phase)]


def default_knobs(out_per_group: int, stride_w: int, width: Optional[int], lanes: int) -> dict[str, int]:
    """A register tile of oc_tile channels x stride_w phases x width_vectors vectors: as many
    channels as fit (each input vector serves all of them), then vectors along the width up to
    MIN_ACCUMULATORS accumulators (not wider than a static width needs)."""
    budget = accumulators(lanes)
    oc_tile = max(c for c in range(1, out_per_group + 1) if out_per_group % c == 0 and c * stride_w <= budget) \
        if stride_w <= budget else 1
    vectors = 1
    while (vectors * 2 <= MAX_WIDTH_VECTORS and oc_tile * stride_w * vectors < MIN_ACCUMULATORS
           and oc_tile * stride_w * vectors * 2 <= budget
           and (width is None or width >= vectors * 2 * lanes)):
        vectors *= 2
    return {"oc_tile": oc_tile, "width_vectors": vectors}


def knob_space(out_per_group: int, stride_w: int, lanes: int) -> dict[str, list]:
    budget = accumulators(lanes)
    tiles = [c for c in range(1, out_per_group + 1) if out_per_group % c == 0 and c * stride_w <= budget] or [1]
    return {"oc_tile": tiles[-4:], "width_vectors": [1, 2, 4]}


class _Names:
    """TIR variable names for the symbolic dims (the IR's dim strings are formulas)."""

    def __init__(self):
        self.names: dict[str, str] = {}

    def __call__(self, dim) -> str:
        if isinstance(dim, int):
            return str(dim)
        return self.names.setdefault(dim, f"d{len(self.names)}")


def conv_transpose_primfunc(x: TensorType, w: TensorType, b: Optional[TensorType], y: TensorType,
                            attrs: dict[str, Any], lanes: int) -> Any:
    from convrnn.compiler import tvm_adapter as tvm_

    return tvm_.parse_primfunc(conv_transpose_script(x, w, b, y, attrs, lanes))


def conv_transpose_script(x: TensorType, w: TensorType, b: Optional[TensorType], y: TensorType,
                          attrs: dict[str, Any], lanes: int) -> str:
    """The TVMScript text of the kernel (module docstring)."""
    kernel, strides, dilations = attrs["kernel_shape"], attrs["strides"], attrs["dilations"]
    rank, group = len(kernel), attrs["group"]
    pads = attrs["pads"]
    name = _Names()
    in_channels, out_channels = int(x.shape[1]), int(y.shape[1])
    in_per_group, out_per_group = in_channels // group, out_channels // group
    axes = [Axis(name(x.shape[2 + i]), name(y.shape[2 + i]), int(kernel[i]), int(strides[i]), int(dilations[i]),
                 int(pads[i])) for i in range(rank)]
    if rank == 1:
        axes.insert(0, Axis("1", "1", 1, 1, 1, 0, dummy=True))
    ah_, aw_ = axes
    static_width = y.shape[-1] if isinstance(y.shape[-1], int) else None
    knobs = dict(default_knobs(out_per_group, aw_.stride, static_width and -(-static_width // aw_.stride), lanes))
    knobs.update({k: v for k, v in (attrs.get("knobs") or {}).items() if k in knobs})
    oc_tile, tw = int(knobs["oc_tile"]), int(knobs["width_vectors"]) * lanes
    if out_per_group % oc_tile:
        raise ValueError(f"oc_tile {oc_tile} does not divide {out_per_group} output channels per group")
    dtype = x.dtype
    batch = name(x.shape[0])

    def xi(c, hh, ww):
        return f"X[n, {c}, {hh}, {ww}]" if rank == 2 else f"X[n, {c}, {ww}]"

    def yi(c, hh, ww):
        return f"Y[n, {c}, {hh}, {ww}]" if rank == 2 else f"Y[n, {c}, {ww}]"

    def wi(c, o, th, tw_):
        """The weight of input channel c (global), output channel o (global), taps th, tw_."""
        taps = [th, tw_] if rank == 2 else [tw_]
        return f"Wt[{c}, ({o}) % {out_per_group}, {', '.join(map(str, taps))}]"  # ONNX's [C, O/g, *K]

    lines: list[str] = []

    def emit(depth: int, text: str) -> None:
        lines.append("    " * depth + text)

    x_shape = [batch, str(in_channels)] + ([ah_.size] if rank == 2 else []) + [aw_.size]
    y_shape = [batch, str(out_channels)] + ([ah_.out] if rank == 2 else []) + [aw_.out]
    w_shape = [str(int(d)) for d in w.shape]
    params = ["x_h: T.handle", "w_h: T.handle"] + (["b_h: T.handle"] if b is not None else []) + ["y_h: T.handle"]
    emit(0, "@T.prim_func")
    emit(0, f"def conv_transpose({', '.join(params)}):")
    emit(1, 'T.func_attr({"tirx.noalias": True})')
    for var in name.names.values():
        emit(1, f"{var} = T.int32()")
    emit(1, f'X = T.match_buffer(x_h, ({", ".join(x_shape)},), "{dtype}")')
    emit(1, f'Wt = T.match_buffer(w_h, ({", ".join(w_shape)},), "{dtype}")')
    if b is not None:
        emit(1, f'B = T.match_buffer(b_h, ({out_channels},), "{dtype}")')
    emit(1, f'Y = T.match_buffer(y_h, ({", ".join(y_shape)},), "{dtype}")')

    # Rows: input row a_h covers output rows s_h*a_h + r_h - pb_h of every phase r_h.
    ah_first = ah_.pad_begin // ah_.stride
    rows = f"(({ah_.out}) + {ah_.pad_begin + ah_.stride - 1}) // {ah_.stride} - {ah_first}"
    tiles = out_channels // oc_tile
    emit(1, f"for task in T.parallel({batch} * {tiles} * ({rows})):")
    emit(2, f"n = task // ({tiles} * ({rows}))")
    emit(2, f"oc0 = task // ({rows}) % {tiles} * {oc_tile}")
    emit(2, f"ah = task % ({rows}) + {ah_first}")
    emit(2, f"cb = oc0 // {out_per_group} * {in_per_group}")  # the group's first input channel

    # The width's interior: input columns a_w whose taps are all in bounds, for every phase.
    offsets = aw_.offsets()
    s_w, pb_w = aw_.stride, aw_.pad_begin
    a_lo = max(-(-pb_w // s_w), max(offsets))
    if isinstance(y.shape[-1], int):  # a static interior narrower than the tile: a narrower vector
        span = min((y.shape[-1] + pb_w) // s_w, int(x.shape[-1]) + min(offsets)) - a_lo
        while tw > MIN_TILE and tw > span:
            tw //= 2
    a_hi = f"T.min(({aw_.out} + {pb_w}) // {s_w}, {aw_.size} + {min(offsets)})"
    emit(2, f"a_hi = {a_hi}")
    emit(2, f"span = a_hi - {a_lo}")
    emit(2, f"ntiles = T.if_then_else(span >= {tw}, (span + {tw - 1}) // {tw}, 0)")
    emit(2, f"p_left = T.if_then_else(ntiles > 0, {s_w * a_lo - pb_w}, {aw_.out})")
    emit(2, f"p_right = T.if_then_else(ntiles > 0, a_hi * {s_w} - {pb_w}, {aw_.out})")
    bias = "B[oc]" if b is not None else f"T.{dtype}(0)"
    w_phases = [(r, aw_.taps(r)) for r in range(s_w)]

    def row_valid(depth: int, off: int) -> int:
        if ah_.dummy:
            return depth
        emit(depth, f"if ah - {off} >= 0 and ah - {off} < {ah_.size}:")
        return depth + 1

    for rh in range(ah_.stride):
        h_taps = ah_.taps(rh)
        ph = f"ph{rh}"
        emit(2, f"{ph} = ah * {ah_.stride} + {rh - ah_.pad_begin}")
        emit(2, f"if {ph} >= 0 and {ph} < {ah_.out}:")
        # interior tiles
        emit(3, "for tile in range(ntiles):")
        emit(4, f"aw0 = T.min(tile * {tw} + {a_lo}, a_hi - {tw})")
        emit(4, f'acc = T.alloc_buffer(({s_w}, {oc_tile}, {tw}), "{dtype}", scope="local")')
        emit(4, f"for r in T.unroll({s_w}):")
        emit(5, f"for o in T.unroll({oc_tile}):")
        emit(6, f"for l in T.vectorized({tw}):")
        emit(7, f"acc[r, o, l] = T.{dtype}(0)")
        for th, off_h in h_taps:
            depth = row_valid(4, off_h)
            emit(depth, f"for ic in range({in_per_group}):")
            for rw, taps in w_phases:
                for t_w, off_w in taps:
                    emit(depth + 1, f"for o in T.unroll({oc_tile}):")
                    emit(depth + 2, f"for l in T.vectorized({tw}):")
                    emit(depth + 3, f"acc[{rw}, o, l] = acc[{rw}, o, l] + "
                                    f"{xi('cb + ic', f'ah - {off_h}', f'aw0 + l - {off_w}')} * "
                                    f"{wi('cb + ic', 'oc0 + o', th, t_w)}")
        emit(4, f"for o in T.unroll({oc_tile}):")
        emit(5, "oc = oc0 + o")
        if s_w == 1:
            emit(5, f"for l in T.vectorized({tw}):")
            emit(6, f"{yi('oc', ph, f'aw0 + l - {pb_w}')} = acc[0, o, l] + {bias}")
        else:  # the phases' vectors interleaved: output column s_w * (aw0 + l) + r - pb_w is acc[r, o, l]
            phases = ", ".join(f"acc[{r}, o, T.ramp(0, 1, {tw})]" for r in range(s_w))
            order = ", ".join(str(r * tw + l) for l in range(tw) for r in range(s_w))
            emit(5, f"{yi('oc', ph, f'T.ramp(aw0 * {s_w} - {pb_w}, 1, {s_w * tw})')} = "
                    f"T.Shuffle([{phases}], [{order}]) + T.broadcast({bias}, {s_w * tw})")
        # edges, scalar
        for first, count in (("0", "p_left"), ("p_right", f"{aw_.out} - p_right")):
            emit(3, f"for o in range({oc_tile}):")
            emit(4, "oc = oc0 + o")
            emit(4, f"for j in range({count}):")
            emit(5, f"pw = {first} + j")
            emit(5, f'v = T.alloc_buffer((1,), "{dtype}", scope="local")')
            emit(5, f"v[0] = {bias}")
            for th, off_h in h_taps:
                depth = row_valid(5, off_h)
                emit(depth, f"for ic in range({in_per_group}):")
                for t_w in range(aw_.kernel):
                    q = f"pw + {pb_w - t_w * aw_.dilation}"
                    emit(depth + 1, f"if ({q}) % {s_w} == 0 and {q} >= 0 and {q} < {aw_.size} * {s_w}:")
                    emit(depth + 2, f"v[0] = v[0] + {xi('cb + ic', f'ah - {off_h}', f'({q}) // {s_w}')} * "
                                    f"{wi('cb + ic', 'oc', th, t_w)}")
            emit(5, f"{yi('oc', ph, 'pw')} = v[0]")
    return "\n".join(lines)


@implements("llvm", "ConvTranspose")
class ConvTransposeOnCpu(Implementation):
    def primfunc(self, input_types, attrs, output_types, target):
        x, w, b = (list(input_types) + [None])[:3]
        return conv_transpose_primfunc(x, w, b, output_types[0], attrs, target.vector_lanes)

    def knob_space(self, inputs, attrs, outputs, target):
        return knob_space(outputs[0].shape[1] // attrs["group"], attrs["strides"][-1], target.vector_lanes)
