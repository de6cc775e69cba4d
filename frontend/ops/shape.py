"""Shape and Size: always resolved at import time (frontend/symbolic_shapes.py); this converter only
exists so that a Shape it could not resolve fails clearly."""
from convrnn.frontend.registry import converter


@converter("Shape", since=1)
def convert_shape(ctx):
    raise ctx.unsupported("Shape of a tensor whose shape is not known at compile time")


@converter("Size", since=1)
def convert_size(ctx):
    raise ctx.unsupported("Size of a tensor whose shape is not known at compile time")
