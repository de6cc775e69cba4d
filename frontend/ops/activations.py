"""Selu, Celu, Softsign, ThresholdedRelu, Shrink, Mish, Gelu -> schedules/ops/activations.py,
with each attribute's ONNX default. Their later versions only widen the admitted types."""
from convrnn.frontend.registry import converter

# op -> its attributes and their defaults.
_DEFAULTS = {
    "Selu": {"alpha": 1.67326319217681884765625, "gamma": 1.05070102214813232421875},
    "Celu": {"alpha": 1.0},
    "Softsign": {},
    "ThresholdedRelu": {"alpha": 1.0},
    "Shrink": {"bias": 0.0, "lambd": 0.5},
    "Mish": {},
}


@converter("Selu", "Softsign", since=1)
@converter("ThresholdedRelu", since=10)
@converter("Shrink", since=9)
@converter("Celu", since=12)
@converter("Mish", since=18)
def convert_activation(ctx):
    attrs = {name: float(ctx.attr(name, default)) for name, default in _DEFAULTS[ctx.node.op_type].items()}
    return ctx.emit(ctx.node.op_type, [ctx.required_input(0)], attrs)


@converter("Gelu", since=20)
def convert_gelu(ctx):
    approximate = ctx.attr("approximate", "none")
    if approximate not in ("none", "tanh"):
        raise ctx.error(f"approximate must be 'none' or 'tanh', got {approximate!r}")
    return ctx.emit("Gelu", [ctx.required_input(0)], {"approximate": approximate})
