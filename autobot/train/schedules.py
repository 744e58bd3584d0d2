"""Learning-rate schedule: linear warm-up then cosine decay, serializable for resumes."""

from __future__ import annotations

import math

import keras
from keras import ops

__all__ = ["WarmupCosine"]


@keras.saving.register_keras_serializable(package="autobot")
class WarmupCosine(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to ``peak`` over ``warmup_steps``, then cosine to ``peak * min_ratio``.

    Args:
        peak: Learning rate after warm-up.
        total_steps: Steps of the whole run.
        warmup_steps: Steps of the linear warm-up.
        min_ratio: Final learning rate as a share of ``peak``.
        cosine: False keeps ``peak`` after warm-up.
    """

    def __init__(self, peak: float, total_steps: int, warmup_steps: int = 0, min_ratio: float = 0.01,
                 cosine: bool = True):
        self.peak = float(peak)
        self.total_steps = max(1, int(total_steps))
        self.warmup_steps = max(0, int(warmup_steps))
        self.min_ratio = float(min_ratio)
        self.cosine = bool(cosine)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        warm = self.peak * (step + 1.0) / max(1, self.warmup_steps)
        if self.cosine:
            span = max(1, self.total_steps - self.warmup_steps)
            progress = ops.clip((step - self.warmup_steps) / span, 0.0, 1.0)
            decayed = self.peak * (self.min_ratio + (1 - self.min_ratio) * 0.5 * (1 + ops.cos(math.pi * progress)))
        else:
            decayed = ops.convert_to_tensor(self.peak, "float32")
        return ops.where(step < self.warmup_steps, warm, decayed)

    def get_config(self):
        return {"peak": self.peak, "total_steps": self.total_steps, "warmup_steps": self.warmup_steps,
                "min_ratio": self.min_ratio, "cosine": self.cosine}
