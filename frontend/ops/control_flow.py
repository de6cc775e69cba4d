"""If with a condition known at compile time: the taken branch is inlined into the graph.

Exporters emit such Ifs (e.g. on a shape test); a data-dependent If is not supported.
"""
from convrnn.frontend.registry import converter


@converter("If", since=1)
def convert_if(ctx):
    condition = ctx.constant(0, "condition")
    if condition.size != 1:
        raise ctx.error(f"condition must hold one element, it has shape {list(condition.shape)}")
    branch = ctx.attr("then_branch") if bool(condition.reshape(-1)[0]) else ctx.attr("else_branch")
    outputs = ctx.convert_subgraph(branch)
    if len(outputs) != len(ctx.node.output):
        raise ctx.error(f"the taken branch has {len(outputs)} outputs, the node {len(ctx.node.output)}")
    return outputs
