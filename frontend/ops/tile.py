"""Tile (opset 6+: a repeats vector, constant or made of symbolic dims from Shape arithmetic)."""
from convrnn.frontend.registry import converter


@converter("Tile", since=6)
def convert_tile(ctx):
    x = ctx.required_input(0)
    repeats = ctx.shape_vector(1, "repeats")
    if len(repeats) != x.type.rank:
        raise ctx.error(f"repeats has {len(repeats)} elements for an input of rank {x.type.rank}")
    if any(isinstance(r, int) and r < 0 for r in repeats):
        raise ctx.error(f"repeats {repeats} must not be negative")
    if 0 in repeats:
        raise ctx.unsupported(f"repeats {repeats}: a zero repeat (an empty result)")
    if all(r == 1 for r in repeats):
        return [x]
    return ctx.emit("Tile", [x], {"repeats": list(repeats)})
