"""Tile-size heuristics and schedule helpers shared by the CPU templates (conv, dense, pool).

Register budget: AVX-512 has 32 vector registers; keeping at most ACCUMULATORS of them as
accumulators leaves room for the weight vectors and broadcast operands. AVX2 has 16: half
the budget (`accumulators`).
"""
from __future__ import annotations

from typing import Any, Optional

from convrnn.compiler import tvm_adapter as tvm_
from convrnn.schedules.cpu.generic import vector_factor

ACCUMULATORS = 24
MIN_FMAS_PER_LOAD = 1.5  # fewer, and the loads bound a broadcast tile
MAX_UNROLLED_REDUCTION = 16  # steps of a reduction loop unroll_short_reduction unrolls


def accumulators(lanes: int) -> int:
    """Accumulator registers of a register tile for a target of `lanes` float32 lanes."""
    return ACCUMULATORS if lanes >= 16 else ACCUMULATORS // 2


def vector_registers(lanes: int) -> int:
    return 32 if lanes >= 16 else 16


def broadcast_tile_registers(positions: int, vectors: int) -> int:
    """Vector registers a broadcast register tile holds live: positions x vectors accumulators,
    the weight vectors, and each position's broadcast input while more than one vector uses it
    (LLVM keeps every broadcast of a step for its reuse across the weight vectors)."""
    return positions * vectors + (positions if vectors > 1 else 1) + vectors


