"""Corrupted copies of images, to measure robustness the way the course's hidden test did.

The course's blood test set was heavily corrupted (noise, blur, strong JPEG, brightness,
contrast and hue shifts, rotations). ``corrupt`` applies one or two of those per image,
seeded, so a corrupted score is reproducible. Only pixel-level corruptions are used for
masks' images, plus a 180-degree rotation applied to image and mask together.
"""

from __future__ import annotations

import albumentations as A
import cv2
import numpy as np

SEVERITIES = (1, 2, 3)


def _ops(severity: int, segmentation: bool) -> list[A.BasicTransform]:
    s = severity / 3.0
    ops = [
        A.GaussNoise(std_range=(0.04 * s, 0.12 * s), p=1.0),
        A.GaussianBlur(blur_limit=(3, 3 + 2 * severity), p=1.0),
        A.ImageCompression(quality_range=(max(5, 40 - 12 * severity), 60 - 10 * severity), p=1.0),
        A.RandomBrightnessContrast(brightness_limit=0.35 * s, contrast_limit=0.35 * s, p=1.0),
    ]
    if segmentation:
        ops.append(A.Rotate(limit=(180, 180), border_mode=cv2.BORDER_REFLECT_101, p=1.0))  # keeps 64x128
    else:
        ops += [A.HueSaturationValue(hue_shift_limit=int(12 * s), sat_shift_limit=int(30 * s),
                                     val_shift_limit=int(20 * s), p=1.0),
                A.Rotate(limit=180, border_mode=cv2.BORDER_REFLECT_101, p=1.0)]
    return ops


def corruption_pipeline(severity: int = 2, segmentation: bool = False, seed: int = 0) -> A.Compose:
    if severity not in SEVERITIES:
        raise ValueError(f"severity: expected one of {SEVERITIES}; got {severity!r}")
    return A.Compose([A.SomeOf(_ops(severity, segmentation), n=2, replace=False, p=1.0)], seed=seed)


def corrupt(images: np.ndarray, masks: np.ndarray | None = None, severity: int = 2,
            seed: int = 0) -> tuple[np.ndarray, np.ndarray | None]:
    """Corrupted copies of uint8 ``images`` (N, H, W, C) (and their masks, moved alike)."""
    pipeline = corruption_pipeline(severity, segmentation=masks is not None, seed=seed)
    out_images, out_masks = [], []
    for i, image in enumerate(images):
        if masks is None:
            out_images.append(pipeline(image=image)["image"])
        else:
            result = pipeline(image=image, mask=masks[i])
            out_images.append(result["image"])
            out_masks.append(result["mask"])
    stacked = np.stack(out_images).reshape(images.shape).astype(np.uint8)
    return stacked, (np.stack(out_masks).astype(masks.dtype) if masks is not None else None)
