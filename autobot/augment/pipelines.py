"""Augmentation pipelines built from a typed config: ``build_augment(cfg) -> A.Compose``.

Blood gets geometric, colour (including a stain-like shift), blur, noise, JPEG and
dropout transforms, plus an optional RandAugment-style policy; Mars gets joint
image+mask transforms that keep masks aligned and fill dropped regions with the
unlabelled class 0, so invented pixels carry no loss.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import albumentations as A
import cv2

__all__ = ["AugmentConfig", "build_augment", "randaugment", "augment_config"]


@dataclass
class AugmentConfig:
    """Which transforms run and how strongly; a probability of 0 turns a transform off.

    Args:
        task: ``"blood"`` (image only) or ``"mars"`` (image + mask).
        seed: Seed of the Compose's own RNG.
        hflip: Probability of a horizontal flip.
        vflip: Probability of a vertical flip.
        rot90: Probability of a random 90-degree rotation.
        rotate_limit: Max degrees of a free rotation (0 = off).
        affine: Probability of a shift/scale/rotate Affine.
        shift: Max translation as a fraction of size.
        scale: Max relative zoom in or out.
        affine_rotate: Max degrees rotated by the Affine.
        brightness_contrast: Probability of a brightness/contrast change.
        bc_limit: Max relative brightness and contrast change.
        hue_saturation: Probability of a HueSaturationValue shift (blood).
        stain: Probability of a stain-like colour shift (per-channel shift + saturation).
        blur: Probability of a Gaussian blur.
        noise: Probability of Gaussian noise.
        noise_std: Max noise standard deviation as a fraction of 255.
        jpeg: Probability of JPEG re-compression.
        jpeg_quality: Lowest JPEG quality.
        dropout: Probability of CoarseDropout (Mars masks get 0 under the holes).
        randaugment_n: Ops per image of the RandAugment-style policy (0 = off).
        randaugment_m: Magnitude of those ops, 0..30.
        cutmix: Probability per batch of CutMix (classification only).
        mixup: Probability per batch of MixUp (classification only).
        mix_alpha: Beta concentration of CutMix/MixUp.
    """

    task: str = "blood"
    seed: int = 0
    hflip: float = 0.5
    vflip: float = 0.5
    rot90: float = 0.5
    rotate_limit: float = 0.0
    affine: float = 0.5
    shift: float = 0.06
    scale: float = 0.1
    affine_rotate: float = 15.0
    brightness_contrast: float = 0.5
    bc_limit: float = 0.2
    hue_saturation: float = 0.3
    stain: float = 0.3
    blur: float = 0.15
    noise: float = 0.15
    noise_std: float = 0.06
    jpeg: float = 0.2
    jpeg_quality: int = 40
    dropout: float = 0.2
    randaugment_n: int = 0
    randaugment_m: int = 9
    cutmix: float = 0.0
    mixup: float = 0.0
    mix_alpha: float = 1.0

    def __post_init__(self):
        if self.task not in ("blood", "mars"):
            raise ValueError(f"augment task: expected 'blood' or 'mars'; got {self.task!r}")


#: Defaults for Mars: no vertical flips or rotations (the horizon has a direction), no colour.
MARS_DEFAULTS = dict(task="mars", vflip=0.0, rot90=0.0, affine=0.3, shift=0.05, scale=0.1, affine_rotate=5.0,
                     hue_saturation=0.0, stain=0.0, blur=0.1, jpeg=0.0, dropout=0.3)


def augment_config(task: str, **overrides: Any) -> AugmentConfig:
    """The task's default config with ``overrides`` applied (unknown keys raise)."""
    names = {f.name for f in fields(AugmentConfig)}
    bad = sorted(set(overrides) - names)
    if bad:
        raise ValueError(f"augment: unknown keys {bad}; expected some of {sorted(names)}")
    base = MARS_DEFAULTS if task == "mars" else {"task": task}
    return AugmentConfig(**{**base, **overrides})


