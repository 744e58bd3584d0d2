"""Blood-cell classifiers: a CPU-first custom CNN and three keras.applications backbones.

Every classifier takes float pixels in ``[0, 255]`` (uint8 range) and does its own
preprocessing inside the graph, so callers never rescale and saved models are self-contained.

References:
    Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks", CVPR 2018.
    Howard et al., "Searching for MobileNetV3", ICCV 2019.
    Tan & Le, "EfficientNet: Rethinking Model Scaling for CNNs", ICML 2019.
    Liu et al., "A ConvNet for the 2020s", CVPR 2022.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import keras
from keras import layers

from autobot.models.registry import register_model

__all__ = ["custom_cnn", "mobilenetv3small", "efficientnetb7", "convnextbase", "BACKBONES"]


# ----------------------------------------------------------------------------- blocks
#: BatchNorm momentum of the custom CNN. Keras' 0.99 averages over ~100 steps and lagged so far
#: behind the weights in short CPU runs that eval-mode accuracy fell to chance; 0.9 tracks them.
BN_MOMENTUM = 0.9


def _conv_bn(filters: int, kernel: int, strides: int, prefix: str, act: bool = True) -> Callable:
    def apply(x):
        x = layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False, name=f"{prefix}_conv")(x)
        x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{prefix}_bn")(x)
        return layers.Activation("relu", name=f"{prefix}_relu")(x) if act else x

    return apply


def _inverted_residual(filters: int, strides: int, expand: int, prefix: str) -> Callable:
    """MobileNetV2 block: cheap depthwise 3x3 between 1x1 expand/project, residual when shapes match."""

    def apply(x):
        in_filters = x.shape[-1]
        h = _conv_bn(in_filters * expand, 1, 1, f"{prefix}_expand")(x) if expand > 1 else x
        h = layers.DepthwiseConv2D(3, strides=strides, padding="same", use_bias=False, name=f"{prefix}_dw")(h)
        h = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{prefix}_dw_bn")(h)
        h = layers.Activation("relu", name=f"{prefix}_dw_relu")(h)
        h = _conv_bn(filters, 1, 1, f"{prefix}_project", act=False)(h)
        if strides == 1 and in_filters == filters:
            h = layers.Add(name=f"{prefix}_add")([x, h])
        return h

    return apply


def _head(num_classes: int, dropout: float, prefix: str = "head") -> Callable:
    def apply(x):
        if len(x.shape) == 4:
            x = layers.GlobalAveragePooling2D(name=f"{prefix}_gap")(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"{prefix}_dropout")(x)
        return layers.Dense(num_classes, activation="softmax", dtype="float32", name=f"{prefix}_probs")(x)

    return apply


# ----------------------------------------------------------------------------- custom CNN
@register_model("blood")
def custom_cnn(
    input_shape: Sequence[int] = (96, 96, 3),
    num_classes: int = 8,
    work_size: int | None = None,
    stem_filters: int = 24,
    stages: Sequence[tuple[int, int, int]] = ((32, 2, 2), (64, 2, 2), (128, 3, 2), (192, 1, 1)),
    expand: int = 3,
    dropout: float = 0.2,
    name: str = "custom_cnn",
) -> keras.Model:
    """A small inverted-residual CNN built for accuracy per CPU-minute on 96x96 cells.

    A stride-2 stem plus three stride-2 stages bring 96x96 to 6x6 quickly, so most
    compute runs at low resolution; BN + ReLU + global average pooling keep it simple.

    Args:
        input_shape: ``(H, W, C)`` of the uint8-range float input.
        num_classes: Output classes.
        work_size: Resize to this square size inside the model first (e.g. 64 for speed).
        stem_filters: Filters of the stride-2 stem convolution.
        stages: ``(filters, blocks, first_stride)`` per stage.
        expand: Expansion ratio of the inverted-residual blocks.
        dropout: Dropout before the classifier.
        name: Model name.
    """
    inputs = keras.Input(tuple(input_shape), name="image")
    x = inputs
    if work_size and tuple(input_shape[:2]) != (work_size, work_size):
        x = layers.Resizing(work_size, work_size, name="resize")(x)
    x = layers.Rescaling(1 / 127.5, offset=-1.0, name="rescale")(x)
    x = _conv_bn(stem_filters, 3, 2, "stem")(x)
    for s, (filters, blocks, stride) in enumerate(stages):
        for b in range(blocks):
            x = _inverted_residual(filters, stride if b == 0 else 1, expand, f"stage{s}_block{b}")(x)
    x = _conv_bn(max(256, stages[-1][0]), 1, 1, "top")(x)
    return keras.Model(inputs, _head(num_classes, dropout)(x), name=name)


# ----------------------------------------------------------------------------- keras.applications
#: name -> (constructor, extra kwargs that put preprocessing inside the model, input range).
BACKBONES: dict[str, tuple[Callable, dict, tuple[float, float]]] = {
    "mobilenetv3small": (keras.applications.MobileNetV3Small, {"include_preprocessing": True}, (0.0, 255.0)),
    "efficientnetb7": (keras.applications.EfficientNetB7, {}, (0.0, 255.0)),
    "convnextbase": (keras.applications.ConvNeXtBase, {"include_preprocessing": True}, (0.0, 255.0)),
}


def _check_weights(weights: str | None) -> str | None:
    if weights in (None, "imagenet"):
        return weights
    if not Path(weights).is_file():
        raise ValueError(f"weights: expected None, 'imagenet' or a path to a weights file; got {weights!r}")
    return str(weights)


def _build_backbone_classifier(
    backbone: str,
    input_shape: Sequence[int],
    num_classes: int,
    weights: str | None,
    dropout: float,
    trainable_backbone: bool,
    name: str | None,
) -> keras.Model:
    ctor, extra, _ = BACKBONES[backbone]
    weights = _check_weights(weights)
    inputs = keras.Input(tuple(input_shape), name="image")
    base = ctor(include_top=False, weights=weights, input_shape=tuple(input_shape), pooling="avg", **extra)
    base.trainable = trainable_backbone
    x = base(inputs)
    return keras.Model(inputs, _head(num_classes, dropout)(x), name=name or backbone)


@register_model("blood")
def mobilenetv3small(input_shape=(96, 96, 3), num_classes=8, weights=None, dropout=0.2,
                     trainable_backbone=True, name=None) -> keras.Model:
    """MobileNetV3-Small backbone (pixels 0..255, rescaled inside) with a new softmax head."""
    return _build_backbone_classifier("mobilenetv3small", input_shape, num_classes, weights, dropout,
                                      trainable_backbone, name)


@register_model("blood")
def efficientnetb7(input_shape=(96, 96, 3), num_classes=8, weights=None, dropout=0.3,
                   trainable_backbone=True, name=None) -> keras.Model:
    """EfficientNet-B7 backbone (pixels 0..255, normalised inside) with a new softmax head."""
    return _build_backbone_classifier("efficientnetb7", input_shape, num_classes, weights, dropout,
                                      trainable_backbone, name)


@register_model("blood")
def convnextbase(input_shape=(96, 96, 3), num_classes=8, weights=None, dropout=0.3,
                 trainable_backbone=True, name=None) -> keras.Model:
    """ConvNeXt-Base backbone (pixels 0..255, normalised inside), the published seed method's model."""
    return _build_backbone_classifier("convnextbase", input_shape, num_classes, weights, dropout,
                                      trainable_backbone, name)
