"""The CPU time-loop kernels of LSTM, GRU and RNN, written in TIR (TVMScript).

One kernel runs a whole layer, its tasks (direction x tile of hidden units) split among the
threads in one of two ways (knob `split`, schedules/cpu/recurrent_knobs.py):
  tiles       a serial loop over time steps around a parallel loop over all tasks, with a
              barrier after each step: any number of threads can share a step;
  directions  a parallel loop over directions around each direction's own time loop: a
              thread walks its direction's steps alone, with no barrier at all (a bidirectional
              layer on two cores: a step of the CRNN's LSTM 128 went from 3.3 to 2.6 us);
or not at all (knob `serial`): the calling thread runs every task of every step, with no
parallel region (a GRU 25 of 200 steps: 0.15 ms shared by two threads, 0.07 ms alone). The
states are loaded and stored by the calling thread in every case (a fork and join of the
pool costs more than copying them).
A task accumulates its gates' lanes from the projected input XW plus
h_prev · Rᵀ (weights pre-packed per tile: RT[dir, tile, k, gate, lane]), then applies the
activations and the state update. h is double-buffered by step parity because other tasks
still read h_prev during the step; c is updated in place (a task owns its units). A task
takes the batch in register blocks of `rows` rows (each weight vector loaded once per block),
the rows left over one at a time; knobs and defaults: schedules/cpu/recurrent_knobs.py.

Shared semantics (all three cells): step s of a sequence of length L (its sequence_lens entry,
or seq) is time s going forward and L - 1 - s in reverse; from s = L on the state is carried
unchanged and Y[s] is zero. A sequence of length 0 ends with zero states, as in onnxruntime
(not its initial ones). Hidden units are padded to a multiple of the tile (Hp); padded
lanes compute garbage that nothing reads. Index expressions are written inline (Python helpers
returning expressions): let-bindings inside vectorized loops miscompile in TVM 0.27.

Absent optional inputs arrive as small zero constants with `has_*` flags set to 0.
"""
from __future__ import annotations

from types import SimpleNamespace as Kernel
from typing import Any

from convrnn.schedules.implementations import Implementation, implements
from convrnn.schedules.ops.recurrent import GATES
from convrnn.schedules.recurrent_activations import expr as activation_expr

F32 = "float32"
# The time loop runs inside ONE parallel region per call (every thread walks all steps, takes
# its share of each step's tasks, then waits at a spin barrier): a fork-join per step costs
# more than a whole step at batch 1. Pragmas of TVM's CPU codegen (codegen_cpu).
LAUNCH_ONCE = "pragma_parallel_launch_point"
BARRIER_AFTER = "pragma_parallel_barrier_when_finish"


