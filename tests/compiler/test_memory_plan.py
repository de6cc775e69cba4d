
from convrnn.compiler.ir import Graph, Node, TensorType, Value
from convrnn.compiler.lower import KernelCall
from convrnn.compiler.memory_plan import plan_memory


def _plan(graph, views=()):
    calls = [KernelCall(n, None if n.name in views else n.op) for n in graph.nodes]
    return plan_memory(graph, calls)


def _values(*names, shape=(4, 16)):
    return [Value(n, TensorType(shape, "float32")) for n in names]


def test_chain_reuses_buffers_and_keeps_outputs_apart():
    x, a, b, c, d = _values("x", "a", "b", "c", "d")
    nodes = [Node("Relu", (x,), (a,), name="n1"), Node("Relu", (a,), (b,), name="n2"),
             Node("Relu", (b,), (c,), name="n3"), Node("Relu", (c,), (d,), name="n4")]
    plan = _plan(Graph([x], [d], nodes))
    # x and b (and a and c) can share: two ping-pong buffers plus the output's own.
    assert len(plan.slot_bytes) == 3
    assert plan.slot_of["x"] == plan.slot_of["b"] and plan.slot_of["a"] == plan.slot_of["c"]
    assert [plan.slot_of["d"]] == [s for s in range(3) if s not in (plan.slot_of["x"], plan.slot_of["a"])]
    assert plan.peak_bytes == 3 * 4 * 16 * 4


def test_no_kernel_writes_into_a_buffer_it_reads():
    x, a, b = _values("x", "a", "b")
    nodes = [Node("Relu", (x,), (a,), name="n1"), Node("Add", (a, x), (b,), name="n2")]
    plan = _plan(Graph([x], [b], nodes))
    assert len({plan.slot_of[n] for n in ("x", "a", "b")}) == 3


def test_view_keeps_its_base_alive():
    x, a, c, d = _values("x", "a", "c", "d")
    v = Value("v", TensorType((64,), "float32"))
    nodes = [Node("Relu", (x,), (a,), name="n1"), Node("Reshape", (a,), (v,), {"shape": [64]}, name="view"),
             Node("Relu", (x,), (c,), name="n3"), Node("Relu", (v,), (d,), name="n4")]
    plan = _plan(Graph([x], [d], nodes), views={"view"})
    assert plan.view_of == {"v": "a"}
    assert plan.slot_of["c"] != plan.slot_of["a"]  # a is still read through v by n4


def test_symbolic_sizes_are_estimated_with_dims_at_one():
    x, a = _values("x", "a", shape=("batch", 16))
    plan = _plan(Graph([x], [a], [Node("Relu", (x,), (a,), name="n")]))
    assert plan.slot_bytes == [64, 64]
