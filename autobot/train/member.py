"""Train one model: resumable, checkpointed every epoch, with a progress hook.

An ``out_dir`` holds ``last.keras`` (model + optimizer state), ``best.keras``,
``state.json`` (epochs done, best score, early-stopping counter) and ``history.json``
(one row of metrics per epoch). Calling :func:`train_member` again with the same
``out_dir`` continues after the last finished epoch, or returns at once when done.
"""

from __future__ import annotations

import importlib.util
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import albumentations as A
import keras
import numpy as np

from autobot.atomic import atomic_path, write_text
from autobot.augment import augment_config, build_augment
from autobot.data import Dataset, oversample_indices
from autobot.errors import DataError
from autobot.evaluate.metrics import MaskedMeanIoU, classification_report, scored_argmax, segmentation_report
from autobot.models import build_model
from autobot.runtime import cpu_flags, onednn_enabled
from autobot.tasks import get_task
from autobot.train.config import TrainConfig
from autobot.train.distribute import active_engine, distribution_scope
from autobot.train.losses import make_loss
from autobot.train.pipeline import BatchSequence, resize_batch
from autobot.train.schedules import WarmupCosine

__all__ = ["MemberResult", "train_member", "init_weights", "auto_class_weights", "predict_probs", "ProgressFn"]

#: ``progress(event)`` receives dicts with ``stage`` ("batch" or "epoch"), ``epoch`` (1-based),
#: ``epochs``, ``step``, ``steps`` and ``metrics``.
ProgressFn = Callable[[dict[str, Any]], None]


@dataclass
class MemberResult:
    """Where a trained member is and how it scored on its validation rows."""

    model_path: Path
    history: list[dict[str, Any]]
    val_metrics: dict[str, Any]
    epochs_done: int
    stopped_early: bool


def auto_class_weights(dataset: Dataset, indices: np.ndarray) -> list[float]:
    """Inverse square-root frequency weights, mean 1 over scored classes; ignore label gets 0."""
    task = dataset.task
    counts = np.bincount(dataset.targets[indices].reshape(-1), minlength=task.num_classes).astype(np.float64)
    freq = counts / max(counts.sum(), 1)
    w = np.where(freq > 0, 1 / np.sqrt(np.maximum(freq, 1e-12)), 0.0)
    scored = list(task.scored_classes)
    w[scored] = w[scored] / max(w[scored].mean(), 1e-12)
    if task.ignore_label is not None:
        w[task.ignore_label] = 0.0
    return [round(float(v), 4) for v in np.minimum(w, 10.0)]


def _limit(indices: np.ndarray, n: int | None, seed: int) -> np.ndarray:
    """A seeded random subset of ``n`` indices (sorted), so capped validation keeps every class."""
    if not n or n >= len(indices):
        return indices
    return np.sort(np.random.default_rng(seed).choice(indices, n, replace=False))


def _write_json(path: Path, data: Any) -> None:
    """Atomic: a crash or a full disk leaves the previous file (DataError naming the file on failure)."""
    write_text(path, json.dumps(data, indent=2, default=_jsonable))


def _jsonable(v):
    if isinstance(v, (np.floating, np.integer)):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    raise TypeError(f"not JSON serializable: {type(v).__name__}")


def _save_model(model: keras.Model, path: Path) -> None:
    """Atomic, like :func:`_write_json`: the previous checkpoint survives a failed save."""
    with atomic_path(path) as temporary:
        model.save(temporary)


def predict_probs(model: keras.Model, images: np.ndarray, batch_size: int = 128) -> np.ndarray:
    """Probabilities for uint8 ``images`` in fixed-size batches (no retracing per call size)."""
    out = []
    for start in range(0, len(images), batch_size):
        x = images[start : start + batch_size].astype(np.float32)
        if x.ndim == 3:
            x = x[..., None]
        out.append(np.asarray(model.predict_on_batch(x)))
    return np.concatenate(out) if out else np.zeros((0,))


