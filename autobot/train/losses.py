"""Losses for both tasks, in pure ``keras.ops``: cross-entropy, focal, soft Dice, Lovasz and sums.

One configurable :class:`CompositeLoss` covers the blood classifier (soft one-hot labels,
so CutMix/MixUp and label smoothing work) and the Mars segmenter (sparse masks, where
pixels carrying ``ignore_label`` contribute nothing to any term).

References:
    Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017.
    Milletari et al., "V-Net" (soft Dice), 3DV 2016.
    Berman et al., "The Lovasz-Softmax loss: a tractable surrogate for the optimization of the
    intersection-over-union measure in neural networks", CVPR 2018.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import keras
from keras import ops

__all__ = ["CompositeLoss", "make_loss"]

_EPS = 1e-7


@keras.saving.register_keras_serializable(package="autobot")
class CompositeLoss(keras.losses.Loss):
    """Weighted sum of cross-entropy, focal cross-entropy, soft multi-class Dice and Lovasz-softmax.

    ``y_true`` is either sparse labels (rank of ``y_pred`` minus one: ``(N,)`` or
    ``(N, H, W)``) or soft/one-hot labels with the same shape as ``y_pred``.

    Args:
        ce: Weight of categorical cross-entropy.
        focal: Weight of focal cross-entropy.
        dice: Weight of soft Dice loss (1 - mean Dice over scored classes).
        lovasz: Weight of the Lovasz-softmax loss over the batch: the convex extension of
            1 - IoU, averaged over scored classes present in the batch. Cross-entropy ranks
            pixels, Lovasz trades them off the way mean IoU does, so it suits fine-tuning.
        gamma: Focal exponent; larger focuses harder on misclassified pixels.
        class_weights: Per-class multipliers of the cross-entropy and focal terms.
        ignore_label: Sparse label that carries no loss (Mars background), or None.
        label_smoothing: Mix targets with the uniform distribution by this much.
        dice_smooth: Additive smoothing of the Dice ratio.
    """

    def __init__(
        self,
        ce: float = 1.0,
        focal: float = 0.0,
        dice: float = 0.0,
        lovasz: float = 0.0,
        gamma: float = 2.0,
        class_weights: Sequence[float] | None = None,
        ignore_label: int | None = None,
        label_smoothing: float = 0.0,
        dice_smooth: float = 1.0,
        name: str = "composite_loss",
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
        if ce == focal == dice == lovasz == 0:
            raise ValueError("loss: expected at least one of ce, focal, dice, lovasz > 0; got all 0")
        self.ce, self.focal, self.dice, self.lovasz = float(ce), float(focal), float(dice), float(lovasz)
        self.gamma = float(gamma)
        self.class_weights = None if class_weights is None else [float(w) for w in class_weights]
        self.ignore_label = None if ignore_label is None else int(ignore_label)
        self.label_smoothing = float(label_smoothing)
        self.dice_smooth = float(dice_smooth)

    def call(self, y_true, y_pred):
        num_classes = y_pred.shape[-1]
        y_pred = ops.reshape(ops.cast(y_pred, "float32"), (-1, num_classes))
        if len(y_true.shape) == len(y_pred.shape) and y_true.shape[-1] == num_classes:
            target = ops.reshape(ops.cast(y_true, "float32"), (-1, num_classes))
            valid = ops.ones_like(target[:, 0])
        else:
            labels = ops.reshape(ops.cast(y_true, "int32"), (-1,))
            target = ops.one_hot(labels, num_classes, dtype="float32")
            if self.ignore_label is None:
                valid = ops.ones_like(target[:, 0])
            else:
                valid = ops.cast(ops.not_equal(labels, self.ignore_label), "float32")
        if self.label_smoothing:
            target = target * (1.0 - self.label_smoothing) + self.label_smoothing / num_classes
        prob = ops.clip(y_pred, _EPS, 1.0 - _EPS)
        weights = (ops.convert_to_tensor(self.class_weights, "float32")[None]
                   if self.class_weights is not None else 1.0)
        count = ops.maximum(ops.sum(valid), 1.0)
        total = 0.0
        if self.ce:
            pix = -ops.sum(weights * target * ops.log(prob), axis=-1)
            total = total + self.ce * ops.sum(pix * valid) / count
        if self.focal:
            pix = -ops.sum(weights * target * ops.power(1.0 - prob, self.gamma) * ops.log(prob), axis=-1)
            total = total + self.focal * ops.sum(pix * valid) / count
        if self.dice:
            v = valid[:, None]
            inter = ops.sum(v * target * y_pred, axis=0)
            denom = ops.sum(v * target, axis=0) + ops.sum(v * y_pred, axis=0)
            score = (2.0 * inter + self.dice_smooth) / (denom + self.dice_smooth)
            keep = [c for c in range(num_classes) if c != self.ignore_label]
            score = ops.take(score, ops.convert_to_tensor(keep, "int32"))
            total = total + self.dice * (1.0 - ops.mean(score))
        if self.lovasz:
            total = total + self.lovasz * self._lovasz(target, y_pred, valid, num_classes)
        return total

    def _lovasz(self, target, prob, valid, num_classes):
        """Lovasz-softmax over all valid pixels of the batch, mean over present scored classes."""
        losses, present = [], []
        for c in range(num_classes):
            if c == self.ignore_label:
                continue
            fg = target[:, c] * valid
            errors = ops.abs(fg - prob[:, c]) * valid  # ignored pixels: zero error, sorted last
            order = ops.argsort(-ops.stop_gradient(errors))
            errors_sorted = ops.take(errors, order)
            fg_sorted = ops.take(fg, order)
            gts = ops.sum(fg)
            intersection = gts - ops.cumsum(fg_sorted)
            union = gts + ops.cumsum(1.0 - fg_sorted)
            jaccard = 1.0 - intersection / ops.maximum(union, _EPS)
            grad = ops.concatenate([jaccard[:1], jaccard[1:] - jaccard[:-1]])
            losses.append(ops.sum(errors_sorted * ops.stop_gradient(grad)))
            present.append(ops.cast(gts > 0, "float32"))
        losses, present = ops.stack(losses), ops.stack(present)
        return ops.sum(losses * present) / ops.maximum(ops.sum(present), 1.0)

    def get_config(self):
        return {
            **super().get_config(),
            "ce": self.ce, "focal": self.focal, "dice": self.dice, "lovasz": self.lovasz, "gamma": self.gamma,
            "class_weights": self.class_weights, "ignore_label": self.ignore_label,
            "label_smoothing": self.label_smoothing, "dice_smooth": self.dice_smooth,
        }


def make_loss(spec: Mapping | str | None = None, **overrides) -> CompositeLoss:
    """Build a loss from a recipe spec.

    Args:
        spec: ``"ce"``, ``"focal"``, ``"dice"``, ``"lovasz"``, sums such as ``"focal+dice"``, or a mapping of
            :class:`CompositeLoss` arguments, e.g. ``{"focal": 1, "dice": 1, "class_weights": [...]}``.
        **overrides: Arguments that win over the spec (e.g. ``ignore_label`` from the task).
    """
    if spec is None:
        spec = "ce"
    if isinstance(spec, str):
        names = spec.replace(" ", "").split("+")
        allowed = ("ce", "focal", "dice", "lovasz")
        bad = [n for n in names if n not in allowed]
        if bad:
            raise ValueError(f"loss: expected terms from {allowed} joined by '+'; got {spec!r}")
        spec = {"ce": 0.0, **{n: 1.0 for n in names}}
    return CompositeLoss(**{**dict(spec), **{k: v for k, v in overrides.items() if v is not None}})