def useful_share(extent: Optional[int], tile: int) -> float:
    """The share of whole tiles covering `extent` that lies inside it (1 where symbolic)."""
    return 1.0 if extent is None else extent / (-(-extent // tile) * tile)


def broadcast_tile_score(positions: int, vectors: int) -> float:
    """How fast a broadcast tile of positions x vectors accumulators runs, relatively: measured
    here on dense convs, the share of the FMA peak grew with the accumulators (8: 52%, 14-16:
    63-68%, 20: 70-79%) while there were at least MIN_FMAS_PER_LOAD FMAs per load (positions
    + vectors loads a step; below, about the square of the shortfall: 14 x 1 ran at 34%). A
    row computed padded pays about the square of its useful share on top (useful_share; 7
    positions: 7 x 2 ran 63%, 4 x 4 over 8 56%, 5 x 4 over 10 49%)."""
    fmas_per_load = positions * vectors / (positions + vectors)
    return positions * vectors * min(1.0, fmas_per_load / MIN_FMAS_PER_LOAD) ** 2


def largest_divisor(extent: Optional[int], limit: int) -> int:
    """The largest divisor of extent that is <= limit (1 for a symbolic extent)."""
    if not extent:
        return 1
    for factor in range(min(limit, extent), 0, -1):
        if extent % factor == 0:
            return factor
    return 1


def row_tile(extent: Optional[int], limit: int) -> int:
    """A tile for a loop held in registers: a divisor of extent when a good one exists,
    otherwise `limit` itself (the last tile is then partial and guarded)."""
    if extent is None:
        return limit
    divisor = largest_divisor(extent, limit)
    return divisor if 2 * divisor > min(limit, extent) else min(limit, extent)


def vector_tile(extent: Optional[int], lanes: int, limit: int) -> int:
    """A tile <= limit for a vectorized loop: a multiple of the widest power-of-two vector
    (4..lanes) dividing extent, itself dividing extent; an odd extent gets one short vector.
    A symbolic extent is not tiled (1)."""
    if extent is None:
        return 1
    width = vector_factor(extent, lanes)
    if width == 1:
        return largest_divisor(extent, min(limit, lanes))
    return width * largest_divisor(extent // width, max(limit // width, 1))


def blocks_by_name(sch: Any) -> dict[str, Any]:
    return {tvm_.block_name(sch, block): block for block in tvm_.blocks(sch)}


def with_knobs(defaults: dict[str, Any], attrs: dict[str, Any]) -> dict[str, Any]:
    """Defaults overridden by a node's `knobs` attr (what a tuner attaches)."""
    knobs = dict(defaults)
    knobs.update(attrs.get("knobs") or {})
    return knobs


def split_tiles(sch: Any, loops: list, factors: list[Optional[int]]) -> tuple[list, list]:
    """Split each loop by its factor (None: leave whole); returns (outer loops, tile loops)."""
    outer, inner = [], []
    for loop, factor in zip(loops, factors):
        if factor is None:
            outer.append(loop)
        else:
            tile_outer, tile_inner = sch.split(loop, factors=[None, factor])
            outer.append(tile_outer)
            inner.append(tile_inner)
    return outer, inner


def parallel_fused(sch: Any, loops: list) -> Any:
    fused = sch.fuse(*loops) if len(loops) > 1 else loops[0]
    sch.parallel(fused)
    return fused


def tile_reduction(sch: Any, reduction: Any, epilogue: Optional[Any], factors: list[Optional[int]],
                   vector_axis: int, lanes: int, layout_block: int = 0,
                   outer_order: Optional[list[int]] = None, serial_last: bool = False,
                   outer_loops: int = 0, unroll_reduction: bool = False) -> Any:
    """The register-blocked form of a reduction block over an output tile; returns the fused
    parallel loop over tiles (a producer computed per tile goes there).

    epilogue: the injective block consuming the reduction (bias, divisor), or None to add a
    copy-out block; factors: a tile size for each output axis (None: not tiled); vector_axis:
    the output axis vectorized; layout_block: when vectorizing an axis other than the last,
    the cache gets that axis's tile as its innermost dim so the accumulators are contiguous;
    outer_order: a permutation of the output axes for the loops over tiles (default: in order);
    serial_last: the last of those loops runs serially inside the parallel one (a task per row
    of tiles: a symbolic extent's tile index then costs no division per tile);
    outer_loops: how many loops enclose the block's own (a band it is computed in), left as they are;
    unroll_reduction: unroll the innermost reduction loop too (see unroll_short_reduction).
    """
    if epilogue is None:
        # `reduction` now accumulates into a local cache; the returned block copies it out.
        epilogue = sch.cache_write(reduction, 0, "local")
    else:
        sch.set_scope(reduction, 0, "local")
    if layout_block:
        sch.transform_layout(reduction, ("write", 0), lambda *index: (
            *index[:vector_axis], index[vector_axis] // layout_block, *index[vector_axis + 1:],
            index[vector_axis] % layout_block))
    outer, tile = split_tiles(sch, sch.get_loops(epilogue)[outer_loops:], factors)
    if outer_order is not None:
        outer = [outer[axis] for axis in outer_order]
    sch.reorder(*outer, *tile)
    if serial_last and len(outer) > 1:
        tiles = parallel_fused(sch, outer[:-1])
        hold_in_registers(sch, reduction, outer[-1], vector_axis, lanes, unroll_reduction)
    else:
        tiles = parallel_fused(sch, outer)
        hold_in_registers(sch, reduction, tiles, vector_axis, lanes, unroll_reduction)
    vectorize_innermost(sch, epilogue, lanes)
    return tiles


def hold_in_registers(sch: Any, block: Any, at: Any, vector_axis: int, lanes: int,
                      unroll_reduction: bool = False) -> None:
    """Compute a reduction block's output tile at loop `at`, accumulating in registers.

    The tile's reduction loops go outside it, the init is split off, the spatial axis
    `vector_axis` (an index among the block's spatial iterators) becomes the innermost loop,
    vectorized, and every other tile loop is unrolled (and the innermost reduction loop,
    with unroll_reduction).
    """
    sch.compute_at(block, at, preserve_unit_loops=True)
    loops = sch.get_loops(block)[-len(tvm_.block_iter_kinds(sch, block)):]
    kinds = tvm_.block_iter_kinds(sch, block)
    spatial = [loop for loop, kind in zip(loops, kinds) if kind == "S"]
    reduction = [loop for loop, kind in zip(loops, kinds) if kind == "R"]
    vector = spatial.pop(vector_axis)
    sch.reorder(*reduction, *spatial, vector)
    # Vectorize while the block still has its init (a block without one is not "compact"),
    # then split the init off in front of the reduction loops.
    vectorize_and_unroll(sch, block, len(spatial) + 1, lanes)
    init = sch.decompose_reduction(block, reduction[0])
    vectorize_and_unroll(sch, init, len(spatial) + 1, lanes)
    if unroll_reduction:
        unroll_short_reduction(sch, reduction[-1])


def unroll_short_reduction(sch: Any, loop: Any) -> None:
    """Unroll a register tile's innermost reduction loop where it is static and at most
    MAX_UNROLLED_REDUCTION long (a channel block's lanes): straight-line FMAs, as MLAS's conv
    kernels run them, keep the FMA ports busier (a 32 -> 64 channel 3 x 3 conv over 25 x 77: 70%
    of the FMA peak as a 16-step loop, 77-85% unrolled, in alternating runs)."""
    extent = tvm_.loop_extent(sch, loop)
    if extent is not None and 1 < extent <= MAX_UNROLLED_REDUCTION:
        sch.unroll(loop)


def vectorize_and_unroll(sch: Any, block: Any, tile_loops: int, lanes: int) -> None:
    tile = sch.get_loops(block)[-tile_loops:]
    _vectorize(sch, tile[-1], lanes)
    for loop in tile[:-1]:
        if tvm_.loop_extent(sch, loop) != 1:
            sch.unroll(loop)


def vectorize_innermost(sch: Any, block: Any, lanes: int) -> None:
    """Vectorize a block's innermost loop (a register tile's write-back)."""
    _vectorize(sch, sch.get_loops(block)[-1], lanes)


def _vectorize(sch: Any, loop: Any, lanes: int) -> None:
    """Vectorize a static loop, in unrolled pieces of the widest vector dividing it."""
    extent = tvm_.loop_extent(sch, loop)
    if not extent or extent == 1:
        return
    width = vector_factor(extent, lanes)
    if 1 < width < extent:
        pieces, loop = sch.split(loop, factors=[None, width])
        sch.unroll(pieces)
    sch.vectorize(loop)


def schedule_rows(sch: Any, block: Any) -> None:
    """An injective stage (padding, weight packing) run as rows: the outer loops fused and
    parallel, the innermost left whole for LLVM to vectorize (a per-element parallel loop
    spends more on index arithmetic than on the copy)."""
    loops = sch.get_loops(block)
    if len(loops) > 1:
        parallel_fused(sch, loops[:-1])
