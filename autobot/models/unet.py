"""Mars-terrain U-Nets: one builder, variants as configuration rows.

``build_unet`` wires an encoder/decoder with optional squeeze-excite blocks,
attention-gated skips, a transformer bottleneck and a coarse dilated context path;
``UNET_VARIANTS`` names the combinations. Inputs are grayscale pixels in ``[0, 255]``;
outputs are per-pixel softmax probabilities over all classes (background included,
losses and metrics decide what counts).

References:
    Ronneberger et al., "U-Net", MICCAI 2015.
    Oktay et al., "Attention U-Net", MIDL 2018.
    Hu et al., "Squeeze-and-Excitation Networks", CVPR 2018.
    Chen et al., "TransUNet", 2021.
    Yu & Koltun, "Multi-Scale Context Aggregation by Dilated Convolutions", ICLR 2016.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import keras
from keras import layers

from autobot.models.layers import PositionEmbedding
from autobot.models.registry import register_model

__all__ = ["build_unet", "UNET_VARIANTS"]

#: BatchNorm momentum: 0.9 rather than Keras' 0.99, whose slow moving statistics left
#: eval-mode predictions far behind train-mode ones in short CPU runs.
BN_MOMENTUM = 0.9


# ----------------------------------------------------------------------------- blocks
def _squeeze_excite(prefix: str, ratio: int = 4) -> Callable:
    """Channel re-weighting from global context; cheap, and helps separate sand from soil."""

    def apply(x):
        f = x.shape[-1]
        s = layers.GlobalAveragePooling2D(keepdims=True, name=f"{prefix}_se_pool")(x)
        s = layers.Conv2D(max(4, f // ratio), 1, activation="relu", name=f"{prefix}_se_reduce")(s)
        s = layers.Conv2D(f, 1, activation="sigmoid", name=f"{prefix}_se_expand")(s)
        return layers.Multiply(name=f"{prefix}_se_scale")([x, s])

    return apply


def _conv_block(filters: int, prefix: str, se: bool = False, dilation: int = 1) -> Callable:
    """Two 3x3 conv + BN + ReLU, optionally followed by squeeze-excite."""

    def apply(x):
        for i in (1, 2):
            x = layers.Conv2D(filters, 3, padding="same", dilation_rate=dilation, use_bias=False,
                              name=f"{prefix}_conv{i}")(x)
            x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{prefix}_bn{i}")(x)
            x = layers.Activation("relu", name=f"{prefix}_relu{i}")(x)
        return _squeeze_excite(prefix)(x) if se else x

    return apply


def _attention_gate(prefix: str) -> Callable:
    """Additive attention gate: the decoder signal decides which skip pixels pass."""

    def apply(skip, gate):
        inter = max(8, skip.shape[-1] // 2)
        theta = layers.Conv2D(inter, 1, name=f"{prefix}_theta")(skip)
        phi = layers.Conv2D(inter, 1, name=f"{prefix}_phi")(gate)
        a = layers.Activation("relu", name=f"{prefix}_relu")(layers.Add(name=f"{prefix}_add")([theta, phi]))
        psi = layers.Conv2D(1, 1, activation="sigmoid", name=f"{prefix}_psi")(a)
        return layers.Multiply(name=f"{prefix}_gate")([skip, psi])

    return apply


def _transformer_bottleneck(dim: int, heads: int, depth: int, prefix: str) -> Callable:
    """Multi-head self-attention over bottleneck tokens with learned position embeddings."""

    def apply(x):
        h, w, c = x.shape[1], x.shape[2], x.shape[3]
        t = layers.Conv2D(dim, 1, name=f"{prefix}_in_proj")(x)
        t = layers.Reshape((h * w, dim), name=f"{prefix}_tokens")(t)
        t = PositionEmbedding(h * w, name=f"{prefix}_pos")(t)
        for i in range(depth):
            n = f"{prefix}_layer{i}"
            a = layers.LayerNormalization(epsilon=1e-6, name=f"{n}_ln1")(t)
            a = layers.MultiHeadAttention(heads, dim // heads, name=f"{n}_mha")(a, a)
            t = layers.Add(name=f"{n}_add1")([t, a])
            m = layers.LayerNormalization(epsilon=1e-6, name=f"{n}_ln2")(t)
            m = layers.Dense(dim * 2, activation="gelu", name=f"{n}_mlp1")(m)
            m = layers.Dense(dim, name=f"{n}_mlp2")(m)
            t = layers.Add(name=f"{n}_add2")([t, m])
        t = layers.LayerNormalization(epsilon=1e-6, name=f"{prefix}_ln_out")(t)
        t = layers.Reshape((h, w, dim), name=f"{prefix}_grid")(t)
        t = layers.Conv2D(c, 1, name=f"{prefix}_out_proj")(t)
        return layers.Add(name=f"{prefix}_residual")([x, t])

    return apply


def _context_path(filters: int, factor: int, prefix: str) -> Callable:
    """Coarse path: downsample, stacked dilated convs for a wide receptive field, upsample."""

    def apply(x):
        c = layers.AveragePooling2D(factor, name=f"{prefix}_down")(x)
        for d in (1, 2, 4, 8):
            c = layers.Conv2D(filters, 3, padding="same", dilation_rate=d, use_bias=False,
                              name=f"{prefix}_dil{d}")(c)
            c = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{prefix}_dil{d}_bn")(c)
            c = layers.Activation("relu", name=f"{prefix}_dil{d}_relu")(c)
        return layers.UpSampling2D(factor, interpolation="bilinear", name=f"{prefix}_up")(c)

    return apply


# ----------------------------------------------------------------------------- builder
def build_unet(
    input_shape: Sequence[int] = (64, 128, 1),
    num_classes: int = 5,
    base_filters: int = 16,
    depth: int = 4,
    se: bool = False,
    attention_gates: bool = False,
    transformer: bool = False,
    transformer_dim: int = 128,
    transformer_heads: int = 4,
    transformer_depth: int = 2,
    dual: bool = False,
    context_filters: int = 32,
    context_factor: int = 4,
    dropout: float = 0.1,
    name: str = "unet",
) -> keras.Model:
    """Build a U-Net for per-pixel classification.

    Args:
        input_shape: ``(H, W, C)``; H and W must be divisible by ``2**depth``.
        num_classes: Output channels (softmax over all classes, background included).
        base_filters: Filters at full resolution; doubled at each level.
        depth: Number of 2x downsamplings.
        se: Squeeze-excite after every conv block.
        attention_gates: Gate each skip connection with the decoder signal.
        transformer: Self-attention over bottleneck tokens (with position embeddings).
        transformer_dim: Token width of the transformer bottleneck.
        transformer_heads: Attention heads.
        transformer_depth: Transformer layers.
        dual: Add a coarse dilated context path, fused with the fine U-Net decoder output.
        context_filters: Filters of the context path.
        context_factor: Downsampling factor of the context path.
        dropout: Spatial dropout at the bottleneck.
        name: Model name.
    """
    h, w = input_shape[0], input_shape[1]
    if h % 2**depth or w % 2**depth:
        raise ValueError(f"input height and width must be divisible by 2**depth={2**depth}; got {tuple(input_shape)}")
    inputs = keras.Input(tuple(input_shape), name="image")
    x = layers.Rescaling(1 / 255.0, name="rescale")(inputs)
    stem = x
    skips = []
    for level in range(depth):
        x = _conv_block(base_filters * 2**level, f"enc{level}", se=se)(x)
        skips.append(x)
        x = layers.MaxPooling2D(2, name=f"enc{level}_pool")(x)
    x = _conv_block(base_filters * 2**depth, "bottleneck", se=se)(x)
    if dropout:
        x = layers.SpatialDropout2D(dropout, name="bottleneck_dropout")(x)
    if transformer:
        x = _transformer_bottleneck(transformer_dim, transformer_heads, transformer_depth, "transformer")(x)
    for level in reversed(range(depth)):
        filters = base_filters * 2**level
        x = layers.Conv2DTranspose(filters, 2, strides=2, padding="same", name=f"dec{level}_up")(x)
        skip = skips[level]
        if attention_gates:
            skip = _attention_gate(f"dec{level}_att")(skip, x)
        x = layers.Concatenate(name=f"dec{level}_concat")([x, skip])
        x = _conv_block(filters, f"dec{level}", se=se)(x)
    if dual:
        context = _context_path(context_filters, context_factor, "context")(stem)
        x = layers.Concatenate(name="fuse_concat")([x, context])
        x = _conv_block(base_filters, "fuse")(x)
    outputs = layers.Conv2D(num_classes, 1, activation="softmax", dtype="float32", name="probs")(x)
    return keras.Model(inputs, outputs, name=name)


#: Variant name -> build_unet arguments. A new variant is a new row.
UNET_VARIANTS: dict[str, dict] = {
    "unet": dict(),
    "unet_attention": dict(attention_gates=True),
    "unet_se": dict(se=True),
    "unet_transformer": dict(transformer=True),
    "dual_unet": dict(dual=True),
}


def _create(variant: str, **kw) -> keras.Model:
    return build_unet(**{**UNET_VARIANTS[variant], "name": variant, **kw})


@register_model("mars")
def unet(**kw) -> keras.Model:
    """Plain U-Net."""
    return _create("unet", **kw)


@register_model("mars")
def unet_attention(**kw) -> keras.Model:
    """U-Net with attention-gated skip connections."""
    return _create("unet_attention", **kw)


@register_model("mars")
def unet_se(**kw) -> keras.Model:
    """U-Net with squeeze-excite conv blocks."""
    return _create("unet_se", **kw)


@register_model("mars")
def unet_transformer(**kw) -> keras.Model:
    """U-Net with a transformer bottleneck (self-attention over 4x8 tokens at 64x128 input)."""
    return _create("unet_transformer", **kw)


@register_model("mars")
def dual_unet(**kw) -> keras.Model:
    """U-Net fine path fused with a coarse dilated context path."""
    return _create("dual_unet", **kw)