def _as_photographs(dataset: Dataset, train_idx: np.ndarray, val_idx: np.ndarray | None,
                    size: tuple[int, int]) -> tuple[Dataset, np.ndarray, np.ndarray | None, tuple[int, int]]:
    """The halves' rows as whole photographs (``TrainConfig.whole_photographs``), at twice the height."""
    from autobot.data.photographs import photograph_rows, stitch_photographs

    frames, frame_of = stitch_photographs(dataset)
    if not len(frames):
        raise DataError(dataset.source, "source_id", "pairs of rows cut from one photograph (train.whole_photographs)",
                        "none" if dataset.groups is None else "no source_id shared by exactly two rows")
    train = photograph_rows(dataset, frame_of, train_idx, sample=True)
    val = None if val_idx is None else photograph_rows(dataset, frame_of, val_idx, sample=False)
    return frames, train, val, (2 * int(size[0]), int(size[1]))


def init_weights(model: keras.Model, source: str | Path) -> None:
    """Copy every weighted layer of ``source`` (a ``.keras`` file) into ``model`` by layer name.

    Strict, so a fine-tune never silently starts half-random: each of ``model``'s weighted
    layers must exist in the source with the same weight shapes.
    """
    path = Path(source)
    if not path.is_file():
        raise DataError(path, "init_from", "a .keras model file", "no such file")
    try:
        donor = keras.models.load_model(path, compile=False)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the same user error
        raise DataError(path, "init_from", "a .keras model file", f"unreadable ({type(exc).__name__}: {exc})")
    donors = {layer.name: layer for layer in donor.layers if layer.weights}
    for layer in model.layers:
        if not layer.weights:
            continue
        match = donors.get(layer.name)
        want = [tuple(w.shape) for w in layer.weights]
        got = [tuple(w.shape) for w in match.weights] if match is not None else None
        if got != want:
            raise DataError(path, f"init_from layer {layer.name!r}", f"weights of shapes {want}",
                            "no such layer" if match is None else f"shapes {got}")
        layer.set_weights(match.get_weights())


def _schedule(config: TrainConfig, steps: int) -> WarmupCosine:
    return WarmupCosine(config.lr, steps * config.epochs, int(round(config.warmup_epochs * steps)),
                        config.min_lr_ratio, cosine=config.schedule == "cosine")


def _compile(model: keras.Model, config: TrainConfig, dataset: Dataset, train_idx: np.ndarray, steps: int):
    task = dataset.task
    lr = _schedule(config, steps)
    if config.optimizer == "adamw":
        opt = keras.optimizers.AdamW(lr, weight_decay=config.weight_decay)
    elif config.optimizer == "adam":
        opt = keras.optimizers.Adam(lr)
    else:
        opt = keras.optimizers.SGD(lr, momentum=0.9, nesterov=True, weight_decay=config.weight_decay or None)
    weights = config.class_weights
    if isinstance(weights, str):
        if weights != "auto":
            raise ValueError(f"class_weights: expected a list, 'auto' or None; got {weights!r}")
        weights = auto_class_weights(dataset, train_idx)
    loss = make_loss(config.loss, class_weights=weights, ignore_label=task.ignore_label,
                     label_smoothing=config.label_smoothing or None)
    if task.kind == "segmentation":
        metrics = [MaskedMeanIoU(task.num_classes, task.ignore_label, name="miou")]
    else:
        metrics = [keras.metrics.CategoricalAccuracy(name="accuracy")]
    model.compile(optimizer=opt, loss=loss, metrics=metrics, jit_compile=_jit_compile(config))


