"""Turn eligible 3x3 convolutions into Winograd convolutions (schedules/ops/winograd_conv.py).

Eligible: a 2-d Conv with a constant weight, 3x3 window, stride 1, dilation 1, one group,
static channel and spatial sizes, channel counts that are multiples of the transforms'
channel block; chosen (choose_winograd) for an output of at least MIN_OUTPUT_POSITIONS
positions, channels whose harmonic mean 2CK/(C+K) is at least MIN_CHANNEL_MEAN, and at least
MIN_MULTIPLY_ADDS per image (WIDE_MIN_MULTIPLY_ADDS from a channel mean of WIDE_CHANNEL_MEAN).
The transforms' cost grows with C + K, the saved multiplies with C x K, so
their ratio (the harmonic mean) decides. Measured here (untuned, one layer each, against the
direct conv): 128 -> 64 channels over 900 x 161 1.8x faster, 64 -> 64 over 200 x 161 1.6x,
64 -> 32 over 900 x 161 and 32 -> 64 over 100 x 100 1.3x, 64 -> 32 over 56 x 56 even,
32 -> 32 over 450 x 80 (harmonic mean 32) even; layers of 9-29M multiply-adds (16-32 channels at
64x64-32x32, 64 at 28x28) as fast or up to 1.6x slower. Smaller outputs than 8x8
(ResNet-18's 7x7 layers) have too few tiles to amortize a weight grown 16/9 times.
benchmarks/winograd_choice.py times both forms of 42 layers (32-512 channels, 6x19 to 28x28).
Every layer of channel mean 128-341 with 10-50M multiply-adds ran as fast or faster as Winograd:
1.00-1.28x, each after a 1x1 conv so that it reads a blocked input as inside a network (128 ->
128 over 14x14 1.28x and over 9x9 1.00x, 128 -> 256 over 6x19 1.26x, 256 -> 256 over 9x9 1.26x);
below a mean of 128 such layers went either way (0.66-1.55x, reading the graph's input).

An image whose transformed input or product (alpha² x tiles x C or K floats) outgrows the caches
runs in bands of tile rows (schedules/winograd.py, band_tile_rows), which also keeps each band's
buffers within TVM 0.27's 32-bit sizes at a symbolic batch. An output height that is no multiple
of the tile cannot be banded: above MAX_TRANSFORM_ELEMENTS such a layer stays direct.

Tile 2, F(2x2, 3x3), rounds like the direct conv (schedules/winograd.py); the weight is
transformed once, here, in float64.
"""
from __future__ import annotations

from convrnn.compiler.ir import Graph, NameGenerator, Node, TensorType, Value
from convrnn.schedules.conv_layout import unpack_weight
from convrnn.schedules.winograd import CHANNEL_BLOCK, band_tile_rows, transform_weight

TILE = 2
MIN_OUTPUT_POSITIONS = 8 * 8
MIN_MULTIPLY_ADDS = 50_000_000
MIN_CHANNEL_MEAN = 40
WIDE_CHANNEL_MEAN = 128  # from this channel mean on, layers from WIDE_MIN_MULTIPLY_ADDS gain
WIDE_MIN_MULTIPLY_ADDS = 10_000_000
MAX_TRANSFORM_ELEMENTS = 1 << 24


def _eligible(node: Node, weight) -> bool:
    attrs = node.attrs
    if node.op != "Conv" or weight is None or list(attrs["kernel_shape"]) != [3, 3]:
        return False
    if list(attrs["strides"]) != [1, 1] or list(attrs["dilations"]) != [1, 1] or attrs["group"] != 1:
        return False
    x, out = node.inputs[0].type, node.outputs[0].type
    if not all(isinstance(d, int) for d in (*x.shape[1:], *out.shape[1:])) or x.dtype != "float32":
        return False
    tiles = -(-out.shape[2] // TILE) * -(-out.shape[3] // TILE)
    channels, out_channels = x.shape[1], out.shape[1]
    if channels % CHANNEL_BLOCK or out_channels % CHANNEL_BLOCK:
        return False
    # whole, or in bands, the transforms fit the caches; else only the whole-image limit applies
    fits_in_bands = band_tile_rows(*out.shape[2:4], channels, out_channels, TILE) is not None
    if not fits_in_bands and (TILE + 2) ** 2 * tiles * max(channels, out_channels) > MAX_TRANSFORM_ELEMENTS:
        return False
    return choose_winograd(channels, out_channels, *out.shape[2:4])


def choose_winograd(channels: int, out_channels: int, out_height: int, out_width: int) -> bool:
    """Whether a conv that can run as Winograd should: it is expected to run faster so."""
    positions = out_height * out_width
    multiply_adds = positions * out_channels * channels * 9
    wide = 2 * channels * out_channels >= WIDE_CHANNEL_MEAN * (channels + out_channels)
    return (positions >= MIN_OUTPUT_POSITIONS and multiply_adds >= (WIDE_MIN_MULTIPLY_ADDS if wide else MIN_MULTIPLY_ADDS)
            and 2 * channels * out_channels >= MIN_CHANNEL_MEAN * (channels + out_channels))


def select_winograd(graph: Graph) -> Graph:
    constants = dict(graph.constants)
    constant_values = dict(graph.constant_values)
    names = NameGenerator(v.name for v in graph.values())
    replaced: dict[int, Node] = {}
    for node in graph.nodes:
        weight_value = node.inputs[1] if len(node.inputs) > 1 else None
        weight = constants.get(weight_value.name) if weight_value is not None else None
        if not _eligible(node, weight):
            continue
        if node.attrs.get("weight_block", 0):
            weight = unpack_weight(weight)
        transformed = transform_weight(weight, TILE)
        u = Value(names(f"{weight_value.name}_winograd"), TensorType(transformed.shape, transformed.dtype))
        constants[u.name], constant_values[u.name] = transformed, u
        attrs = {"tile": TILE, "pads": list(node.attrs["pads"]), "epilogue": node.attrs.get("epilogue", [])}
        replaced[id(node)] = Node("WinogradConv", (node.inputs[0], u, *node.inputs[2:]), node.outputs, attrs,
                                  name=node.name)
    if not replaced:
        return graph
    # the replaced weights are read no more and go
    return graph.with_nodes([replaced.get(id(n), n) for n in graph.nodes], constants, constant_values)
