"""Compile-time use of the tuning database: each tunable node takes the knobs of its task's
fastest record for this target (among records whose knobs its template still takes), unless
those lost to the defaults in the model (TuningDatabase.chosen); a node without such a record
keeps its template's defaults."""
from __future__ import annotations

from convrnn.compiler.ir import Graph
from convrnn.compiler.target import Target
from convrnn.compiler.tuning.database import TuningDatabase
from convrnn.compiler.tuning.tasks import knob_space, task_key, with_knobs


def apply_tuning(graph: Graph, db: TuningDatabase, target: Target) -> Graph:
    nodes = []
    for node in graph.nodes:
        space = knob_space(node, target)
        best = db.chosen(str(target), task_key(node), space=space) if space else None
        nodes.append(with_knobs(node, best["knobs"]) if best and best["knobs"] else node)
    return graph.replace(nodes=nodes)
