"""Scores for both tasks: a Keras mean-IoU metric for training and numpy twins for reports.

Mars is scored as AI4Mars and the course do: mean IoU over classes 1-4, counted only on
pixels whose ground truth is labelled (``!= 0``). A prediction of background on a labelled
pixel counts as a miss. Classes absent from both truth and prediction are left out of the mean.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

__all__ = [
    "MaskedMeanIoU",
    "scored_argmax",
    "confusion_matrix",
    "iou_from_confusion",
    "miou",
    "per_class_iou",
    "pixel_accuracy",
    "segmentation_report",
    "classification_report",
]


def scored_argmax(probs: np.ndarray, ignore_label: int | None = 0) -> np.ndarray:
    """Most likely class per row/pixel, never ``ignore_label``.

    The ignore label means "unlabelled", not a terrain class, so predicting it can never be
    right on a scored pixel; it is left out of the argmax.
    """
    probs = np.asarray(probs)
    if ignore_label is None:
        return probs.argmax(-1)
    masked = probs.copy()
    masked[..., ignore_label] = -np.inf
    return masked.argmax(-1)


def _scored(num_classes: int, ignore_label: int | None, classes: Sequence[int] | None) -> list[int]:
    if classes is not None:
        return [int(c) for c in classes]
    return [c for c in range(num_classes) if c != ignore_label]


@keras.saving.register_keras_serializable(package="autobot")
class MaskedMeanIoU(keras.metrics.Metric):
    """Mean IoU over scored classes on labelled pixels, from an accumulated confusion matrix.

    Args:
        num_classes: Classes in the model output.
        ignore_label: Ground-truth label whose pixels are not scored (None scores all).
        classes: Classes averaged; default every class but ``ignore_label``.
    """

    def __init__(self, num_classes: int = 5, ignore_label: int | None = 0,
                 classes: Sequence[int] | None = None, name: str = "miou", **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_classes = int(num_classes)
        self.ignore_label = ignore_label
        self.classes = _scored(self.num_classes, ignore_label, classes)
        self.confusion = self.add_variable(shape=(self.num_classes, self.num_classes),
                                           initializer="zeros", dtype="float32", name="confusion")

    def update_state(self, y_true, y_pred, sample_weight=None):
        n = self.num_classes
        if self.ignore_label is not None:  # never predict "unlabelled" (see scored_argmax)
            y_pred = y_pred - 2.0 * ops.one_hot(self.ignore_label, n, dtype=y_pred.dtype)
        pred = ops.reshape(ops.cast(ops.argmax(y_pred, axis=-1), "int32"), (-1,))
        if len(y_true.shape) == len(y_pred.shape) and y_true.shape[-1] == n:
            y_true = ops.argmax(y_true, axis=-1)
        true = ops.reshape(ops.cast(y_true, "int32"), (-1,))
        valid = (ops.ones_like(true, dtype="float32") if self.ignore_label is None
                 else ops.cast(ops.not_equal(true, self.ignore_label), "float32"))
        onehot_true = ops.one_hot(true, n, dtype="float32") * valid[:, None]
        onehot_pred = ops.one_hot(pred, n, dtype="float32")
        self.confusion.assign_add(ops.matmul(ops.transpose(onehot_true), onehot_pred))

    def result(self):
        cm = self.confusion
        tp = ops.diagonal(cm)
        union = ops.sum(cm, axis=0) + ops.sum(cm, axis=1) - tp
        idx = ops.convert_to_tensor(self.classes, "int32")
        tp, union = ops.take(tp, idx), ops.take(union, idx)
        present = ops.cast(union > 0, "float32")
        iou = tp / ops.maximum(union, 1.0)
        return ops.sum(iou * present) / ops.maximum(ops.sum(present), 1.0)

    def reset_state(self):
        self.confusion.assign(ops.zeros((self.num_classes, self.num_classes), dtype="float32"))

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes,
                "ignore_label": self.ignore_label, "classes": self.classes}


# ----------------------------------------------------------------------------- numpy
def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int,
                     ignore_label: int | None = None) -> np.ndarray:
    """``cm[t, p]`` counts; rows whose truth is ``ignore_label`` are dropped."""
    t = np.asarray(y_true).reshape(-1).astype(np.int64)
    p = np.asarray(y_pred).reshape(-1).astype(np.int64)
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred sizes differ: {np.shape(y_true)} vs {np.shape(y_pred)}")
    keep = np.ones_like(t, dtype=bool) if ignore_label is None else t != ignore_label
    return np.bincount(t[keep] * num_classes + p[keep], minlength=num_classes**2).reshape(num_classes, num_classes)


def iou_from_confusion(cm: np.ndarray) -> np.ndarray:
    """IoU per class (of each matrix in a ``(..., C, C)`` stack); NaN where a class is absent from truth and prediction."""
    cm = np.asarray(cm)
    tp = np.diagonal(cm, axis1=-2, axis2=-1).astype(np.float64)
    union = cm.sum(-2) + cm.sum(-1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, tp / np.maximum(union, 1), np.nan)


def per_class_iou(y_true, y_pred_labels, num_classes: int = 5, ignore_label: int | None = 0) -> np.ndarray:
    """IoU of every class (index = label), on pixels whose truth is not ``ignore_label``."""
    return iou_from_confusion(confusion_matrix(y_true, y_pred_labels, num_classes, ignore_label))


def miou(y_true, y_pred_labels, num_classes: int = 5, ignore_label: int | None = 0,
         classes: Sequence[int] | None = None) -> float:
    """Mean IoU over scored classes (default all but ``ignore_label``) on labelled pixels."""
    iou = per_class_iou(y_true, y_pred_labels, num_classes, ignore_label)[_scored(num_classes, ignore_label, classes)]
    return float(np.nanmean(iou)) if np.isfinite(iou).any() else 0.0


def pixel_accuracy(y_true, y_pred_labels, ignore_label: int | None = 0) -> float:
    """Share of labelled pixels predicted right."""
    t, p = np.asarray(y_true).reshape(-1), np.asarray(y_pred_labels).reshape(-1)
    keep = np.ones_like(t, dtype=bool) if ignore_label is None else t != ignore_label
    return float((t[keep] == p[keep]).mean()) if keep.any() else 0.0


def segmentation_report(y_true, y_pred_labels, class_names: Sequence[str], ignore_label: int | None = 0) -> dict:
    """``miou``, ``per_class_iou`` (scored classes by name) and ``pixel_accuracy``."""
    n = len(class_names)
    iou = per_class_iou(y_true, y_pred_labels, n, ignore_label)
    scored = _scored(n, ignore_label, None)
    return {
        "miou": miou(y_true, y_pred_labels, n, ignore_label),
        "per_class_iou": {class_names[c]: (None if np.isnan(iou[c]) else float(iou[c])) for c in scored},
        "pixel_accuracy": pixel_accuracy(y_true, y_pred_labels, ignore_label),
    }


def classification_report(y_true, y_pred_labels, class_names: Sequence[str]) -> dict:
    """``accuracy``, ``macro_f1``, ``per_class_recall`` by name and ``confusion`` rows (truth)."""
    n = len(class_names)
    cm = confusion_matrix(y_true, y_pred_labels, n)
    tp = np.diag(cm).astype(np.float64)
    support, predicted = cm.sum(1), cm.sum(0)
    recall = np.divide(tp, support, out=np.zeros(n), where=support > 0)
    precision = np.divide(tp, predicted, out=np.zeros(n), where=predicted > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros(n), where=(precision + recall) > 0)
    present = support > 0
    return {
        "accuracy": float(tp.sum() / max(cm.sum(), 1)),
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "per_class_recall": {class_names[c]: float(recall[c]) for c in range(n)},
        "confusion": cm.tolist(),
    }