class _Shape:
    """The static facts of one layer, and the index helpers the templates share."""

    def __init__(self, attrs: dict, gates: int, tile: int, rows: int, split: str, serial: bool = False):
        self.H = attrs["hidden_size"]
        self.D = attrs["num_directions"]
        self.PACK = attrs["tile"]  # hidden units per block of the packed weights
        self.TILE = tile           # hidden units per task: the packing's, or a divisor of it
        self.Hp = -(-self.H // self.PACK) * self.PACK
        self.NB = self.Hp // self.TILE
        self.G = gates
        self.reverse = attrs["reverse"]  # direction 0 runs backwards (direction 1 always does)
        self.clip = attrs.get("clip")
        self.acts = attrs["activations"]  # per direction: [[name, alpha, beta], ...]
        self.has_lens = bool(attrs["has_lens"])
        # ONNX layout 1: X, Y and the states batch-first, read and written in place (no transposes)
        self.layout = int(attrs.get("layout", 0))
        # Y's axes in layout 0: ONNX's order, or PyTorch's (passes/fold_sequence_transpose.py)
        self.y_order = attrs.get("y_order", "sdbh")
        # Y unused: the kernel writes none of it (its buffer is a 1x1x1x1 placeholder)
        self.store_y = bool(attrs.get("store_y", 1))
        self.ROWS = rows  # batch rows per register block
        self.split = split  # "tiles" or "directions": how the threads share the tasks
        # or all on the calling thread: no parallel region, no barrier (a layer too small to
        # gain from a second thread: schedules/cpu/recurrent_knobs.py, `serial`)
        self.serial = serial

    # --- buffer shapes and indices in the layer's layout ---------------------------------------
    def xw_shape(self, seq, batch, columns):
        return (batch, seq, columns) if self.layout else (seq, batch, columns)

    def y_index(self, t, d, b, j):
        if self.layout:
            return (b, t, d, j)
        return (t, b, d, j) if self.y_order == "sbdh" else (t, d, b, j)

    def y_shape(self, seq, batch):
        return self.y_index(seq, self.D, batch, self.H) if self.store_y else (1, 1, 1, 1)

    def state_index(self, d, b, j):
        return (b, d, j) if self.layout else (d, b, j)

    def packed_shape(self, gates):
        return (self.D, self.Hp // self.PACK, self.H, gates, self.PACK)

    def packed(self, RT, task, k, g, jj):
        """The packed weight of lane jj of this task's tile (a tile may be part of a block)."""
        first = self.unit(task, 0)
        return RT[task // self.NB, first // self.PACK, k, g, first % self.PACK + jj]

    # --- index helpers (inline expressions) ------------------------------------------------
    def d(self, task):
        return task // self.NB

    def unit(self, task, jj):
        return task % self.NB * self.TILE + jj

    def length(self, SL, b, seq):
        return SL[b] if self.has_lens else seq

    def running(self, SL, seq, s, b0, rows):
        """Whether every sequence of rows b0 .. b0 + rows - 1 is still running at step s."""
        from convrnn.compiler.tvm_adapter import tirx

        return tirx.all(*[s < self.length(SL, b0 + r, seq) for r in range(rows)])

    def time(self, s, length, task):
        reverse = self.reverse + self.d(task)
        return s + reverse * (length - 1 - 2 * s)

    def xw(self, XW, t, b, task, gate, jj):
        column = (self.d(task) * self.G + gate) * self.Hp + self.unit(task, jj)
        return XW[b, t, column] if self.layout else XW[t, b, column]

    # --- gate arithmetic ---------------------------------------------------------------------
    def pre(self, v):
        """A gate's pre-activation, clipped when the layer has `clip`."""
        from convrnn.compiler.tvm_adapter import tirx

        if self.clip is None:
            return v
        return tirx.min(tirx.max(v, tirx.const(-self.clip, F32)), tirx.const(self.clip, F32))

    def act(self, index: int, v, task):
        """Activation `index` (f, g or h) of this task's direction."""
        from convrnn.compiler.tvm_adapter import tirx

        forms = [activation_expr(v, *self.acts[d][index]) for d in range(self.D)]
        if self.D == 1 or self.acts[0][index] == self.acts[1][index]:
            return forms[0]
        return tirx.Select(self.d(task) == 0, forms[0], forms[1])


def _macros(shape: _Shape):
    """The pieces every cell's kernel shares. Step macros take `k`, the kernel's buffers and
    symbolic dims by name (a namespace built in the kernel with T.meta_var)."""
    from tvm.script import tirx as T

    H, D, TILE, Hp, NB, ROWS = shape.H, shape.D, shape.TILE, shape.Hp, shape.NB, shape.ROWS

    @T.macro
    def check_lengths(SL, nl, seq, batch):
        if shape.has_lens:
            assert nl == batch, "sequence_lens must have one entry per batch row of X"
            for b in range(batch):
                assert 0 <= SL[b] and SL[b] <= seq, "sequence_lens entries must lie in [0, seq_length]"

    @T.macro
    def check_state(has, rows, batch):
        if has:
            assert rows == batch, "an initial state must have the batch size of X"

    @T.macro
    def load_state(S, parity, S0, has, batch):
        for db in T.serial(D * batch):
            for j in T.vectorized(Hp):
                S[parity, db // batch, db % batch, j] = T.if_then_else(
                    j < H, S0[shape.state_index(db // batch, db % batch * has, T.min(j, H - 1))], T.float32(0))

    @T.macro
    def start_gates(acc, first, k, s, task, b0, rows, gates):
        """acc[r, first + g] = the projected input (XW, biases included) of gates first .. first + gates - 1."""
        for r in T.unroll(rows):
            for g in T.unroll(gates):
                for jj in T.vectorized(TILE):
                    acc[r, first + g, jj] = shape.xw(k.XW, shape.time(s, shape.length(k.SL, b0 + r, k.seq), task),
                                                  b0 + r, task, first + g, jj)

    @T.macro
    def gemv(acc, first, HS, cur, RT, task, b0, rows, gates):
        """acc[r, first + g] += h_prev[b0 + r] · R_gᵀ for this task's lanes and RT's gates:
        each weight vector is loaded once for the block's rows."""
        for k in range(H):
            for g in T.unroll(gates):
                for r in T.unroll(rows):
                    for jj in T.vectorized(TILE):
                        acc[r, first + g, jj] = acc[r, first + g, jj] + \
                            HS[cur, task // NB, b0 + r, k] * shape.packed(RT, task, k, g, jj)

    @T.macro
    def finished(k, s, task, b):
        """A row whose sequence has ended: its state carried, its output at step s zero."""
        for jj in T.vectorized(TILE):
            k.HS[(s + 1) % 2, task // NB, b, task % NB * TILE + jj] = k.HS[s % 2, task // NB, b, task % NB * TILE + jj]
        if shape.store_y:
            for jj in T.serial(TILE):
                if task % NB * TILE + jj < H:
                    T.buffer_store(k.Y, T.float32(0), shape.y_index(s, task // NB, b, task % NB * TILE + jj))

    @T.macro
    def store_y(Y, t, HS, s, task, b):
        if shape.store_y:
            if H == Hp:
                for jj in T.vectorized(TILE):
                    T.buffer_store(Y, HS[(s + 1) % 2, task // NB, b, task % NB * TILE + jj],
                                   shape.y_index(t, task // NB, b, task % NB * TILE + jj))
            else:
                for jj in T.serial(TILE):
                    if task % NB * TILE + jj < H:
                        T.buffer_store(Y, HS[(s + 1) % 2, task // NB, b, task % NB * TILE + jj],
                                       shape.y_index(t, task // NB, b, task % NB * TILE + jj))

    @T.macro
    def store_final(YH, HS, parity, SL, batch):
        """The final states; a row of length 0 ends with zeros, not its initial state (as
        onnxruntime does)."""
        for db in T.serial(D * batch):
            for j in T.serial(H):
                if shape.has_lens:
                    T.buffer_store(YH, T.if_then_else(SL[db % batch] > 0, HS[parity, db // batch, db % batch, j],
                                                      T.float32(0)), shape.state_index(db // batch, db % batch, j))
                else:
                    T.buffer_store(YH, HS[parity, db // batch, db % batch, j],
                                   shape.state_index(db // batch, db % batch, j))

    def steps(body, finished):
        """`phase(k, s)`: one time step of every (task, batch row), tasks shared among the
        threads, then a barrier. Rows go through `body(k, s, task, b0, rows)` in blocks of ROWS
        where the whole block is still running, else one by one; rows whose sequence has ended
        go through `finished(k, s, task, b)`."""

        @T.macro
        def step_rows(k, s, task, first, last):
            for b in range(first, last):
                if s < shape.length(k.SL, b, k.seq):
                    body(k, s, task, b, 1)
                else:
                    finished(k, s, task, b)

        @T.macro
        def step(k, s, task):
            if ROWS > 1:  # a batch of 1 gets no block code
                for block in range(k.batch // ROWS):
                    if shape.running(k.SL, k.seq, s, block * ROWS, ROWS):
                        body(k, s, task, block * ROWS, ROWS)
                    else:
                        step_rows(k, s, task, block * ROWS, block * ROWS + ROWS)
            step_rows(k, s, task, k.batch // ROWS * ROWS if ROWS > 1 else 0, k.batch)

        @T.macro
        def shared(k, s):
            if D * NB > 1:  # (a loop of one task is no loop, and a launch needs one)
                with T.attr(0, BARRIER_AFTER, 1):
                    for task in T.parallel(D * NB):
                        step(k, s, task)
            else:
                step(k, s, 0)

        @T.macro
        def own(k, s, d):
            for tile in range(NB):
                step(k, s, d * NB + tile)

        @T.macro
        def alone(k, s):
            for task in range(D * NB):
                step(k, s, task)

        return Kernel(shared=shared, own=own, alone=alone)

    def over_time(first, second=None):
        """The time loop around one step's phases (a phase: all tasks of one `steps(...)`; the
        second, if any, starts when the first has ended), split among the threads as the
        `split` knob says: inside one parallel region with a barrier after each phase, or
        one direction per thread."""

        @T.macro
        def shared(k, s):
            first.shared(k, s)
            if second is not None:
                second.shared(k, s)

        @T.macro
        def own(k, s, d):
            first.own(k, s, d)
            if second is not None:
                second.own(k, s, d)

        @T.macro
        def alone(k, s):
            first.alone(k, s)
            if second is not None:
                second.alone(k, s)

        @T.macro
        def loop(k):
            if shape.serial:
                for s in range(k.seq):
                    alone(k, s)
            elif shape.split == "directions" and D > 1:
                for d in T.parallel(D):
                    for s in range(k.seq):
                        own(k, s, d)
            elif D * NB > 1:
                with T.attr(0, LAUNCH_ONCE, 1):
                    for s in range(k.seq):
                        shared(k, s)
            else:
                for s in range(k.seq):
                    shared(k, s)

        return loop

    return check_lengths, check_state, load_state, start_gates, gemv, finished, store_y, store_final, steps, over_time


def _time_loops(attrs: dict, gates: int, make_loop, lanes: int):
    """The time loop, chosen by the batch at run time: a batch of 1 in tasks of the packing's
    whole blocks, other batches in tasks of `rows_tile` units with register blocks of `rows`
    rows (a tuner's choice, an import override, or the defaults for a target of `lanes`
    lanes), the tasks split among the threads as `split` says (likewise, or the default for
    this process's threads), or all on the calling thread as `serial` says (likewise; by
    default a batch of 1 of a layer too small to share); and the latter's shape."""
    from tvm.script import tirx as T

    from convrnn.runtime.threads import pool_threads
    from convrnn.schedules.cpu.recurrent_knobs import batch_rows, batch_rows_tile, default_serial, default_split

    def chosen(knob):  # a tuner's choice, else an import override, else None (the default)
        return (attrs.get("knobs") or {}).get(knob, attrs.get(knob))

    pack, directions, hidden = attrs["tile"], attrs["num_directions"], attrs["hidden_size"]
    tile = int(chosen("rows_tile") or batch_rows_tile(hidden, directions, gates, pack, lanes))
    if pack % tile:
        raise ValueError(f"rows_tile {tile} does not divide the packed tile {pack}")
    rows = int(chosen("rows") or batch_rows(gates, tile, lanes))
    split = chosen("split") or default_split(directions, pool_threads())
    serial = chosen("serial")
    if serial is None and chosen("split"):  # a split chosen (tuned, or set at import): shared
        serial = 0
    phases = 2 if attrs.get("linear_before_reset", 1) == 0 else 1  # a GRU's z, r, then its h gate
    serial_1 = default_serial(hidden, directions, gates, pool_threads(), phases) if serial is None else bool(serial)
    serial_rows = bool(serial) if serial is not None else pool_threads() == 1
    narrow = _Shape(attrs, gates, tile, rows, split, serial_rows)
    rows_loop = make_loop(narrow, attrs)
    if tile == pack and serial_1 == serial_rows:
        return rows_loop, narrow
    batch_1_loop = make_loop(_Shape(attrs, gates, pack, 1, split, serial_1), attrs)

    @T.macro
    def by_batch(k):
        if k.batch == 1:
            batch_1_loop(k)
        else:
            rows_loop(k)

    return by_batch, narrow


def _lstm_loop(sh: _Shape, attrs: dict):
    from tvm.script import tirx as T

    TILE, NB = sh.TILE, sh.NB
    _, _, _, start_gates, gemv, finished, store_y, _, steps, over_time = _macros(sh)
    input_forget = attrs["input_forget"]

    def forget(i_gate, f_pre, c_prev, p_f, task):
        if input_forget:
            return T.float32(1) - i_gate
        return sh.act(0, sh.pre(f_pre + p_f * c_prev), task)

    @T.macro
    def body(k, s, task, b0, rows):
        acc = T.alloc_buffer((rows, 4, TILE), F32, scope="local")
        start_gates(acc, 0, k, s, task, b0, rows, 4)
        gemv(acc, 0, k.HS, s % 2, k.RT, task, b0, rows, 4)
        for r in T.unroll(rows):
            # input gate, then c (in place), then o and h from the new c (peepholes: i, o, f)
            for jj in T.vectorized(TILE):
                acc[r, 0, jj] = sh.act(0, sh.pre(acc[r, 0, jj] + k.P[task // NB, 0, task % NB * TILE + jj]
                                                 * k.CS[0, task // NB, b0 + r, task % NB * TILE + jj]), task)
            for jj in T.vectorized(TILE):
                k.CS[0, task // NB, b0 + r, task % NB * TILE + jj] = (
                    forget(acc[r, 0, jj], acc[r, 2, jj], k.CS[0, task // NB, b0 + r, task % NB * TILE + jj],
                           k.P[task // NB, 2, task % NB * TILE + jj], task)
                    * k.CS[0, task // NB, b0 + r, task % NB * TILE + jj]
                    + acc[r, 0, jj] * sh.act(1, sh.pre(acc[r, 3, jj]), task))
            for jj in T.vectorized(TILE):
                k.HS[(s + 1) % 2, task // NB, b0 + r, task % NB * TILE + jj] = sh.act(0, sh.pre(
                    acc[r, 1, jj] + k.P[task // NB, 1, task % NB * TILE + jj]
                    * k.CS[0, task // NB, b0 + r, task % NB * TILE + jj]), task) * sh.act(
                    2, k.CS[0, task // NB, b0 + r, task % NB * TILE + jj], task)
            store_y(k.Y, sh.time(s, sh.length(k.SL, b0 + r, k.seq), task), k.HS, s, task, b0 + r)

    return over_time(steps(body, finished))


def lstm_primfunc(attrs: dict, lanes: int) -> Any:
    from tvm.script import tirx as T

    time_loop, sh = _time_loops(attrs, 4, _lstm_loop, lanes)
    H, D, Hp = sh.H, sh.D, sh.Hp
    check_lengths, check_state, load_state, *_, store_final, _, _ = _macros(sh)
    has_h0, has_c0 = attrs["has_initial_h"], attrs["has_initial_c"]

    @T.prim_func
    def lstm(xw_h: T.handle, rt_h: T.handle, p_h: T.handle, sl_h: T.handle, h0_h: T.handle, c0_h: T.handle,
             y_h: T.handle, yh_h: T.handle, yc_h: T.handle):
        T.func_attr({"tirx.noalias": True})
        seq = T.int32()
        batch = T.int32()
        nl = T.int32()
        hb = T.int32()
        cb = T.int32()
        XW = T.match_buffer(xw_h, sh.xw_shape(seq, batch, D * 4 * Hp), F32)
        RT = T.match_buffer(rt_h, sh.packed_shape(4), F32)
        P = T.match_buffer(p_h, (D, 3, Hp), F32)
        SL = T.match_buffer(sl_h, (nl,), "int32")
        H0 = T.match_buffer(h0_h, sh.state_index(D, hb, H), F32)
        C0 = T.match_buffer(c0_h, sh.state_index(D, cb, H), F32)
        Y = T.match_buffer(y_h, sh.y_shape(seq, batch), F32)
        YH = T.match_buffer(yh_h, sh.state_index(D, batch, H), F32)
        YC = T.match_buffer(yc_h, sh.state_index(D, batch, H), F32)
        HS = T.alloc_buffer((2, D, batch, Hp), F32)
        CS = T.alloc_buffer((1, D, batch, Hp), F32)
        k = T.meta_var(Kernel(XW=XW, RT=RT, P=P, SL=SL, Y=Y, HS=HS, CS=CS, seq=seq, batch=batch))
        check_lengths(SL, nl, seq, batch)
        check_state(bool(has_h0), hb, batch)
        check_state(bool(has_c0), cb, batch)
        load_state(HS, 0, H0, has_h0, batch)
        load_state(CS, 0, C0, has_c0, batch)
        time_loop(k)
        store_final(YH, HS, seq % 2, SL, batch)
        store_final(YC, CS, 0, SL, batch)

    return lstm


def gru_primfunc(attrs: dict, lanes: int) -> Any:
    """Gates z, r, h; the weights of z and r (RT) and of h (RTh) are packed apart so that each
    pass streams contiguous memory. With linear_before_reset the h gate's recurrent part (plus its bias RB)
    is gated by r after the product, so one pass per step suffices; without it the product
    reads r ⊙ h_prev of every unit, so a step runs two parallel phases: z, r and r ⊙ h_prev
    (into RH), then the h gate and the update."""
    from tvm.script import tirx as T

    time_loop, sh = _time_loops(attrs, 3, _gru_loop, lanes)
    H, D, Hp = sh.H, sh.D, sh.Hp
    check_lengths, check_state, load_state, *_, store_final, _, _ = _macros(sh)
    has_h0 = attrs["has_initial_h"]

    @T.prim_func
    def gru(xw_h: T.handle, rt_h: T.handle, rth_h: T.handle, rb_h: T.handle, sl_h: T.handle, h0_h: T.handle,
            y_h: T.handle, yh_h: T.handle):
        T.func_attr({"tirx.noalias": True})
        seq = T.int32()
        batch = T.int32()
        nl = T.int32()
        hb = T.int32()
        XW = T.match_buffer(xw_h, sh.xw_shape(seq, batch, D * 3 * Hp), F32)
        RT = T.match_buffer(rt_h, sh.packed_shape(2), F32)
        RTh = T.match_buffer(rth_h, sh.packed_shape(1), F32)
        RB = T.match_buffer(rb_h, (D, Hp), F32)
        SL = T.match_buffer(sl_h, (nl,), "int32")
        H0 = T.match_buffer(h0_h, sh.state_index(D, hb, H), F32)
        Y = T.match_buffer(y_h, sh.y_shape(seq, batch), F32)
        YH = T.match_buffer(yh_h, sh.state_index(D, batch, H), F32)
        HS = T.alloc_buffer((2, D, batch, Hp), F32)
        Z = T.alloc_buffer((1, D, batch, Hp), F32)
        RH = T.alloc_buffer((1, D, batch, Hp), F32)
        k = T.meta_var(Kernel(XW=XW, RT=RT, RTh=RTh, RB=RB, SL=SL, Y=Y, HS=HS, Z=Z, RH=RH, seq=seq, batch=batch))
        check_lengths(SL, nl, seq, batch)
        check_state(bool(has_h0), hb, batch)
        load_state(HS, 0, H0, has_h0, batch)
        time_loop(k)
        store_final(YH, HS, seq % 2, SL, batch)

    return gru


def _gru_loop(sh: _Shape, attrs: dict):
    from tvm.script import tirx as T

    TILE, NB = sh.TILE, sh.NB
    _, _, _, start_gates, gemv, finished, store_y, _, steps, over_time = _macros(sh)
    linear_before_reset = bool(attrs["linear_before_reset"])

    @T.macro
    def update(k, s, task, b0, rows, acc):
        """h from z (acc[r, 0]) and the activated h gate (acc[r, 2])."""
        for r in T.unroll(rows):
            for jj in T.vectorized(TILE):
                k.HS[(s + 1) % 2, task // NB, b0 + r, task % NB * TILE + jj] = (
                    (T.float32(1) - acc[r, 0, jj]) * acc[r, 2, jj]
                    + acc[r, 0, jj] * k.HS[s % 2, task // NB, b0 + r, task % NB * TILE + jj])
            store_y(k.Y, sh.time(s, sh.length(k.SL, b0 + r, k.seq), task), k.HS, s, task, b0 + r)

    @T.macro
    def fused_body(k, s, task, b0, rows):
        acc = T.alloc_buffer((rows, 3, TILE), F32, scope="local")
        start_gates(acc, 0, k, s, task, b0, rows, 2)
        for r in T.unroll(rows):
            for jj in T.vectorized(TILE):
                acc[r, 2, jj] = k.RB[task // NB, task % NB * TILE + jj]
        gemv(acc, 0, k.HS, s % 2, k.RT, task, b0, rows, 2)
        gemv(acc, 2, k.HS, s % 2, k.RTh, task, b0, rows, 1)
        for r in T.unroll(rows):
            for jj in T.vectorized(TILE):
                acc[r, 0, jj] = sh.act(0, sh.pre(acc[r, 0, jj]), task)
            for jj in T.vectorized(TILE):
                acc[r, 2, jj] = sh.act(1, sh.pre(
                    sh.xw(k.XW, sh.time(s, sh.length(k.SL, b0 + r, k.seq), task), b0 + r, task, 2, jj)
                    + sh.act(0, sh.pre(acc[r, 1, jj]), task) * acc[r, 2, jj]), task)
        update(k, s, task, b0, rows, acc)

    @T.macro
    def reset_body(k, s, task, b0, rows):
        acc = T.alloc_buffer((rows, 2, TILE), F32, scope="local")
        start_gates(acc, 0, k, s, task, b0, rows, 2)
        gemv(acc, 0, k.HS, s % 2, k.RT, task, b0, rows, 2)
        for r in T.unroll(rows):
            for jj in T.vectorized(TILE):
                k.Z[0, task // NB, b0 + r, task % NB * TILE + jj] = sh.act(0, sh.pre(acc[r, 0, jj]), task)
            for jj in T.vectorized(TILE):
                k.RH[0, task // NB, b0 + r, task % NB * TILE + jj] = sh.act(0, sh.pre(acc[r, 1, jj]), task) \
                    * k.HS[s % 2, task // NB, b0 + r, task % NB * TILE + jj]

    @T.macro
    def candidate_body(k, s, task, b0, rows):
        acc = T.alloc_buffer((rows, 3, TILE), F32, scope="local")
        start_gates(acc, 2, k, s, task, b0, rows, 1)
        gemv(acc, 2, k.RH, 0, k.RTh, task, b0, rows, 1)
        for r in T.unroll(rows):
            for jj in T.vectorized(TILE):
                acc[r, 0, jj] = k.Z[0, task // NB, b0 + r, task % NB * TILE + jj]
            for jj in T.vectorized(TILE):
                acc[r, 2, jj] = sh.act(1, sh.pre(acc[r, 2, jj]), task)
        update(k, s, task, b0, rows, acc)

    @T.macro
    def nothing(k, s, task, b):
        T.evaluate(0)

    if linear_before_reset:
        return over_time(steps(fused_body, finished))
    return over_time(steps(reset_body, nothing), steps(candidate_body, finished))


def _rnn_loop(sh: _Shape, attrs: dict):
    from tvm.script import tirx as T

    TILE, NB = sh.TILE, sh.NB
    _, _, _, start_gates, gemv, finished, store_y, _, steps, over_time = _macros(sh)

    @T.macro
    def body(k, s, task, b0, rows):
        acc = T.alloc_buffer((rows, 1, TILE), F32, scope="local")
        start_gates(acc, 0, k, s, task, b0, rows, 1)
        gemv(acc, 0, k.HS, s % 2, k.RT, task, b0, rows, 1)
        for r in T.unroll(rows):
            for jj in T.vectorized(TILE):
                k.HS[(s + 1) % 2, task // NB, b0 + r, task % NB * TILE + jj] = sh.act(0, sh.pre(acc[r, 0, jj]), task)
            store_y(k.Y, sh.time(s, sh.length(k.SL, b0 + r, k.seq), task), k.HS, s, task, b0 + r)

    return over_time(steps(body, finished))


def rnn_primfunc(attrs: dict, lanes: int) -> Any:
    from tvm.script import tirx as T

    time_loop, sh = _time_loops(attrs, 1, _rnn_loop, lanes)
    H, D, Hp = sh.H, sh.D, sh.Hp
    check_lengths, check_state, load_state, *_, store_final, _, _ = _macros(sh)
    has_h0 = attrs["has_initial_h"]

    @T.prim_func
    def rnn(xw_h: T.handle, rt_h: T.handle, sl_h: T.handle, h0_h: T.handle, y_h: T.handle, yh_h: T.handle):
        T.func_attr({"tirx.noalias": True})
        seq = T.int32()
        batch = T.int32()
        nl = T.int32()
        hb = T.int32()
        XW = T.match_buffer(xw_h, sh.xw_shape(seq, batch, D * Hp), F32)
        RT = T.match_buffer(rt_h, sh.packed_shape(1), F32)
        SL = T.match_buffer(sl_h, (nl,), "int32")
        H0 = T.match_buffer(h0_h, sh.state_index(D, hb, H), F32)
        Y = T.match_buffer(y_h, sh.y_shape(seq, batch), F32)
        YH = T.match_buffer(yh_h, sh.state_index(D, batch, H), F32)
        HS = T.alloc_buffer((2, D, batch, Hp), F32)
        k = T.meta_var(Kernel(XW=XW, RT=RT, SL=SL, Y=Y, HS=HS, seq=seq, batch=batch))
        check_lengths(SL, nl, seq, batch)
        check_state(bool(has_h0), hb, batch)
        load_state(HS, 0, H0, has_h0, batch)
        time_loop(k)
        store_final(YH, HS, seq % 2, SL, batch)

    return rnn


def pack_recurrent(weights: Any, gates: int, tile: int) -> Any:
    """ONNX R [D, gates*H, H] -> RT [D, H/tile (rounded up), H, gates, tile] (numpy, zero-padded)."""
    import numpy as np

    directions, _, hidden = weights.shape
    padded = -(-hidden // tile) * tile
    r = np.zeros((directions, gates, padded, hidden), weights.dtype)
    r[:, :, :hidden] = weights.reshape(directions, gates, hidden, hidden)
    return r.reshape(directions, gates, padded // tile, tile, hidden).transpose(0, 2, 4, 1, 3).copy()


CELLS = {"LSTM": lstm_primfunc, "GRU": gru_primfunc, "RNN": rnn_primfunc}


@implements("llvm", "LSTM", "GRU", "RNN")
class RecurrentCellOnCpu(Implementation):
    def knob_space(self, inputs, attrs, outputs, target):
        """The hidden units per task at batch > 1 (divisors of the tile the weights are packed
        for at import) and the batch rows per register block, as many as the accumulator
        registers allow; with two directions, how the threads share the tasks, with one (and more
        than one thread) whether they share them at all."""
        from convrnn.runtime.threads import pool_threads
        from convrnn.schedules.cpu.recurrent_knobs import SPLITS, rows_choices, rows_tile_choices

        widths = rows_tile_choices(attrs["tile"], target.vector_lanes)
        # rows that fit the narrowest task's accumulators (wider tasks with many rows spill, and lose)
        space = {"rows": rows_choices(GATES[self.op], widths[0], target.vector_lanes)}
        if len(widths) > 1:
            space["rows_tile"] = widths
        if attrs["num_directions"] > 1:
            space["split"] = list(SPLITS)
        elif pool_threads() > 1:  # one direction: its tasks shared by the threads, or all on one
            space["serial"] = [0, 1]
        return space

    def primfunc(self, input_types, attrs, output_types, target):
        return CELLS[self.op](attrs, target.vector_lanes)
