"""How much a held-out mIoU could move with other photographs: a bootstrap over photographs.

Mean IoU is not a mean over images, so the usual standard error does not apply. Rows of one photograph
are not independent either, so the bootstrap resamples whole groups (``source_id``): each resample sums
the groups' confusion matrices and scores them as :func:`autobot.evaluate.metrics.miou` does. Two
ensembles scored on the same resamples give a paired interval for their difference, which is what
says whether a gain is larger than the luck of which photographs were held out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from autobot.evaluate.metrics import _scored, confusion_matrix, iou_from_confusion


def group_confusions(y_true, y_pred_labels, groups, num_classes: int = 5,
                     ignore_label: int | None = 0) -> np.ndarray:
    """One confusion matrix per group, ``(G, C, C)``, groups in the order of ``np.unique(groups)``."""
    y_true, y_pred_labels = np.asarray(y_true), np.asarray(y_pred_labels)
    _, inverse = np.unique(np.asarray(groups), return_inverse=True)
    inverse = inverse.reshape(-1)
    if len(inverse) != len(y_true) or len(y_true) != len(y_pred_labels):
        raise ValueError(f"rows differ: {len(y_true)} truths, {len(y_pred_labels)} predictions, {len(inverse)} groups")
    by_group = np.split(np.argsort(inverse, kind="stable"), np.cumsum(np.bincount(inverse))[:-1])
    return np.stack([confusion_matrix(y_true[rows], y_pred_labels[rows], num_classes, ignore_label)
                     for rows in by_group]) if len(inverse) else np.zeros((0, num_classes, num_classes), np.int64)


def miou_of_confusions(confusions: np.ndarray, ignore_label: int | None = 0,
                       classes: Sequence[int] | None = None) -> np.ndarray:
    """Mean IoU of each summed confusion matrix in ``(..., C, C)``: absent classes skipped, as ``miou``."""
    iou = iou_from_confusion(confusions)[..., _scored(np.shape(confusions)[-1], ignore_label, classes)]
    present = np.isfinite(iou)
    return np.where(present.any(-1), np.where(present, iou, 0.0).sum(-1) / np.maximum(present.sum(-1), 1), 0.0)


def resampled_mious(confusions: np.ndarray, resamples: int = 1000, seed: int = 0,
                    ignore_label: int | None = 0) -> np.ndarray:
    """mIoU on ``resamples`` bootstrap draws of the groups (with replacement); the same draws for the same seed."""
    confusions = np.asarray(confusions)
    rng = np.random.default_rng(seed)
    counts = np.stack([np.bincount(rng.integers(0, len(confusions), len(confusions)), minlength=len(confusions))
                       for _ in range(int(resamples))])
    summed = np.einsum("rg,gij->rij", counts, confusions)
    return miou_of_confusions(summed, ignore_label)


def interval(samples: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The central ``level`` percentile interval of bootstrap samples."""
    tail = (1.0 - level) / 2 * 100
    lo, hi = np.percentile(np.asarray(samples), [tail, 100 - tail])
    return float(lo), float(hi)
