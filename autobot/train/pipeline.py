"""Batches for ``model.fit``: a ``keras.utils.PyDataset`` that augments per batch.

Classification batches carry soft one-hot labels (so CutMix, MixUp and label smoothing
share one path); segmentation batches carry integer masks. Images stay uint8 until the
batch is built and reach the model as float32 in ``[0, 255]``.
"""

from __future__ import annotations

import math

import cv2
import keras
import numpy as np

from autobot.augment import cutmix, mixup, one_hot

__all__ = ["BatchSequence", "resize_batch"]


def resize_batch(images: np.ndarray, size: tuple[int, int] | None, masks: bool = False) -> np.ndarray:
    """Resize a ``(N, H, W[, C])`` batch to ``size=(H, W)``; nearest for masks, area otherwise."""
    if size is None or tuple(images.shape[1:3]) == tuple(size):
        return images
    interp = cv2.INTER_NEAREST if masks else cv2.INTER_AREA
    out = [cv2.resize(img, (size[1], size[0]), interpolation=interp) for img in images]
    out = np.stack(out)
    if out.ndim == images.ndim - 1:
        out = out[..., None]
    return out


class BatchSequence(keras.utils.PyDataset):
    """Shuffled, augmented batches over ``indices`` of ``images``/``targets``.

    Args:
        images: ``uint8 (N, H, W, C)``.
        targets: Labels ``(N,)`` or masks ``(N, H, W)``.
        indices: Rows to serve (repeats allowed: bootstrap or oversampling).
        batch_size: Rows per batch.
        num_classes: Classes (for one-hot labels).
        segmentation: Targets are masks.
        augment: An ``A.Compose`` or None.
        shuffle: Reshuffle every epoch (seeded by ``seed`` and the epoch number).
        seed: Seed of shuffling and mixing.
        cutmix: Probability per batch of CutMix.
        mixup: Probability per batch of MixUp.
        mix_alpha: Beta concentration of the mixing.
        image_size: Resize to ``(H, W)`` before augmentation, or None.
        max_steps: Serve at most this many batches per epoch.
        multiple_of: Trim each batch to a multiple of this (the replica count: JAX's data
            parallelism splits every batch evenly over devices). At most ``multiple_of - 1``
            rows per epoch are left out, different ones each epoch when shuffled.
    """

    def __init__(self, images, targets, indices, batch_size, num_classes, segmentation=False, augment=None,
                 shuffle=True, seed=0, cutmix=0.0, mixup=0.0, mix_alpha=1.0, image_size=None, max_steps=None,
                 multiple_of=1, **kwargs):
        super().__init__(**kwargs)
        self.images, self.targets = images, targets
        self.indices = np.asarray(indices, dtype=np.int64)
        self.batch_size, self.num_classes, self.segmentation = int(batch_size), int(num_classes), segmentation
        self.augment, self.shuffle, self.seed = augment, shuffle, int(seed)
        self.cutmix, self.mixup, self.mix_alpha = float(cutmix), float(mixup), float(mix_alpha)
        self.image_size, self.max_steps = image_size, max_steps
        self.multiple_of = int(multiple_of)
        self.epoch = 0
        self._reorder()

    def _reorder(self):
        rng = np.random.default_rng([self.seed, self.epoch])
        self.order = rng.permutation(self.indices) if self.shuffle else self.indices
        self.mix_rng = np.random.default_rng([self.seed, self.epoch, 1])

    def set_epoch(self, epoch: int) -> None:
        """Jump to ``epoch``'s order (used when a run resumes)."""
        self.epoch = int(epoch)
        self._reorder()

    def __len__(self):
        usable = len(self.order) // self.multiple_of * self.multiple_of
        n = math.ceil(usable / self.batch_size)
        return min(n, self.max_steps) if self.max_steps else n

    def __getitem__(self, i):
        rows = self.order[i * self.batch_size : (i + 1) * self.batch_size]
        rows = rows[: len(rows) // self.multiple_of * self.multiple_of]
        x = resize_batch(self.images[rows], self.image_size)
        y = self.targets[rows]
        if self.segmentation:
            y = resize_batch(y, self.image_size, masks=True)
            if y.ndim == 4:
                y = y[..., 0]
        if self.augment is not None:
            if self.segmentation:
                pairs = [self.augment(image=img, mask=m) for img, m in zip(x, y)]
                x = np.stack([p["image"] for p in pairs])
                y = np.stack([p["mask"] for p in pairs])
            else:
                x = np.stack([self.augment(image=img)["image"] for img in x])
        if x.ndim == 3:
            x = x[..., None]
        if self.segmentation:
            return x.astype(np.float32), y.astype(np.int32)
        y = one_hot(y, self.num_classes)
        if self.cutmix or self.mixup:
            r = self.mix_rng.random()
            if r < self.cutmix:
                x, y = cutmix(x, y, self.mix_alpha, self.mix_rng)
            elif r < self.cutmix + self.mixup:
                x, y = mixup(x, y, self.mix_alpha, self.mix_rng)
        return x.astype(np.float32), y

    def on_epoch_end(self):
        self.epoch += 1
        self._reorder()
