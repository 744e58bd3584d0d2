"""Augmentation: per-image albumentations pipelines and batch-level CutMix/MixUp."""

from autobot.augment.functional import cutmix, mixup, one_hot
from autobot.augment.pipelines import AugmentConfig, augment_config, build_augment, randaugment

__all__ = ["AugmentConfig", "augment_config", "build_augment", "cutmix", "mixup", "one_hot", "randaugment"]
