"""Elementwise ONNX ops: activations, math, arithmetic, comparison, logic and Where.

Attributes get their per-opset defaults here, so the IR ops always carry explicit values.
"""
from convrnn.frontend.registry import converter

_SAME_NAME_UNARY = ("Relu", "Sigmoid", "Tanh", "HardSwish", "Softplus", "Erf", "Exp", "Log", "Sqrt",
                    "Abs", "Neg", "Reciprocal", "Floor", "Ceil", "Not")
_SAME_NAME_BINARY = ("Add", "Sub", "Mul", "Div", "Pow", "PRelu", "Equal", "Less", "LessOrEqual",
                     "Greater", "GreaterOrEqual", "And", "Or")


@converter(*_SAME_NAME_UNARY, since=1)
def convert_unary(ctx):
    return ctx.emit(ctx.node.op_type, [ctx.required_input(0)])


@converter("LeakyRelu", since=1)
def convert_leaky_relu(ctx):
    return ctx.emit("LeakyRelu", [ctx.required_input(0)], {"alpha": float(ctx.attr("alpha", 0.01))})


@converter("Elu", since=1)
def convert_elu(ctx):
    return ctx.emit("Elu", [ctx.required_input(0)], {"alpha": float(ctx.attr("alpha", 1.0))})


@converter("HardSigmoid", since=1)
def convert_hard_sigmoid(ctx):
    attrs = {"alpha": float(ctx.attr("alpha", 0.2)), "beta": float(ctx.attr("beta", 0.5))}
    return ctx.emit("HardSigmoid", [ctx.required_input(0)], attrs)


@converter("Clip", since=1)
def convert_clip_attributes(ctx):
    # Before opset 11 the bounds are attributes; absent means unbounded.
    return ctx.emit("Clip", [ctx.required_input(0)], {"min": ctx.attr("min"), "max": ctx.attr("max")})


@converter("Clip", since=11)
def convert_clip_inputs(ctx):
    bounds = {}
    for index, key in ((1, "min"), (2, "max")):
        array = ctx.constant(index, key)  # None when the optional input is absent
        if array is not None and array.size != 1:
            raise ctx.error(f"{key} must be a scalar, got shape {array.shape}")
        bounds[key] = None if array is None else array.reshape(()).item()
    return ctx.emit("Clip", [ctx.required_input(0)], bounds)


# The operand that leaves the other unchanged, and on which side it may stand.
_NEUTRAL = {"Add": (0, (0, 1)), "Sub": (0, (1,)), "Mul": (1, (0, 1)), "Div": (1, (1,))}


def _unchanged(ctx, a, b):
    """The operand that the op leaves as it is (x + 0, x * 1, as exporters write assignments:
    Paddle's `y = x` in a loop body), or None."""
    neutral, sides = _NEUTRAL.get(ctx.node.op_type, (None, ()))
    for side in sides:
        x, other = (a, b) if side == 1 else (b, a)
        array = ctx.builder.constant_of(other)
        if (array is not None and array.size == 1 and other.type.rank <= x.type.rank
                and other.type.dtype == x.type.dtype and array.reshape(-1)[0] == neutral):
            return x
    return None


@converter(*_SAME_NAME_BINARY, since=7)
def convert_binary(ctx):
    a, b = ctx.required_input(0), ctx.required_input(1)
    kept = _unchanged(ctx, a, b)
    if kept is not None:
        return [kept]
    return ctx.emit(ctx.node.op_type, [a, b])


# Math ops that joined ONNX after opset 7, by the opset that introduced them.
@converter("Sin", "Cos", "Tan", "Asin", "Acos", "Atan", since=7)
@converter("Sinh", "Cosh", "Sign", "IsNaN", since=9)
@converter("Round", since=11)
def convert_math_unary(ctx):
    return ctx.emit(ctx.node.op_type, [ctx.required_input(0)])


@converter("IsInf", since=10)
def convert_is_inf(ctx):
    attrs = {"detect_negative": int(ctx.attr("detect_negative", 1)),
             "detect_positive": int(ctx.attr("detect_positive", 1))}
    return ctx.emit("IsInf", [ctx.required_input(0)], attrs)


@converter("Xor", since=7)
def convert_xor(ctx):
    return ctx.emit("Xor", [ctx.required_input(0), ctx.required_input(1)])


@converter("Mod", since=10)
def convert_mod(ctx):
    fmod = int(ctx.attr("fmod", 0))
    if fmod not in (0, 1):
        raise ctx.error(f"fmod must be 0 or 1, got {fmod}")
    return ctx.emit("Mod", [ctx.required_input(0), ctx.required_input(1)], {"fmod": fmod})


@converter("Max", "Min", since=8)
def convert_variadic_max_min(ctx):
    values = [ctx.required_input(i) for i in range(len(ctx.node.input))]
    if len(values) == 1:
        return values
    result = values[0]
    for i, value in enumerate(values[1:], start=2):
        result = ctx.emit1(ctx.node.op_type, [result, value], temp=i < len(values))
    return [result]


@converter("Where", since=9)
def convert_where(ctx):
    return ctx.emit("Where", [ctx.required_input(0), ctx.required_input(1), ctx.required_input(2)])