def _jit_compile(config: TrainConfig, cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether the steps run XLA-compiled. ``"auto"`` is Keras' rule: on under JAX and for a
    TensorFlow GPU, off on CPU-only TensorFlow, under ``tf.distribute`` and for torch.
    ``"unless_avx512"`` is the same, except that CPU-only TensorFlow compiles when the CPU has no
    AVX-512 (there XLA's U-Net steps were 1.3-1.4x faster; with AVX-512, 1.3-1.5x slower)."""
    if config.jit_compile not in ("auto", "unless_avx512"):
        return config.jit_compile
    backend = keras.backend.backend()
    if backend != "tensorflow":
        return backend == "jax"
    import tensorflow as tf

    on_cpu = all(d.device_type == "CPU" for d in tf.config.list_physical_devices())
    if tf.distribute.has_strategy():
        return False
    if on_cpu and config.jit_compile == "unless_avx512":
        return "avx512f" not in cpu_flags(cpuinfo)
    return not on_cpu


class _EpochHook(keras.callbacks.Callback):
    """Checkpoints, history, early stopping and progress, after every epoch."""

    def __init__(self, out_dir: Path, config: TrainConfig, state: dict, history: list, monitor: str,
                 progress: ProgressFn | None, steps: int):
        super().__init__()
        self.out_dir, self.config, self.state, self.history = out_dir, config, state, history
        self.monitor, self.progress, self.steps = monitor, progress, steps
        self.epoch_start = time.time()

    def on_train_begin(self, logs=None):
        self.state["engine"] = active_engine()  # observed while fitting, not what was asked for
        self.state["jit_compile"] = bool(self.model.jit_compile)
        self.state["onednn"] = onednn_enabled()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_start = time.time()

    def on_train_batch_end(self, batch, logs=None):
        if self.progress:
            self.progress({"stage": "batch", "epoch": self.state["epoch"] + 1, "epochs": self.config.epochs,
                           "step": batch + 1, "steps": self.steps,
                           "metrics": {k: float(v) for k, v in (logs or {}).items()}})

    def on_epoch_end(self, epoch, logs=None):
        logs = {k: float(v) for k, v in (logs or {}).items()}
        row = {"epoch": epoch + 1, **logs, "lr": float(keras.ops.convert_to_numpy(
            self.model.optimizer.learning_rate)), "seconds": round(time.time() - self.epoch_start, 2)}
        self.history.append(row)
        score = logs.get(self.monitor, logs.get(self.monitor.removeprefix("val_")))
        improved = score is not None and (self.state["best"] is None or score > self.state["best"])
        if improved:
            self.state.update(best=score, best_epoch=epoch + 1, wait=0)
            _save_model(self.model, self.out_dir / "best.keras")
        else:
            self.state["wait"] += 1
        self.state["epoch"] = epoch + 1
        _save_model(self.model, self.out_dir / "last.keras")
        if self.config.patience and self.state["wait"] >= self.config.patience:
            self.state["stopped_early"] = True
            self.model.stop_training = True
        _write_json(self.out_dir / "history.json", self.history)
        _write_json(self.out_dir / "state.json", self.state)
        if self.progress:
            self.progress({"stage": "epoch", "epoch": epoch + 1, "epochs": self.config.epochs,
                           "step": self.steps, "steps": self.steps, "metrics": row})


def _tensorboard(out: Path) -> list[keras.callbacks.Callback]:
    """Per-epoch TensorBoard scalars in ``out/tensorboard`` (written through TensorFlow and TensorBoard, so only with both)."""
    if importlib.util.find_spec("tensorflow") is None or importlib.util.find_spec("tensorboard") is None:
        return []
    return [keras.callbacks.TensorBoard(log_dir=str(out / "tensorboard"), write_graph=False, update_freq="epoch",
                                        profile_batch=0)]


def train_member(
    config: TrainConfig,
    dataset: Dataset,
    train_idx: np.ndarray,
    val_idx: np.ndarray | None,
    out_dir: str | Path,
    progress: ProgressFn | None = None,
) -> MemberResult:
    """Train (or resume) one model on ``dataset[train_idx]``, validating on ``val_idx``.

    Args:
        config: The run's settings; ``config.seed`` seeds Keras, numpy and augmentation.
        dataset: Labelled rows of ``config.task``.
        train_idx: Training rows (repeats allowed, e.g. a bootstrap sample).
        val_idx: Validation rows, or None (then the last epoch is kept).
        out_dir: Run folder; an existing one is resumed.
        progress: Optional hook called after every batch and epoch.

    Returns:
        The kept model's path (best on validation), its history and validation metrics.
    """
    task = get_task(config.task)
    if dataset.task.name != task.name:
        raise ValueError(f"dataset task: expected {task.name!r}; got {dataset.task.name!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(config.seed)
    segmentation = task.kind == "segmentation"
    train_idx = np.asarray(train_idx, dtype=np.int64)
    size = config.image_size
    if config.whole_photographs:
        dataset, train_idx, val_idx, size = _as_photographs(dataset, train_idx, val_idx, size or task.image_size)
    if config.oversample and not segmentation:
        train_idx = train_idx[oversample_indices(dataset.targets[train_idx], seed=config.seed)]
    aug = None
    mix = {}
    if config.augment is not None:
        acfg = augment_config(task.name, **{"seed": config.seed, **config.augment})
        aug = build_augment(acfg)
        if not segmentation:
            mix = dict(cutmix=acfg.cutmix, mixup=acfg.mixup, mix_alpha=acfg.mix_alpha)
    train_seq = BatchSequence(dataset.images, dataset.targets, train_idx, config.batch_size, task.num_classes,
                              segmentation, aug, shuffle=True, seed=config.seed, image_size=size,
                              max_steps=config.steps_per_epoch, **mix)
    val_seq = None
    if val_idx is not None and len(val_idx):
        val_idx = _limit(np.asarray(val_idx, dtype=np.int64), config.max_val, config.seed)
        val_seq = BatchSequence(dataset.images, dataset.targets, val_idx, max(config.batch_size, 64),
                                task.num_classes, segmentation, None, shuffle=False, image_size=size)
    monitor = "val_miou" if segmentation else "val_accuracy"
    if val_seq is None:
        monitor = monitor.removeprefix("val_")

    state_path, last_path = out / "state.json", out / "last.keras"
    state = {"epoch": 0, "best": None, "best_epoch": 0, "wait": 0, "stopped_early": False, "monitor": monitor}
    history: list = []
    with distribution_scope(config.distribute) as replicas:
        for sequence in (train_seq, val_seq):
            if sequence is not None:
                sequence.multiple_of = replicas
        steps = len(train_seq)  # after trimming to the replicas: the schedule counts these steps
        if state_path.exists() and last_path.exists():
            state = {**state, **json.loads(state_path.read_text())}
            if (out / "history.json").exists():
                history = json.loads((out / "history.json").read_text())[: state["epoch"]]
            model = keras.models.load_model(last_path)
            # The schedule follows the current config, so a resumed run may also extend ``epochs``;
            # the step counter (optimizer.iterations) and optimizer moments come from the checkpoint.
            model.optimizer.learning_rate = _schedule(config, steps)
            model.jit_compile = _jit_compile(config)  # the checkpoint keeps the setting it was saved with
        else:
            shape = tuple(size or task.image_size) + (task.channels,)
            model = build_model(config.model, input_shape=shape, num_classes=task.num_classes, **config.model_kwargs)
            if config.init_from:
                init_weights(model, config.init_from)
            _compile(model, config, dataset, train_idx, steps)
        state["replicas"] = replicas
        _write_json(out / "config.json", config.to_dict())
        if aug is not None:
            _write_json(out / "augment.json", A.to_dict(aug))

        done = state["epoch"] >= config.epochs or state["stopped_early"]
        if not done:
            train_seq.set_epoch(state["epoch"])
            hook = _EpochHook(out, config, state, history, monitor, progress, steps)
            model.fit(train_seq, validation_data=val_seq, epochs=config.epochs, initial_epoch=state["epoch"],
                      callbacks=[hook, *_tensorboard(out)], verbose=0)
    best = out / "best.keras"
    final = best if best.exists() else last_path
    val_metrics: dict[str, Any] = {}
    if val_seq is not None:
        kept = keras.models.load_model(final) if final != last_path or done else model
        images = resize_batch(dataset.images[val_idx], size)
        probs = predict_probs(kept, images)
        if segmentation:
            truth = resize_batch(dataset.targets[val_idx], size, masks=True)
            val_metrics = segmentation_report(truth, scored_argmax(probs, task.ignore_label), task.class_names,
                                             task.ignore_label)
        else:
            val_metrics = classification_report(dataset.targets[val_idx], probs.argmax(-1), task.class_names)
            val_metrics.pop("confusion")
    _write_json(out / "val_metrics.json", val_metrics)
    return MemberResult(final, history, val_metrics, state["epoch"], bool(state["stopped_early"]))
