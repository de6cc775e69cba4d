"""The input projection of a recurrence for all time steps at once: out = X · W + bias.

X is [a, b, inputs] with both leading dims symbolic (time steps and batch, in either
order): its rows are taken flat. W comes packed by column tile ([tiles, inputs, column_tile])
so a register tile streams contiguous weights. Rows go in tiles of `row_tile` (every weight
vector loaded once per tile); the rows left over (the row count is symbolic) in at most one
tile each of 8, 4, 2 and 1 rows, the binary digits of their count, so that each weight
vector is loaded at most four more times rather than once per leftover row (T=100 at 8 rows
a tile: 0.61 ms with 4 single rows, against 0.58 for T=96, on the CRNN's 640x1024 layer);
(row tile x column tile) tasks run in parallel.
"""
from __future__ import annotations

from typing import Any

from convrnn.schedules.implementations import Implementation, implements

MAX_ROW_TILE = 16


def row_tile_choices(column_tile: int, lanes: int) -> list[int]:
    """Row tiles whose accumulators (rows x the column tile's vectors) fit the registers."""
    from convrnn.schedules.cpu.tiling import accumulators

    vectors = max(column_tile // lanes, 1)
    return [rows for rows in range(1, MAX_ROW_TILE + 1) if rows * vectors <= accumulators(lanes)]


def projection_primfunc(inputs: int, columns: int, column_tile: int, row_tile: int) -> Any:
    from tvm.script import tirx as T

    if columns % column_tile:
        raise ValueError(f"column tile {column_tile} does not divide {columns} columns")
    if not 1 <= row_tile <= MAX_ROW_TILE:
        raise ValueError(f"row tile {row_tile} is not in 1..{MAX_ROW_TILE} (its leftover tiles are 8, 4, 2, 1 rows)")
    tiles = columns // column_tile
    # Leftover tiles (< row_tile rows in all): present sizes, and 0 for absent ones, which run no task.
    s8, s4, s2, s1 = (size if size < row_tile else 0 for size in (8, 4, 2, 1))

    @T.macro
    def row_block(X, W, Bias, O, first_row, tile, rows):
        acc = T.alloc_buffer((rows, column_tile), "float32", scope="local")
        for r in T.unroll(rows):
            for jj in T.vectorized(column_tile):
                acc[r, jj] = Bias[tile * column_tile + jj]
        for k in range(inputs):
            for r in T.unroll(rows):
                for jj in T.vectorized(column_tile):
                    acc[r, jj] = acc[r, jj] + X[first_row + r, k] * W[tile, k, jj]
        for r in T.unroll(rows):
            for jj in T.vectorized(column_tile):
                O[first_row + r, tile * column_tile + jj] = acc[r, jj]

    @T.macro
    def leftover_tile(X, W, Bias, O, rows, size):
        # A tile of `size` rows (0: none) runs when that binary digit of the leftover count is
        # set; it starts after the rows of the larger digits (the count is < 16).
        for task in T.parallel(rows % row_tile // T.max(size, 1) % 2 * T.min(size, 1) * tiles):
            row_block(X, W, Bias, O, rows - rows % row_tile % (2 * T.max(size, 1)), task, T.max(size, 1))

    @T.prim_func
    def projection(x_h: T.handle, w_h: T.handle, b_h: T.handle, o_h: T.handle):
        T.func_attr({"tirx.noalias": True})
        a = T.int32()
        b = T.int32()
        X3 = T.match_buffer(x_h, (a, b, inputs), "float32")
        W = T.match_buffer(w_h, (tiles, inputs, column_tile), "float32")
        Bias = T.match_buffer(b_h, (columns,), "float32")
        O3 = T.match_buffer(o_h, (a, b, columns), "float32")
        X = T.decl_buffer((a * b, inputs), "float32", data=X3.data)
        O = T.decl_buffer((a * b, columns), "float32", data=O3.data)
        for task in T.parallel(a * b // row_tile * tiles):
            row_block(X, W, Bias, O, task // tiles * row_tile, task % tiles, row_tile)
        leftover_tile(X, W, Bias, O, a * b, s8)
        leftover_tile(X, W, Bias, O, a * b, s4)
        leftover_tile(X, W, Bias, O, a * b, s2)
        leftover_tile(X, W, Bias, O, a * b, s1)

    return projection


def pack_columns(weight_t: Any, column_tile: int) -> Any:
    """[inputs, columns] -> [columns / column_tile, inputs, column_tile] (numpy)."""
    inputs, columns = weight_t.shape
    return weight_t.reshape(inputs, columns // column_tile, column_tile).transpose(1, 0, 2).copy()


@implements("llvm", "RecurrentProjection")
class RecurrentProjectionOnCpu(Implementation):
    def primfunc(self, input_types, attrs, output_types, target):
        _, width, column_tile = input_types[1].shape
        row_tile = (attrs.get("knobs") or {}).get("row_tile", attrs["row_tile"])
        return projection_primfunc(width, output_types[0].shape[2], column_tile, row_tile)

    def knob_space(self, inputs, attrs, outputs, target):
        """Rows per register tile (the column tile is fixed at import, where W is packed for it)."""
        return {"row_tile": row_tile_choices(attrs["column_tile"], target.vector_lanes)}
