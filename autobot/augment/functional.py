"""Batch-level mixing augmentations as pure numpy functions (no Keras, no albumentations).

Both return float32 images and soft labels, so they slot in after per-image
augmentation and before the model.

References:
    Yun et al., "CutMix", ICCV 2019.
    Zhang et al., "mixup: Beyond Empirical Risk Minimization", ICLR 2018.
"""

from __future__ import annotations

import numpy as np

__all__ = ["cutmix", "mixup", "one_hot"]


def one_hot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Float32 one-hot rows for integer labels."""
    return np.eye(num_classes, dtype=np.float32)[np.asarray(labels, dtype=np.int64).reshape(-1)]


def mixup(images: np.ndarray, soft_labels: np.ndarray, alpha: float, rng: np.random.Generator):
    """Blend every image with a shuffled partner; labels mix with the same weight.

    Args:
        images: ``(N, H, W, C)`` batch.
        soft_labels: ``(N, K)`` float labels.
        alpha: Beta(alpha, alpha) concentration of the mixing weight.
        rng: Source of randomness (the caller owns the seed).

    Returns:
        ``(images float32, labels float32)``.
    """
    lam = float(rng.beta(alpha, alpha))
    perm = rng.permutation(len(images))
    x = images.astype(np.float32)
    return lam * x + (1 - lam) * x[perm], (lam * soft_labels + (1 - lam) * soft_labels[perm]).astype(np.float32)


def cutmix(images: np.ndarray, soft_labels: np.ndarray, alpha: float, rng: np.random.Generator):
    """Paste a random box from a shuffled partner; labels mix by the pasted area.

    Args:
        images: ``(N, H, W, C)`` batch.
        soft_labels: ``(N, K)`` float labels.
        alpha: Beta(alpha, alpha) concentration of the kept area.
        rng: Source of randomness.

    Returns:
        ``(images float32, labels float32)``.
    """
    n, h, w = images.shape[:3]
    lam = float(rng.beta(alpha, alpha))
    cut_h, cut_w = int(round(h * np.sqrt(1 - lam))), int(round(w * np.sqrt(1 - lam)))
    cy, cx = int(rng.integers(h)), int(rng.integers(w))
    y0, y1 = np.clip([cy - cut_h // 2, cy + cut_h // 2], 0, h)
    x0, x1 = np.clip([cx - cut_w // 2, cx + cut_w // 2], 0, w)
    perm = rng.permutation(n)
    x = images.astype(np.float32).copy()
    x[:, y0:y1, x0:x1] = x[perm, y0:y1, x0:x1]
    kept = 1 - (y1 - y0) * (x1 - x0) / (h * w)
    return x, (kept * soft_labels + (1 - kept) * soft_labels[perm]).astype(np.float32)
