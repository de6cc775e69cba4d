"""The knobs of the recurrent kernels and their untuned defaults, in one place (pure Python).

Step kernel (schedules/cpu/recurrent.py):
  tile         hidden units per block of the packed weights, and per task at batch 1: the gate
               accumulators are gates x tile float32 lanes,
               vectorized by LLVM in pieces of the target's vector width. Tasks (directions x
               hidden tiles) are split across the cores; a smaller tile makes more, smaller tasks.
  rows_tile    hidden units per task at other batches: a divisor of tile, narrower so that
               register blocks of rows fit (the kernel picks its loop by the batch at run time).
  rows         batch rows per register block: a block loads each weight vector once for all
               its rows; rows x gates x rows_tile accumulator lanes must fit the target's
               accumulator registers (schedules/cpu/tiling.py: 24 on AVX-512, 12 on AVX2). A batch
               of 1 never pays for it. Both are chosen when the kernel is built, for its target
               (`batch_rows_tile`, `batch_rows`), unless a node's knobs or attrs (an import
               override) set them.
  packed       recurrent weights are always pre-packed per tile ([dir, tile, k, gate, lane]) so
               that each task streams one contiguous block that stays hot in its core's cache.
  split        how the threads share a step's tasks: "tiles" (all tasks of a step shared, a
               barrier after each step) or "directions" (a thread runs one direction's whole
               time loop, no barrier). Default: directions when the threads are no more than
               the directions (a bidirectional layer on 2 cores), else tiles.
  serial       1: all tasks of a step on the calling thread, no parallel region and no barrier
               at all; 0: shared as `split` says. Default: 1 at batch 1 for one direction whose
               step is too small to pay for a barrier (`default_serial`, SERIAL_WORK), or with
               one thread; 0 at other batches (or wherever a split was chosen). Such a layer
               is packed in whole tiles too (no second task per core: `knobs`).
Projection GEMM (schedules/cpu/recurrent_gemm.py):
  column_tile  output columns per register tile (a multiple of the vector width)
  row_tile     rows (time steps x batch) per register tile; the rest run one row at a time.

The converter packs weights with tile and column_tile at import (the target is not known yet,
so they assume 16 float32 lanes and 2 cores) and they reach the kernels as node attributes.
`convrnn tune` searches `rows_tile` (`rows_tile_choices`: divisors of the packed tile), `rows`
(`rows_choices`) and, for more than one direction, `split` (for one, on more than one thread,
`serial`); none needs repacking: the choice reaches the kernel in the node's "knobs" attribute.
"""
from __future__ import annotations

from typing import Optional

# Vectors of hidden units per task: at batch 1 (no register blocks of rows to fit) 4, at
# other batches up to 2, which leaves registers for blocks of rows. A step of a bidirectional
# LSTM 128 took 3.4-4.0 us with 4 against 5.0 us with 2 (LSTM 256: 6.5 against 6.7 us).
BATCH_1_VECTORS = 4
ROWS_VECTORS = 2
# Rows per register block at batch > 1 (4 divides the usual batch sizes: leftover rows run one
# at a time), at the widest task whose blocks fit the accumulators. At batch 16 on AVX-512
# (steps of both layers, ms): LSTM 256 T=100 4.6-5.4 with 1 vector x 4 rows against 5.0-5.9
# with 2 x 2; GRU 512 T=50 6.5-6.8 with 2 x 4 against 7.4-8.8 with 2 x 2.
ROWS = 4


def step_tile(hidden: int, directions: int, lanes: int, cores: int = 2, vectors: int = 2) -> int:
    """Hidden units per task: up to `vectors` whole vectors, no more than the hidden size
    needs, and at least one task per core where possible."""
    tile = min(vectors * lanes, -(-hidden // lanes) * lanes)
    while tile > lanes and directions * -(-hidden // tile) < cores:
        tile //= 2
    return tile


def _accumulators(lanes: int) -> int:
    from convrnn.schedules.cpu.tiling import accumulators  # (imports TVM: this module does not)

    return accumulators(lanes)


def batch_rows_tile(hidden: int, directions: int, gates: int, tile: int, lanes: int) -> int:
    """Units per task at batch > 1 on a target of `lanes` lanes: the widest (up to ROWS_VECTORS
    vectors, dividing the packed tile) whose blocks of ROWS rows fit the accumulators."""
    vectors = max(1, min(ROWS_VECTORS, _accumulators(lanes) // (ROWS * gates)))
    narrow = step_tile(hidden, directions, lanes, vectors=vectors)
    return narrow if tile % narrow == 0 else tile


def batch_rows(gates: int, rows_tile: int, lanes: int) -> int:
    """Rows per register block: up to ROWS, as many as the accumulators allow."""
    return max(1, min(ROWS, _accumulators(lanes) * lanes // (gates * rows_tile)))


def rows_tile_choices(tile: int, lanes: int) -> list[int]:
    """What a tuner may try for `rows_tile`: whole vectors of units that divide the packed tile."""
    return [width for width in range(lanes, tile + 1, lanes) if tile % width == 0] or [tile]


def rows_choices(gates: int, tile: int, lanes: int) -> list[int]:
    """What a tuner may try for `rows`: every count whose accumulators fit the registers."""
    vectors = gates * -(-tile // lanes)
    return [rows for rows in range(1, 9) if rows * vectors <= _accumulators(lanes)] or [1]


SPLITS = ["tiles", "directions"]


# A phase of a step (a barrier's worth of work: a step, or one of the two phases of a GRU without
# linear_before_reset) with fewer multiply-adds than this for one direction at batch 1 (hidden x
# gates x hidden, over the phases) runs faster on the calling thread alone than shared by two
# with a barrier after it. Measured at T=200 on 2 cores (ms, one thread / tiles shared; the
# shared ones moved by up to 2x between runs on a loaded machine, the lone ones hardly):
# GRU 25 (linear_before_reset) 0.069 / 0.147, GRU 64 0.10 / 0.16-0.40, GRU 128 (two phases)
# 0.30 / 0.38-0.60, LSTM 32 0.064 / 0.19, LSTM 64 0.142 / 0.133-0.234, RNN 256 0.35 / 0.51;
# past it sharing wins: LSTM 96 0.35 / 0.32-0.49, GRU 128 (linear_before_reset) 0.31 / 0.29.
SERIAL_WORK = 32768


def default_serial(hidden: int, directions: int, gates: int, threads: int, phases: int = 1) -> bool:
    """Whether a batch of 1 runs on the calling thread alone: always with one thread; with
    more, for one direction whose phases are too small to pay for a barrier each (two
    directions share the threads without barriers: split "directions")."""
    return threads == 1 or (directions == 1 and hidden * gates * hidden < SERIAL_WORK * phases)


def default_split(directions: int, threads: int) -> str:
    """Directions, when each thread can own one: splitting tiles as well buys those threads
    nothing but a barrier per step."""
    return "directions" if 1 < directions and threads <= directions else "tiles"



def knobs(hidden: int, directions: int, gates: int, lanes: int, overrides: Optional[dict] = None) -> dict:
    """The import-time knobs: tile (the packing's block and a batch-1 task), the projection's
    column_tile and row_tile, and any override (rows_tile, rows, split, serial: otherwise chosen
    when the kernel is built)."""
    # a layer whose batch of 1 runs on one thread (default_serial) needs no second task per core
    cores = 1 if default_serial(hidden, directions, gates, threads=2) else 2
    chosen = {"tile": step_tile(hidden, directions, lanes, cores, vectors=BATCH_1_VECTORS), "column_tile": 2 * lanes,
              "row_tile": 8}
    chosen.update(overrides or {})
    return chosen
