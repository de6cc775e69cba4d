"""The TE compute and CPU schedule template of a Winograd 3x3 convolution (stride 1, NCHW).

Stages (names the schedule looks up), for output tiles of m x m (attrs["tile"], alpha = m + 2),
P = tiles per image, channels in blocks of L = winograd.CHANNEL_BLOCK:
  "pad"  the zero-padded input with its channels blocked: [N, C/L, rows, cols, L]; every later
         stage then works on L contiguous channels at once (one vector)
  "t1", "v"  the input transform Bᵀ d B, along rows then columns: V [alpha, alpha, N, P, C]
  "m"    the batched GEMM: M[e, n] = V[e, n] · U[e, n] over input channels, for each of the
         alpha² transform points, register-tiled as (p_tile tiles) x (k_tile output channels)
  "t2", "y16"  the output transform Aᵀ M A, along one axis then the other: [N, P, m, m, K]
  "out"  back to NCHW (or NCHW{L} with attr block), cropped to the output size, plus the bias;
         then the fused epilogue.
With attr in_block the input arrives NCHW{L} and "pad" reads its blocks as they are.
An image whose transforms outgrow the caches (winograd.band_tile_rows) runs in bands of tile
rows: a serial loop over bands outside every stage, each stage parallel within its band, so a
band's transformed input and product pass from stage to stage through the caches.
The transforms run per tile (t1 inside v's loop, t2 inside y16's) so their temporaries stay
in L1, vectorized over the channel block, with every loop over transform points unrolled so
that the matrices' entries become constants.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from convrnn.compiler.target import Target
from convrnn.schedules.cpu.tiling import (accumulators, blocks_by_name, largest_divisor, parallel_fused, row_tile,
                                      tile_reduction, vectorize_innermost, with_knobs)
from convrnn.schedules.implementations import Implementation, implements
from convrnn.schedules.winograd import CHANNEL_BLOCK, band_tile_rows, matrix

MAX_TILE_ROWS = 12  # tiles per register tile of the GEMM, untuned
# A banded GEMM's register tile spans this many output channels where they divide: each
# broadcast of the transformed input then feeds 4 vectors (a 64-channel 200 x 161 layer: 6 x 64
# tiles ran 1.3x faster than 12 x 16 ones in the same bands)
WIDE_K_TILE = 64


def tiles(out_height: int, out_width: int, tile: int) -> tuple[int, int]:
    return -(-out_height // tile), -(-out_width // tile)


def winograd_knobs(tile_count: int, out_channels: int, lanes: int, banded: bool) -> dict[str, int]:
    """The GEMM's register tile over `tile_count` tiles (a band's, or the image's): in a band, as
    many output channels as WIDE_K_TILE where they divide and leave rows for 4 tiles, and a
    tile count dividing the band's (a partial tile's guard breaks the band's dataflow)."""
    k_tile = CHANNEL_BLOCK
    if banded and out_channels % WIDE_K_TILE == 0 and accumulators(lanes) // (WIDE_K_TILE // lanes) >= 4:
        k_tile = WIDE_K_TILE
    limit = min(MAX_TILE_ROWS, accumulators(lanes) // max(k_tile // lanes, 1))
    return {"p_tile": largest_divisor(tile_count, limit) if banded else row_tile(tile_count, limit),
            "k_tile": k_tile}


def default_band_rows(out_height: int, out_width: int, channels: int, out_channels: int, tile: int) -> int:
    """winograd.band_tile_rows, every tile row where the image cannot be banded."""
    return band_tile_rows(out_height, out_width, channels, out_channels, tile) or tiles(out_height, out_width, tile)[0]


def winograd_knob_space(out_height: int, out_width: int, channels: int, out_channels: int, tile: int,
                        lanes: int) -> dict[str, list[int]]:
    """The GEMM's register tiles (in a band, the schedule takes the nearest dividing the band's
    tiles) and, for a banded image, half and twice the default band."""
    rows, cols = tiles(out_height, out_width, tile)
    k_tiles = [k for k in (CHANNEL_BLOCK, 2 * CHANNEL_BLOCK, WIDE_K_TILE) if out_channels % k == 0]
    limit = accumulators(lanes) // (CHANNEL_BLOCK // lanes)
    p_tiles = sorted({p for p in range(2, limit + 1) if rows * cols % p == 0}
                     | {row_tile(rows * cols, MAX_TILE_ROWS)})
    space = {"p_tile": p_tiles, "k_tile": k_tiles}
    band = default_band_rows(out_height, out_width, channels, out_channels, tile)
    if band < rows:
        space["band_rows"] = sorted({largest_divisor(rows, b) for b in (max(band // 2, 1), band, 2 * band)})
    return space


def _constant_matrix(values: np.ndarray):
    """(i, j) -> values[i, j] as an expression of index variables: a Select per nonzero entry,
    which folds to a constant once the loops over i and j are unrolled."""
    from convrnn.compiler.tvm_adapter import tirx

    def entry(i, j):
        expr = tirx.const(0.0, "float32")
        for (row, col), value in np.ndenumerate(values):
            if value:
                expr = tirx.Select(tirx.all(i == row, j == col), tirx.const(float(value), "float32"), expr)
        return expr

    return entry


def winograd_compute(x: Any, u: Any, bias: Optional[Any], attrs: dict[str, Any], out_shape: Sequence[Any]) -> Any:
    """x [N, C, H, W] (or [N, C/L, H, W, L] with attr in_block), u the transformed weight
    (winograd.transform_weight); returns the "out" stage [N, K, OH, OW] (or [N, K/L, OH, OW, L]
    with attr block), bias added; the epilogue is the caller's."""
    from convrnn.compiler.tvm_adapter import te, tirx

    m, L = attrs["tile"], CHANNEL_BLOCK
    alpha = m + 2
    BT, AT = _constant_matrix(matrix(m, "BT")), _constant_matrix(matrix(m, "AT"))
    top, left = attrs["pads"][:2]
    blocked_in, blocked_out = bool(attrs.get("in_block", 0)), bool(attrs.get("block", 0))
    batch, channels, height, width = x.shape[:4]
    channels, height, width = int(channels) * (L if blocked_in else 1), int(height), int(width)
    out_channels = int(u.shape[2]) * L
    out_height, out_width = (int(d) for d in out_shape[2:4])
    rows, cols = tiles(out_height, out_width, m)
    zero = tirx.const(0.0, "float32")

    def padded(n, cb, hh, ww, cl):
        inside = tirx.all(hh >= top, hh < height + top, ww >= left, ww < width + left)
        h, w = tirx.max(tirx.min(hh - top, height - 1), 0), tirx.max(tirx.min(ww - left, width - 1), 0)
        return tirx.Select(inside, x[n, cb, h, w, cl] if blocked_in else x[n, cb * L + cl, h, w], zero)

    pad = te.compute((batch, channels // L, rows * m + 2, cols * m + 2, L), padded, name="pad")
    a = te.reduce_axis((0, alpha), "a")
    t1 = te.compute((batch, channels // L, rows, cols, alpha, alpha, L), lambda n, cb, th, tw, e, b, cl: te.sum(
        BT(e, a) * pad[n, cb, th * m + a, tw * m + b, cl], axis=a), name="t1")
    b = te.reduce_axis((0, alpha), "b")
    v = te.compute((alpha, alpha, batch, rows * cols, channels), lambda e, nu, n, p, c: te.sum(
        BT(nu, b) * t1[n, c // L, p // cols, p % cols, e, b, c % L], axis=b), name="v")
    c = te.reduce_axis((0, channels), "c")
    gemm = te.compute((alpha, alpha, batch, rows * cols, out_channels), lambda e, nu, n, p, k: te.sum(
        v[e, nu, n, p, c] * u[e, nu, k // L, c, k % L], axis=c), name="m")
    nu_ = te.reduce_axis((0, alpha), "nu")
    t2 = te.compute((batch, rows * cols, alpha, m, out_channels), lambda n, p, e, j, k: te.sum(
        AT(j, nu_) * gemm[e, nu_, n, p, k], axis=nu_), name="t2")
    e_ = te.reduce_axis((0, alpha), "e")
    y16 = te.compute((batch, rows * cols, m, m, out_channels), lambda n, p, i, j, k: te.sum(
        AT(i, e_) * t2[n, p, e_, j, k], axis=e_), name="y16")

    def out(n, k, h, w):
        value = y16[n, h // m * cols + w // m, h % m, w % m, k]
        return value + bias[k] if bias is not None else value

    if blocked_out:
        return te.compute((batch, out_channels // L, out_height, out_width, L),
                          lambda n, kb, h, w, kl: out(n, kb * L + kl, h, w), name="out")
    return te.compute((batch, out_channels, out_height, out_width), out, name="out")


def schedule_winograd(sch: Any, target: Target, attrs: dict[str, Any], write_back: Any) -> None:
    """write_back: the block storing the output (the "out" stage or the epilogue's last).
    An image whose transforms outgrow the caches runs in bands of output rows, serially: each
    band's stages run in parallel on data that stays in the last-level cache."""
    from convrnn.compiler import tvm_adapter as tvm_

    lanes = target.vector_lanes
    stages = blocks_by_name(sch)
    m = attrs["tile"]
    out_channels = tvm_.loop_extent(sch, sch.get_loops(stages["m"])[4])
    channels = tvm_.loop_extent(sch, sch.get_loops(stages["v"])[4])
    out_loops = sch.get_loops(write_back)
    out_height, out_width = (tvm_.loop_extent(sch, loop) for loop in out_loops[2:4])
    rows, cols = tiles(out_height, out_width, m)
    default = default_band_rows(out_height, out_width, channels, out_channels, m)
    band_rows = largest_divisor(rows, int(with_knobs({"band_rows": default}, attrs)["band_rows"]))
    band = None  # the loop over bands of output rows, outermost and serial
    if band_rows < rows and out_height % m == 0:
        n, channel, h, *_ = out_loops
        outer, _ = sch.split(h, factors=[None, band_rows * m])
        sch.reorder(n, outer, channel)
        band = sch.fuse(n, outer)
    enclosing = int(band is not None)  # loops above each stage's own

    def own_loops(stage: str) -> list:
        """The stage computed where its consumer is (in the band, if any); its own loops."""
        if band is not None:
            sch.compute_at(stages[stage], band, preserve_unit_loops=True)
        return sch.get_loops(stages[stage])[enclosing:]

    band_tiles = (band_rows if band is not None else rows) * cols
    knobs = with_knobs(winograd_knobs(band_tiles, out_channels, lanes, band is not None), attrs)
    if band is not None:
        knobs["p_tile"] = largest_divisor(band_tiles, int(knobs["p_tile"]))

    # the output transform, the GEMM of each transform point in register tiles, the input
    # transform, the padding: each consumer placed before its producer
    n, p, i, j, k, e = own_loops("y16")
    _transform_per_tile(sch, stages["y16"], stages["t2"], n, p, k, [i, j, e])
    own_loops("m")
    tile_reduction(sch, stages["m"], None, [None, None, None, knobs["p_tile"], knobs["k_tile"]], 4, lanes,
                   outer_loops=enclosing)
    e, nu, n, p, c, b = own_loops("v")
    _transform_per_tile(sch, stages["v"], stages["t1"], n, p, c, [e, nu, b])
    parallel_fused(sch, own_loops("pad")[:3])

    parallel_fused(sch, sch.get_loops(write_back)[enclosing:3])  # rows of NCHW; LLVM vectorizes the columns
    if attrs.get("block", 0):
        vectorize_innermost(sch, write_back, lanes)  # NCHW{L}: whole channel blocks


def _transform_per_tile(sch: Any, block: Any, first_half: Any, image: Any, tile: Any, channel: Any,
                        points: list) -> None:
    """A transform's second half (`block`) run per (image, tile, channel block) in parallel,
    with its first half computed right there; `points`: block's loops over transform points."""
    channel_block, lane = sch.split(channel, factors=[None, CHANNEL_BLOCK])
    sch.reorder(image, tile, channel_block, *points, lane)
    parallel_fused(sch, [image, tile])
    sch.compute_at(first_half, channel_block)
    _unrolled_points(sch, block, points, lane)
    *_, outer_point, inner_point, first_lane, reduced = sch.get_loops(first_half)
    sch.reorder(outer_point, inner_point, reduced, first_lane)
    _unrolled_points(sch, first_half, [outer_point, inner_point, reduced], first_lane)


def _unrolled_points(sch: Any, block: Any, points: list, lane: Any) -> None:
    """A transform stage: the channel lane vectorized and the loops over transform points
    unrolled (their matrix entries, and the reduction's init test, fold to constants)."""
    sch.vectorize(lane)
    for loop in points:
        sch.unroll(loop)


@implements("llvm", "WinogradConv")
class WinogradConvOnCpu(Implementation):
    def schedule(self, sch, target, attrs):
        from convrnn.schedules.epilogue import inline_epilogue

        schedule_winograd(sch, target, attrs, inline_epilogue(sch, blocks_by_name(sch), "out"))

    def knob_space(self, inputs, attrs, outputs, target):
        channels = inputs[0].shape[1] * (attrs.get("in_block", 0) or 1)
        return winograd_knob_space(*outputs[0].shape[2:4], channels, inputs[1].shape[2] * CHANNEL_BLOCK,
                                   attrs["tile"], target.vector_lanes)
