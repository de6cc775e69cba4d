"""The input projection of a recurrence for all time steps at once: out = X · W + bias.

X is [a, b, inputs] with both leading dims symbolic (time steps and batch, in either
order): its rows are taken flat. W comes packed by column tile ([tiles, inputs, column_tile])
so a register tile streams contiguous weights. Rows go in tiles of `row_tile` (every weight
vector loaded once per tile), the rows left over one at a time; (row tile x column tile)
tasks run in parallel.
"""
from __future__ import annotations

from typing import Any


def projection_primfunc(inputs: int, columns: int, column_tile: int, row_tile: int) -> Any:
    from tvm.script import tirx as T

    if columns % column_tile:
        raise ValueError(f"column tile {column_tile} does not divide {columns} columns")
    tiles = columns // column_tile

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
        for task in T.parallel(a * b % row_tile * tiles):
            row_block(X, W, Bias, O, a * b // row_tile * row_tile + task // tiles, task % tiles, 1)

    return projection


def pack_columns(weight_t: Any, column_tile: int) -> Any:
    """[inputs, columns] -> [columns / column_tile, inputs, column_tile] (numpy)."""
    inputs, columns = weight_t.shape
    return weight_t.reshape(inputs, columns // column_tile, column_tile).transpose(1, 0, 2).copy()
