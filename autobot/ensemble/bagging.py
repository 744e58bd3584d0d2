"""Bagged ensembles: train N members on bootstrap samples, save and load them as one folder.

The folder format is the same for both tasks::

    manifest.json        task, classes, input shape, members, recipe, data fingerprint, metrics
    member_0.keras ...   one self-contained Keras model per member

Training is resumable member by member (each member's run folder under ``runs/`` is
resumed by :func:`autobot.train.member.train_member`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import keras
import numpy as np

from autobot import __version__
from autobot.data import Dataset, train_val_indices
from autobot.ensemble.combine import LOG_FLOOR, accumulate, check_rule, combine_probs, entropy, finish
from autobot.errors import DataError
from autobot.evaluate.interval import group_confusions, interval, resampled_mious
from autobot.evaluate.metrics import classification_report, scored_argmax, segmentation_report
from autobot.models.fold import fold_batchnorm
from autobot.models.precision import with_precision
from autobot.models.resize import at_input_size
from autobot.runtime import serving_precision
from autobot.tasks import TaskSpec, get_task
from autobot.train.config import TrainConfig
from autobot.train.member import ProgressFn, _limit, _save_model, _write_json, predict_probs, train_member
from autobot.train.pipeline import resize_batch

__all__ = ["Ensemble", "EnsemblePrediction", "bootstrap_rows", "out_of_bag_rows", "train_ensemble", "load_ensemble",
           "MANIFEST", "check_lone_half_padding"]

MANIFEST = "manifest.json"
_REQUIRED = {"task": str, "classes": list, "input_shape": list, "members": list}


@dataclass
class EnsemblePrediction:
    """Combined and per-member outputs for a batch.

    Attributes:
        probs: The members' probabilities combined (``Ensemble.combine``), ``(N, K)`` or ``(N, H, W, K)``.
        member_probs: ``(M, N, ...)`` probabilities of each member; None when ``predict`` streamed them.
        labels: ``argmax`` of ``probs`` (never the ignore label): class per image, or the mask ``(N, H, W)``.
        uncertainty: Entropy of ``probs`` (nats), per image or per pixel.
    """

    probs: np.ndarray
    member_probs: np.ndarray | None
    labels: np.ndarray
    uncertainty: np.ndarray


class Ensemble:
    """Members loaded from an ensemble folder; ``predict`` combines their probabilities.

    ``combine`` is the manifest's rule (``"mean"`` unless it says ``"geometric"``; see
    :mod:`autobot.ensemble.combine`); set it to compare rules on the same members. ``precision``
    says what the members compute in (``autobot.models.precision``). ``lone_half_padding`` is the
    manifest's rows mirrored below a Mars half segmented on its own (0 unless it says; see
    :meth:`predict`); set it to compare.
    """

    def __init__(self, task: TaskSpec, members: Sequence[keras.Model], manifest: dict[str, Any], path: Path | None,
                 precision: str = "float32"):
        self.task, self.members, self.manifest, self.path = task, list(members), manifest, path
        self.precision = precision
        self.input_shape = tuple(manifest["input_shape"])
        self.combine = manifest.get("combine", "mean")
        self.lone_half_padding = check_lone_half_padding(manifest.get("lone_half_padding", 0),
                                                         Path(path) / MANIFEST if path else None)
        self._sized: dict[tuple[int, int], Ensemble | None] = {}

    def at_size(self, height: int, width: int) -> Ensemble | None:
        """These members rebuilt for ``(height, width)`` inputs, sharing their weights; None when one cannot be.

        A fully convolutional member segments a whole photograph at its own aspect ratio with the
        weights it learned on 64x128 halves, and sees context across the seam that halving cut: on
        the shipped Mars ensemble, held-out rows score 0.735 mIoU with each pair of halves segmented
        as its 128x128 photograph, 0.7245 one half at a time (``bench/mars_whole_frames.py``). Members with size-bound layers (a
        transformer bottleneck's position embedding) refuse the rebuild. Rebuilt ensembles are cached.
        """
        size = (int(height), int(width))
        if size == tuple(self.input_shape[:2]):
            return self
        if size not in self._sized:
            self._sized[size] = _rebuilt(self, size)
        sized = self._sized[size]
        if sized is not None:
            sized.combine, sized.lone_half_padding = self.combine, self.lone_half_padding
        return sized

    def combine_probs(self, member_probs: np.ndarray) -> np.ndarray:
        """The ensemble's probabilities from member probabilities ``(M, ...)``, by its rule."""
        return combine_probs(member_probs, self.combine)

    def __len__(self) -> int:
        return len(self.members)

    def _prepare(self, images: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
        x = np.asarray(images)
        c = self.task.channels
        one_gray = c == 1 and x.ndim == 3 and x.shape[-1] == 1 and x.shape[0] != 1 and x.shape[1] > 1
        if x.ndim == 2 or (x.ndim == 3 and c == 3 and x.shape[-1] == 3) or one_gray:  # one image
            x = x[None]
        if x.ndim == 3:
            x = x[..., None]
        if x.ndim != 4 or x.shape[-1] != c:
            raise DataError(None, "images", f"uint8 (N, H, W, {c}) for task {self.task.name!r}", f"shape {np.shape(images)}")
        original = x.shape[1:3]
        return resize_batch(x, self.input_shape[:2]), original

    def predict(self, images: np.ndarray, tta: bool = False, batch_size: int = 128,
                keep_members: bool = True, halves: np.ndarray | None = None,
                scales: Sequence[float] = (1.0,)) -> EnsemblePrediction:
        """Combine member probabilities for uint8 images (one image or a batch).

        Args:
            images: ``(N, H, W, C)`` or one ``(H, W, C)`` image (Mars also ``(H, W)``/``(N, H, W)``).
            tta: Also predict flipped copies and average (see ``_tta_views``; masks flipped back).
            batch_size: Images per forward pass.
            keep_members: Also return each member's probabilities. False streams them into the
                combined ones (``member_probs`` is then None): the same ``probs`` while holding two
                arrays of probabilities instead of about ``2 * M + 2`` (what evaluate and predict use).
            halves: ``(P, 2)`` rows (top, bottom) cut from one photograph
                (:meth:`autobot.data.Dataset.photograph_halves`): each pair is segmented as the
                whole photograph it was cut from (:meth:`at_size`) and split back. Ignored where
                the members only take their trained size. Any other row is segmented on its own,
                with ``lone_half_padding`` rows mirrored below it when that is set: members
                trained on whole photographs segment a half better as the top of a taller frame
                (shipped Mars ensemble, held-out rows each on its own: 0.6999 as is, 0.7117 with 16
                rows, picked on out-of-bag rows; ``bench/mars_lone_halves.py``).
            scales: Segmentation: segment each image (each whole photograph) resized by each of these
                factors (1: as is; sides rounded to multiples of 16, :func:`multi_scale_size`) and
                combine the scales' probabilities by the ensemble's rule, as if each were another
                member. A scale ``s`` costs about ``s**2`` of a plain prediction.
        """
        scales = check_scales(scales, self.task, self.path)
        if scales != (1.0,):
            return self._predict_scales(images, tta, batch_size, keep_members, halves, scales)
        x, original = self._prepare(images)
        views = _tta_views(self.task) if tta else _tta_views(self.task)[:1]
        pairs = np.zeros((0, 2), np.int64) if halves is None else np.asarray(halves, np.int64).reshape(-1, 2)
        whole = self.at_size(2 * x.shape[1], x.shape[2]) if len(pairs) and self.task.kind == "segmentation" else None
        if whole is None:
            pairs = pairs[:0]
        singles = np.setdiff1d(np.arange(len(x)), pairs.ravel())
        frames = np.concatenate([x[pairs[:, 0]], x[pairs[:, 1]]], axis=1) if len(pairs) else None
        lone = x[singles] if len(pairs) else x  # the rows segmented on their own, gathered (and padded) once
        lone_members = self.members
        pad = self.lone_half_padding if self.task.kind == "segmentation" and len(singles) else 0
        if pad:
            lone_members = self.padded_for_lone_halves(x.shape[1:3]).members
            lone = np.pad(lone, ((0, 0), (0, pad), (0, 0), (0, 0)), mode="symmetric")

        def over_views(model, inputs):
            p = sum(undo(predict_probs(model, np.ascontiguousarray(view(inputs)), batch_size)) for view, undo in views)
            return p / len(views)

        def over_singles(i):
            return over_views(lone_members[i], lone)[:, : x.shape[1]]  # the half's own rows, without the padding

        per_member, total = [], None
        for i in range(len(self.members)):
            if len(pairs):
                q = over_views(whole.members[i], frames)
                p = np.empty((len(x), *x.shape[1:3], q.shape[-1]), np.float32)
                p[pairs[:, 0]], p[pairs[:, 1]] = q[:, : x.shape[1]], q[:, x.shape[1] :]
                del q
                if len(singles):
                    p[singles] = over_singles(i)
            else:
                p = over_singles(i)
            if self.task.kind == "segmentation" and tuple(p.shape[1:3]) != tuple(original):
                p = _resize_probs(p, original)
            p = p.astype(np.float32, copy=False)
            if keep_members:
                per_member.append(p)
                continue
            if total is None:
                total = np.zeros_like(p)
            accumulate(total, p, self.combine, scratch=p)  # p is not needed again: its log goes in place
            del p
        if keep_members:
            member_probs = np.stack(per_member)
            probs = self.combine_probs(member_probs)
        else:
            member_probs = None
            probs = finish(total, len(self.members), self.combine)
        labels = scored_argmax(probs, self.task.ignore_label)
        return EnsemblePrediction(probs, member_probs, labels, entropy(probs))

    def padded_for_lone_halves(self, size: Sequence[int]) -> Ensemble:
        """The members rebuilt for a half with ``lone_half_padding`` rows below; a DataError if they cannot be."""
        padded = self.at_size(size[0] + self.lone_half_padding, size[1])
        if padded is None:
            raise DataError(Path(self.path) / MANIFEST if self.path else None, "lone_half_padding",
                            "rows the members can be rebuilt to take (a multiple of "
                            "16 for a U-Net of four poolings; 0 for members bound to one size)",
                            f"{self.lone_half_padding} (for {size[0]}x{size[1]} inputs)")
        return padded

    def _predict_scales(self, images, tta, batch_size, keep_members, halves, scales) -> EnsemblePrediction:
        """``predict`` at each scale (the members rebuilt for it), resized back and combined by the ensemble's rule."""
        x, original = self._prepare(images)
        per_scale = []
        for scale in scales:
            size = multi_scale_size(x.shape[1:3], scale)
            sized = self.at_size(*size)
            if sized is None:
                raise DataError(self.path, "scales", "members that can take inputs of another size",
                                f"a member bound to {self.input_shape[0]}x{self.input_shape[1]} (scale {scale})")
            pred = sized.predict(_scaled_images(x, size), tta=tta, batch_size=batch_size, keep_members=keep_members,
                                 halves=halves)
            probs = pred.member_probs if keep_members else pred.probs[None]
            if tuple(probs.shape[2:4]) != tuple(original):
                probs = np.stack([_resize_for_rule(p, original, self.combine) for p in probs])
            per_scale.append(probs)
            del pred
        # combining the scales of each member, then the members, is combining all views at once (mean, geometric)
        member_probs = np.stack([self.combine_probs(views) for views in np.stack(per_scale, axis=1)])
        del per_scale
        probs = self.combine_probs(member_probs)
        labels = scored_argmax(probs, self.task.ignore_label)
        return EnsemblePrediction(probs, member_probs if keep_members else None, labels, entropy(probs))

    def whole_photographs(self, dataset: Dataset) -> np.ndarray:
        """The dataset's photograph halves (:meth:`Dataset.photograph_halves`) this ensemble can segment whole."""
        pairs = dataset.photograph_halves()
        if not len(pairs) or self.at_size(2 * self.input_shape[0], self.input_shape[1]) is None:
            return pairs[:0]
        return pairs

    def evaluate(self, dataset: Dataset, tta: bool = False, halves: np.ndarray | None = None,
                 scales: Sequence[float] = (1.0,)) -> dict[str, Any]:
        """The task's report (see ``autobot.evaluate.metrics``) on a labelled dataset.

        ``halves``: row pairs to segment as whole photographs (``predict``; e.g. :meth:`whole_photographs`).
        ``scales``: as for :meth:`predict`.
        """
        if not dataset.labelled:
            raise DataError(dataset.source, "labels", "a labelled dataset", "no labels or masks")
        pred = self.predict(dataset.images, tta=tta, keep_members=False, halves=halves, scales=scales)
        if self.task.kind == "segmentation":
            report = segmentation_report(dataset.targets, pred.labels, self.task.class_names, self.task.ignore_label)
            report["miou_interval95"] = _miou_interval(dataset, pred.labels, self.task)
            return report
        return classification_report(dataset.targets, pred.labels, self.task.class_names)


def _miou_interval(dataset: Dataset, labels: np.ndarray, task: TaskSpec) -> list[float]:
    """95% bootstrap interval of the mIoU over resampled photographs (``source_id``; rows where a file has none).

    mIoU pools pixels over rows, and two halves of one photograph are not independent, so whole
    photographs are resampled: the interval says how far the score could move with other photographs.
    """
    groups = dataset.groups if dataset.groups is not None else np.arange(len(dataset))
    confusions = group_confusions(dataset.targets, labels, groups, task.num_classes, task.ignore_label)
    return [round(v, 4) for v in interval(resampled_mious(confusions, 1000, seed=0, ignore_label=task.ignore_label))]


def check_lone_half_padding(value: Any, source: Any = None, key: str = "lone_half_padding") -> int:
    """``lone_half_padding`` as a whole number of rows (0 or more); a DataError naming ``key`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise DataError(source, key, "a whole number of rows, 0 or more (such as 16)", repr(value)[:80])
    return int(value)


def multi_scale_size(size: Sequence[int], scale: float) -> tuple[int, int]:
    """``size`` times ``scale``, each side rounded to a multiple of 16 (four 2x poolings), at least 16."""
    return tuple(max(16, int(round(side * scale / 16)) * 16) for side in size[:2])


def check_scales(scales: Any, task: TaskSpec, source: Any = None) -> tuple[float, ...]:
    """``scales`` as a tuple of floats in (0, 4]; a DataError naming ``scales`` otherwise."""
    try:
        values = tuple(float(v) for v in scales)
    except (TypeError, ValueError):
        raise DataError(source, "scales", "numbers such as 1,1.25", repr(scales)[:80]) from None
    if not values or any(not (0 < v <= 4) for v in values):
        raise DataError(source, "scales", "one or more factors in (0, 4], such as 1,1.25", repr(scales)[:80])
    if values != (1.0,) and task.kind != "segmentation":
        raise DataError(source, "scales", f"1 for task {task.name!r} (multi-scale is for segmentation)", repr(scales)[:80])
    return values


def _scaled_images(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``(N, H, W, C)`` images at ``size``: bilinear when enlarging (area averaging would blur into blocks)."""
    import cv2

    if tuple(x.shape[1:3]) == tuple(size):
        return x
    enlarge = size[0] * size[1] > x.shape[1] * x.shape[2]
    out = np.stack([cv2.resize(img, (size[1], size[0]), interpolation=cv2.INTER_LINEAR if enlarge else cv2.INTER_AREA)
                    for img in x])
    return out.reshape(len(x), *size, x.shape[-1])


def _rebuilt(ensemble: Ensemble, size: tuple[int, int]) -> Ensemble | None:
    members = [at_input_size(model, *size) for model in ensemble.members]
    if any(member is None for member in members):
        return None
    return Ensemble(ensemble.task, members, {**ensemble.manifest, "input_shape": [*size, ensemble.task.channels]},
                    ensemble.path, ensemble.precision)


def _same(a: np.ndarray) -> np.ndarray:
    return a


def _hflip(a: np.ndarray) -> np.ndarray:
    return a[:, :, ::-1]


def _vflip(a: np.ndarray) -> np.ndarray:
    return a[:, ::-1]


def _rot180(a: np.ndarray) -> np.ndarray:
    return a[:, ::-1, ::-1]


def _tta_views(task: TaskSpec) -> list[tuple[Callable, Callable]]:
    """(view, undo) pairs. A blood cell has no up or down, so its four flips are all valid views;
    a Mars frame has sky at the top, so only the mirror image is (and its mask is mirrored back)."""
    if task.kind == "segmentation":
        return [(_same, _same), (_hflip, _hflip)]
    return [(_same, _same), (_hflip, _same), (_vflip, _same), (_rot180, _same)]


def _resize_for_rule(p: np.ndarray, size: tuple[int, int], rule: str) -> np.ndarray:
    """Probabilities resized in the space ``rule`` averages in (log-probabilities for ``"geometric"``).

    Bilinear resizing is linear, so resizing there commutes with combining: resizing each member
    and then combining gives what combining and then resizing gives, streamed or not.
    """
    if rule != "geometric":
        return _resize_probs(p, size)
    logs = _resize_probs(np.log(np.maximum(p, LOG_FLOOR)), size)
    logs -= logs.max(-1, keepdims=True)
    out = np.exp(logs)
    out /= out.sum(-1, keepdims=True)
    return out


def _resize_probs(p: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import cv2

    return np.stack([cv2.resize(img, (size[1], size[0]), interpolation=cv2.INTER_LINEAR) for img in p])


def _member_val_metrics(task: TaskSpec, probs: np.ndarray, truth: np.ndarray) -> dict[str, Any]:
    if task.kind == "segmentation":
        return segmentation_report(truth, scored_argmax(probs, task.ignore_label), task.class_names, task.ignore_label)
    return classification_report(truth, probs.argmax(-1), task.class_names)


def train_ensemble(
    config: TrainConfig,
    dataset: Dataset,
    n_members: int = 5,
    out_dir: str | Path = "ensemble",
    models: Sequence[str] | None = None,
    bootstrap: bool = True,
    recipe: dict[str, Any] | None = None,
    progress: ProgressFn | None = None,
    only: Sequence[int] | None = None,
    combine: str = "mean",
    seed_offset: int = 0,
    lone_half_padding: int = 0,
) -> Path:
    """Train a bagged ensemble and write its folder (resumable: re-run to continue).

    Args:
        config: Settings shared by all members; member ``i`` uses seed ``config.seed + seed_offset + i``.
        dataset: Labelled rows; split once into train/validation by ``config.val_fraction``.
        n_members: Number of members (ignored when ``models`` is given).
        out_dir: Ensemble folder (manifest + member files; member runs under ``runs/``).
        models: Model name per member (e.g. the five U-Net variants); default ``config.model``.
        bootstrap: Each member trains on a bootstrap sample (with replacement) of the training split.
        recipe: The recipe as written, stored in the manifest for provenance.
        progress: Hook called with the member index added to every event.
        only: Train just these member indices and write no manifest, so several workers can
            train members at once into one shared folder; a final run without ``only`` finds
            their finished runs and writes the manifest.
        combine: How the ensemble combines member probabilities (:mod:`autobot.ensemble.combine`).
        seed_offset: Shifts the members' seeds and bootstrap samples but not the train/validation
            split (``config.seed``), so a later run adds new members on the same held-out rows.
        lone_half_padding: Mars: rows mirrored below a half segmented on its own (:meth:`Ensemble.predict`),
            written to the manifest; 16 helped members trained on whole photographs.

    Returns:
        ``out_dir``.
    """
    task = get_task(config.task)
    if isinstance(seed_offset, bool) or not isinstance(seed_offset, int) or seed_offset < 0:
        raise DataError(out_dir, "ensemble.seed_offset", "a whole number >= 0", repr(seed_offset))
    check_rule(combine, out_dir, "ensemble.combine")
    check_lone_half_padding(lone_half_padding, out_dir, "ensemble.lone_half_padding")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = list(models) if models else [config.model] * n_members
    train_idx, val_idx = train_val_indices(dataset, config.val_fraction, config.seed)
    val_idx = _limit(val_idx, config.max_val, config.seed)
    started = time.time()
    manifest: dict[str, Any] = {
        "format": "autobot-ensemble/1",
        "task": task.name,
        "classes": list(task.class_names),
        "input_shape": list(tuple(config.image_size or task.image_size) + (task.channels,)),
        "members": [],
        "recipe": recipe or {},
        "config": config.to_dict(),
        "data": {"source": dataset.source, "fingerprint": dataset.fingerprint(), "n": len(dataset),
                 "n_train": int(len(train_idx)), "n_val": int(len(val_idx))},
        "bootstrap": bootstrap,
        "combine": combine,
        "autobot_version": __version__,
    }
    if task.kind == "segmentation":
        manifest["lone_half_padding"] = lone_half_padding
    val_images = resize_batch(dataset.images[val_idx], config.image_size)
    val_truth = dataset.targets[val_idx]
    if task.kind == "segmentation":
        val_truth = resize_batch(val_truth, config.image_size, masks=True)
    inits = [_member_init(config.init_from, i) for i in range(len(names))]  # bad folders fail before training
    member_probs = []
    for i, name in enumerate(names):
        if only is not None and i not in only:
            continue
        seed = config.seed + seed_offset + i
        rows = train_idx
        if bootstrap:
            rows = bootstrap_rows(train_idx, config.seed, seed)
        member_cfg = replace(config, model=name, seed=seed, init_from=inits[i])
        hook = (lambda e, i=i: progress({**e, "member": i, "members": len(names)})) if progress else None
        result = train_member(member_cfg, dataset, rows, val_idx, out / "runs" / f"member_{i}", progress=hook)
        if only is not None:
            keras.backend.clear_session()
            continue
        file = f"member_{i}.keras"
        save_for_serving(result.model_path, out / file, config.image_size or task.image_size)
        probs = predict_probs(keras.models.load_model(out / file), val_images)
        member_probs.append(probs)
        keras.backend.clear_session()
        manifest["members"].append({"file": file, "model": name, "seed": seed,
                                    "model_kwargs": member_cfg.model_kwargs, "epochs": result.epochs_done,
                                    "val_metrics": _member_val_metrics(task, probs, val_truth)})
        manifest["created"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        manifest["val_metrics"] = _member_val_metrics(task, combine_probs(np.stack(member_probs), combine), val_truth)
        manifest["train_seconds"] = round(time.time() - started, 1)
        _write_json(out / MANIFEST, manifest)
    return out


def bootstrap_rows(train_idx: np.ndarray, split_seed: int, member_seed: int) -> np.ndarray:
    """The bootstrap sample of the member trained with ``member_seed`` (as its manifest records it).

    Rows of ``train_idx`` missing from it are that member's out-of-bag rows: ones it never saw,
    from the same photographs' distribution as its training rows.
    """
    rng = np.random.default_rng([split_seed, member_seed - split_seed])
    return rng.choice(train_idx, len(train_idx), replace=True)


def _member_init(init_from: str | None, index: int) -> str | None:
    """An ensemble folder as ``init_from`` means: member ``i`` starts from its member ``i``."""
    if not init_from or not Path(init_from).is_dir():
        return init_from
    members = _read_manifest(Path(init_from))["members"]
    if index >= len(members):
        raise DataError(Path(init_from) / MANIFEST, "members", f"at least {index + 1} members to start from",
                        f"{len(members)}")
    return str(Path(init_from) / members[index]["file"])


def save_for_serving(checkpoint: str | Path, target: str | Path, size: Sequence[int] | None = None) -> Path:
    """Copy a member without its optimizer state: a third of the size, the same predictions.

    The training checkpoint under ``runs/`` keeps the optimizer, so resuming is unaffected.
    ``size``: the ensemble's ``(H, W)``; a member trained at another (whole photographs) is
    rebuilt for it (:func:`autobot.models.resize.at_input_size`).
    """
    target = Path(target)
    model = keras.models.load_model(checkpoint, compile=False)
    if size is not None:
        resized = at_input_size(model, *size[:2])
        if resized is None:
            raise DataError(checkpoint, "input size", f"a model that can take {size[0]}x{size[1]} inputs",
                            f"one bound to {model.input_shape[1]}x{model.input_shape[2]}")
        model = resized
    _save_model(model, target)
    return target


SPLIT_PARTS = ("heldout", "trained", "outofbag")


def split_rows(ensemble: Ensemble, dataset: Dataset, part: str = "heldout", source: Any = None) -> Dataset:
    """The ``"heldout"`` (validation), ``"trained"`` or ``"outofbag"`` rows of the ensemble's split.

    Refused for other data. Bagged members each saw a bootstrap sample of the training rows, so
    ``"trained"`` mixes rows a member saw with rows it did not; it still bounds how well they fit.
    ``"outofbag"`` is :func:`out_of_bag_rows`.
    """
    if part not in SPLIT_PARTS:
        raise ValueError(f"part: expected one of {SPLIT_PARTS}; got {part!r}")
    trained_on = ensemble.manifest.get("data", {}).get("fingerprint")
    flag = {"outofbag": "--out-of-bag"}.get(part, f"--{part}")
    if trained_on != dataset.fingerprint():
        raise DataError(source or dataset.source, flag, f"the data this ensemble was trained on "
                        f"(fingerprint {trained_on})", f"other data (fingerprint {dataset.fingerprint()})")
    if part == "outofbag":
        rows = out_of_bag_rows(ensemble.manifest, dataset)
        if not len(rows):
            raise DataError(source or dataset.source, flag, "training rows outside every member's bootstrap sample",
                            "none (members trained without bootstrap, or on every photograph)")
        return dataset.take(rows)
    config = ensemble.manifest["config"]
    train_idx, val_idx = train_val_indices(dataset, config["val_fraction"], config["seed"])
    return dataset.take(train_idx if part == "trained" else val_idx)


def out_of_bag_rows(manifest: dict[str, Any], dataset: Dataset) -> np.ndarray:
    """Training rows that no member trained on, whole photographs at a time.

    A second honest score beside the held-out rows: choices made on these (a test-time
    augmentation, a combine rule, thresholds) leave the held-out rows for the final report. A row
    counts only when no row of its group (``source_id``: the other half of its photograph) is in
    any member's bootstrap sample, since whole-photograph training draws both halves with either.
    Empty for members trained without bootstrap. Members fine-tuned from weights trained on
    another sample may have seen some of these rows; the manifest cannot tell.
    """
    config = manifest["config"]
    train_idx, _ = train_val_indices(dataset, config["val_fraction"], config["seed"])
    if not manifest.get("bootstrap", True):
        return train_idx[:0]
    sampled = np.zeros(len(dataset), bool)
    for member in manifest["members"]:
        sampled[bootstrap_rows(train_idx, config["seed"], member["seed"])] = True
    if dataset.groups is None:
        return train_idx[~sampled[train_idx]]
    _, group = np.unique(dataset.groups, return_inverse=True)
    seen_groups = np.unique(group[sampled])
    return train_idx[~np.isin(group[train_idx], seen_groups)]


def load_task_ensemble(task: str, path: str | Path | None = None, precision: str | None = None) -> "Ensemble":
    """The ensemble at ``path`` (default: the shipped one for ``task``), refused if it serves another task."""
    from autobot.jobs.catalog import SHIPPED_DIR

    folder = Path(path) if path else SHIPPED_DIR / get_task(task).name
    ensemble = load_ensemble(folder, precision)
    if ensemble.task.name != get_task(task).name:
        raise DataError(folder / MANIFEST, "task", repr(get_task(task).name), repr(ensemble.task.name))
    return ensemble


def _read_manifest(path: Path) -> dict[str, Any]:
    file = path / MANIFEST
    if not path.is_dir():
        raise DataError(path, None, "an ensemble folder with manifest.json", "no such folder")
    if not file.is_file():
        raise DataError(file, None, "an ensemble manifest (JSON)", "no such file",
                        "Train one with `python -m autobot train RECIPE --out DIR`.")
    try:
        manifest = json.loads(file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(file, None, "valid JSON", f"unreadable content ({err})") from None
    if not isinstance(manifest, dict):
        raise DataError(file, None, "a JSON object", type(manifest).__name__)
    for key, kind in _REQUIRED.items():
        if key not in manifest:
            raise DataError(file, key, f"a {kind.__name__}", "nothing (key missing)")
        if not isinstance(manifest[key], kind):
            raise DataError(file, key, f"a {kind.__name__}", repr(manifest[key])[:80])
    if not manifest["members"]:
        raise DataError(file, "members", "at least one member", "an empty list")
    check_rule(manifest.get("combine", "mean"), file, "combine")
    for i, member in enumerate(manifest["members"]):
        if not isinstance(member, dict) or not isinstance(member.get("file"), str):
            raise DataError(file, f"members[{i}].file", "a member file name", repr(member)[:80])
    return manifest


def load_ensemble(path: str | Path, precision: str | None = None) -> Ensemble:
    """Load an ensemble folder for inference; a missing or corrupt manifest or member raises DataError.

    Members come back with their BatchNormalization folded into the convolutions
    (``autobot.models.fold``): same predictions, faster serving. Training reads the member files.
    ``precision`` (``"auto"``, ``"float32"``, ``"bfloat16"``; default ``AUTOBOT_SERVING_PRECISION``
    or ``"auto"``) is resolved by :func:`autobot.runtime.serving_precision`: bfloat16 where the CPU
    computes it natively, to within 1e-4 mIoU of float32 and about 1.6x the batch throughput.
    """
    import autobot.models  # noqa: F401  (registers custom layers before deserializing)
    import autobot.train.losses  # noqa: F401
    import autobot.evaluate.metrics  # noqa: F401
    import autobot.train.schedules  # noqa: F401

    path = Path(path)
    manifest = _read_manifest(path)
    precision = serving_precision(precision)
    task = get_task(manifest["task"])
    if manifest["classes"] != list(task.class_names):
        raise DataError(path / MANIFEST, "classes", f"{list(task.class_names)}", f"{manifest['classes']}")
    members = []
    for i, member in enumerate(manifest["members"]):
        file = path / member["file"]
        if not file.is_file():
            raise DataError(file, f"members[{i}]", "a .keras model file", "no such file")
        try:
            model = keras.models.load_model(file, compile=False)
        except Exception as err:  # noqa: BLE001  (any unreadable model is a data problem for the user)
            raise DataError(file, f"members[{i}]", "a Keras model file", f"unreadable ({type(err).__name__})") from None
        members.append(with_precision(fold_batchnorm(model), precision))
    return Ensemble(task, members, manifest, path, precision)