def randaugment(n: int = 2, m: int = 9) -> A.SomeOf:
    """RandAugment-style policy: ``n`` ops drawn uniformly per image, all at magnitude ``m`` (0..30).

    References:
        Cubuk et al., "RandAugment", CVPR Workshops 2020.
    """
    if not 0 <= m <= 30:
        raise ValueError(f"randaugment magnitude: expected 0..30; got {m}")
    f = m / 30.0
    ops = [
        A.NoOp(),
        A.Affine(rotate=(-30 * f, 30 * f), border_mode=cv2.BORDER_REFLECT_101, p=1),
        A.Affine(shear={"x": (-17 * f, 17 * f)}, border_mode=cv2.BORDER_REFLECT_101, p=1),
        A.Affine(shear={"y": (-17 * f, 17 * f)}, border_mode=cv2.BORDER_REFLECT_101, p=1),
        A.Affine(translate_percent={"x": (-0.3 * f, 0.3 * f)}, border_mode=cv2.BORDER_REFLECT_101, p=1),
        A.Affine(translate_percent={"y": (-0.3 * f, 0.3 * f)}, border_mode=cv2.BORDER_REFLECT_101, p=1),
        A.Equalize(p=1),
        A.Posterize(num_bits=(max(1, int(8 - 4 * f)), 8), p=1),
        A.Solarize(threshold_range=(1 - 0.5 * f, 1.0), p=1),
        A.Sharpen(alpha=(0.1, 0.1 + 0.8 * f), p=1),
        A.RandomBrightnessContrast(brightness_limit=0.9 * f, contrast_limit=0, p=1),
        A.RandomBrightnessContrast(brightness_limit=0, contrast_limit=0.9 * f, p=1),
        A.ColorJitter(brightness=0, contrast=0, saturation=(max(0.0, 1 - 0.9 * f), 1 + 0.9 * f), hue=0, p=1),
    ]
    return A.SomeOf(ops, n=n, replace=True, p=1.0)


def _stain_shift(p: float) -> A.BaseCompose:
    # Staining varies in hue and intensity per channel; a channel shift plus saturation
    # change imitates a different smear or scanner without inventing structure.
    return A.Sequential([
        A.RGBShift(r_shift_limit=15, g_shift_limit=10, b_shift_limit=15, p=1),
        A.ColorJitter(brightness=0, contrast=0, saturation=(0.75, 1.25), hue=(-0.03, 0.03), p=1),
    ], p=p)


def build_augment(cfg: AugmentConfig) -> A.Compose:
    """Compose the transforms ``cfg`` switches on, seeded with ``cfg.seed``.

    Call the result as ``aug(image=img)`` (blood) or ``aug(image=img, mask=m)`` (Mars).
    """
    c = cfg
    t: list = []
    if c.hflip:
        t.append(A.HorizontalFlip(p=c.hflip))
    if c.vflip:
        t.append(A.VerticalFlip(p=c.vflip))
    if c.rot90:
        t.append(A.RandomRotate90(p=c.rot90))
    if c.rotate_limit:
        t.append(A.Rotate(limit=c.rotate_limit, border_mode=cv2.BORDER_REFLECT_101, fill_mask=0, p=0.5))
    if c.affine:
        border = cv2.BORDER_CONSTANT if c.task == "mars" else cv2.BORDER_REFLECT_101
        t.append(A.Affine(translate_percent=(-c.shift, c.shift), scale=(1 - c.scale, 1 + c.scale),
                          rotate=(-c.affine_rotate, c.affine_rotate), border_mode=border, fill=0, fill_mask=0,
                          p=c.affine))
    if c.randaugment_n:
        t.append(randaugment(c.randaugment_n, c.randaugment_m))
    if c.brightness_contrast:
        t.append(A.RandomBrightnessContrast(brightness_limit=c.bc_limit, contrast_limit=c.bc_limit,
                                            p=c.brightness_contrast))
    if c.hue_saturation:
        t.append(A.HueSaturationValue(hue_shift_limit=8, sat_shift_limit=20, val_shift_limit=10, p=c.hue_saturation))
    if c.stain:
        t.append(_stain_shift(c.stain))
    if c.blur:
        t.append(A.GaussianBlur(sigma_limit=(0.3, 1.5), p=c.blur))
    if c.noise:
        t.append(A.GaussNoise(std_range=(0.01, c.noise_std), p=c.noise))
    if c.jpeg:
        t.append(A.ImageCompression(quality_range=(c.jpeg_quality, 95), p=c.jpeg))
    if c.dropout:
        t.append(A.CoarseDropout(num_holes_range=(1, 4), hole_height_range=(0.08, 0.2),
                                 hole_width_range=(0.08, 0.2), fill=0, fill_mask=0, p=c.dropout))
    return A.Compose(t, seed=c.seed)


def config_dict(cfg: AugmentConfig) -> dict:
    """Plain-dict form of a config, for manifests and recipes."""
    return asdict(cfg)
