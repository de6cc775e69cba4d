"""MatMul (opsets 1-21: numpy matmul semantics throughout) -> IR MatMul."""
from convrnn.frontend.registry import converter


@converter("MatMul", since=1)
def convert_matmul(ctx):
    return ctx.emit("MatMul", [ctx.required_input(0), ctx.required_input(1)])
