"""The typed training configuration every recipe, member and ensemble is built from."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

__all__ = ["TrainConfig"]


@dataclass
class TrainConfig:
    """Everything one training run needs besides the data.

    Args:
        task: ``"blood"`` or ``"mars"``.
        model: Registered model name (see ``autobot.models.list_models``).
        model_kwargs: Extra builder arguments (widths, weights path, ...).
        epochs: Total epochs (a resumed run continues up to this).
        batch_size: Images per step.
        lr: Peak learning rate, reached after warm-up.
        weight_decay: Decoupled weight decay (AdamW) or L2-like decay of other optimizers.
        optimizer: ``"adamw"``, ``"adam"`` or ``"sgd"``.
        warmup_epochs: Linear warm-up length, in epochs.
        schedule: ``"cosine"`` (decay to ``min_lr_ratio * lr``) or ``"constant"``.
        min_lr_ratio: Final learning rate as a share of ``lr``.
        label_smoothing: Label smoothing of cross-entropy/focal terms.
        loss: Loss spec for ``make_loss`` ("ce", "focal+dice" or a dict).
        class_weights: Per-class loss weights, ``"auto"`` (inverse square-root frequency), or None.
        patience: Early-stopping patience in epochs on the validation metric (0 = off).
        seed: Seeds Keras, numpy and augmentation.
        val_fraction: Share held out for validation when the caller does not split.
        image_size: ``(H, W)`` to train at; None keeps the task's native size.
        oversample: Balance classes by oversampling (classification).
        augment: Overrides of the task's default ``AugmentConfig`` (``{}`` = defaults, None = off).
        steps_per_epoch: Cap on steps per epoch (quick runs); None = full epochs.
        max_val: Cap on validation images (quick runs); None = all.
        init_from: Weights to start from instead of random ones: a ``.keras`` file, or an ensemble
            folder (member ``i`` then starts from that ensemble's member ``i``). Layers are matched
            by name, so a model trained at one ``work_size`` can be fine-tuned at another.
        whole_photographs: Mars: train on whole photographs, each pair of halves sharing a
            ``source_id`` stacked back into one ``(2H, W)`` frame (:mod:`autobot.data.photographs`),
            so the model learns the context across the cut that the app's whole uploads have. Halves
            without their partner are left out; the member is saved at the ensemble's ``(H, W)``.
        distribute: ``"none"``, ``"auto"``, ``"mirrored"`` (this host's devices),
            ``"multi_worker"`` (hosts in TF_CONFIG) or ``"data_parallel"`` (JAX); see
            ``autobot.train.distribute``.
        jit_compile: XLA for the training steps: True, False, ``"auto"`` (Keras' rule: on under JAX
            and for a TensorFlow GPU, off on CPU-only TensorFlow and under ``tf.distribute``) or
            ``"unless_avx512"`` (the same, but on for CPU-only TensorFlow when the CPU lacks AVX-512). On
            CPU it depends on the model and the CPU: on 2 AVX2 cores a base-16 U-Net step ran 1.3-1.4x
            faster with it, on 2 AVX-512 cores (oneDNN on) 1.3-1.5x slower, and the blood CNN's depthwise
            convolutions 5.6x slower, so ``mars_cpu`` says ``unless_avx512``. Compare a recipe with
            ``python bench/training.py --models NAME`` and ``--no-jit``.
    """

    task: str = "blood"
    model: str = "custom_cnn"
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    epochs: int = 30
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-4
    optimizer: str = "adamw"
    warmup_epochs: float = 1.0
    schedule: str = "cosine"
    min_lr_ratio: float = 0.01
    label_smoothing: float = 0.0
    loss: Any = "ce"
    class_weights: Any = None
    patience: int = 0
    seed: int = 0
    val_fraction: float = 0.15
    image_size: tuple[int, int] | None = None
    oversample: bool = False
    augment: dict[str, Any] | None = field(default_factory=dict)
    steps_per_epoch: int | None = None
    max_val: int | None = None
    distribute: str = "none"
    init_from: str | None = None
    jit_compile: bool | str = "auto"
    whole_photographs: bool = False

    def __post_init__(self):
        if self.task not in ("blood", "mars"):
            raise ValueError(f"task: expected 'blood' or 'mars'; got {self.task!r}")
        if self.optimizer not in ("adamw", "adam", "sgd"):
            raise ValueError(f"optimizer: expected 'adamw', 'adam' or 'sgd'; got {self.optimizer!r}")
        if self.schedule not in ("cosine", "constant"):
            raise ValueError(f"schedule: expected 'cosine' or 'constant'; got {self.schedule!r}")
        from autobot.train.distribute import STRATEGIES

        for item in fields(self):
            base = str(item.type).replace(" | None", "")
            kind = {"int": int, "float": float, "bool": bool}.get(base)
            value = getattr(self, item.name)
            if kind is None or (value is None and "None" in str(item.type)):
                continue
            wrong = (not isinstance(value, bool)) if kind is bool else (
                isinstance(value, bool) or not isinstance(value, (int, float))
                or (kind is int and value != int(value)))
            if wrong:
                raise ValueError(f"{item.name}: expected {'a whole number' if kind is int else base}; got {value!r}")
            setattr(self, item.name, kind(value))

        if not (isinstance(self.jit_compile, bool) or self.jit_compile in ("auto", "unless_avx512")):
            raise ValueError(f"jit_compile: expected true, false, 'auto' or 'unless_avx512'; got {self.jit_compile!r}")
        if self.distribute not in STRATEGIES:
            raise ValueError(f"distribute: expected one of {STRATEGIES}; got {self.distribute!r}")
        if self.image_size is not None:
            self.image_size = tuple(int(v) for v in self.image_size)
        if self.whole_photographs and self.task != "mars":
            raise ValueError("whole_photographs: expected false for task 'blood' (it stitches Mars halves); got true")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if d["image_size"] is not None:
            d["image_size"] = list(d["image_size"])
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        names = {f.name for f in fields(cls)}
        bad = sorted(set(data) - names)
        if bad:
            raise ValueError(f"train config: unknown keys {bad}; expected some of {sorted(names)}")
        return cls(**data)
