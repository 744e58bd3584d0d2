"""Classify one blood-cell image (or many): ensemble probabilities, member votes, occlusion map."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from autobot.ensemble.bagging import Ensemble
from autobot.errors import DataError
from autobot.inference.common import colormap, entropy, forward, load_upload
from autobot.train.pipeline import resize_batch

__all__ = ["Classification", "load_blood_image", "classify", "classify_files", "classify_with_map", "occlusion_map",
           "render_heatmap", "occlusion_text"]


@dataclass
class Classification:
    """The ensemble's answer for one image.

    Attributes:
        image: The model input, uint8 ``(H, W, 3)`` at the ensemble's input size.
        probs: The ensemble's probability per class ``(K,)`` (sums to 1; ``Ensemble.combine``).
        member_probs: Each member's probabilities ``(M, K)``.
        label: The ensemble's class (argmax of ``probs``).
        votes: Each member's class ``(M,)``.
        agreement: How many members vote for ``label``.
        uncertainty: Entropy of ``probs`` (nats).
        class_names: Class name per label.
    """

    image: np.ndarray
    probs: np.ndarray
    member_probs: np.ndarray
    label: int
    votes: np.ndarray
    agreement: int
    uncertainty: float
    class_names: tuple[str, ...]

    @property
    def confidences(self) -> dict[str, float]:
        """Class name to probability (what ``gr.Label`` shows)."""
        return {name: float(p) for name, p in zip(self.class_names, self.probs)}

    @property
    def top_class(self) -> str:
        return self.class_names[self.label]

    def vote_rows(self) -> list[list]:
        """One row per member: member, its class, its probability for that class and for the ensemble's class."""
        return [[f"member {i + 1}", self.class_names[int(v)], round(float(p[int(v)]), 4), round(float(p[self.label]), 4)]
                for i, (v, p) in enumerate(zip(self.votes, self.member_probs))]

    @property
    def agreement_text(self) -> str:
        return f"{self.agreement} of {len(self.votes)} members agree on {self.top_class}"


def load_blood_image(source: str | Path | bytes, size: tuple[int, int] = (96, 96),
                     name: str | None = None) -> tuple[np.ndarray, str]:
    """Decode an upload to RGB at the model's input size, and a note saying what was done.

    Raises:
        DataError: Not an image, damaged, empty, or too large.
    """
    image, mode, fmt = load_upload(source, 3, name)
    h, w = image.shape[:2]
    described = f"{w}x{h} {mode} {fmt}"
    steps = []
    if mode != "RGB":
        steps.append("converted to RGB" + (" (transparency over white)" if mode in ("RGBA", "LA", "PA") else ""))
    if (h, w) != tuple(size):
        steps.append(f"resized to {size[1]}x{size[0]}" + ("" if h * size[1] == w * size[0] else
                                                           " (aspect ratio not kept)"))
        image = resize_batch(image[None], size)[0]
    note = (f"Your {described} was " + " and ".join(steps) + "." if steps else
            f"Your {described} is used as is ({size[1]}x{size[0]} RGB is what the models take).")
    return image, note


def _result(ensemble: Ensemble, image: np.ndarray, member_probs: np.ndarray) -> Classification:
    probs = ensemble.combine_probs(member_probs)
    label = int(probs.argmax())
    votes = member_probs.argmax(-1)
    return Classification(image, probs, member_probs, label, votes, int((votes == label).sum()),
                          float(entropy(probs)), ensemble.task.class_names)


def _prepare(ensemble: Ensemble, image: np.ndarray) -> np.ndarray:
    image = np.asarray(image, dtype=np.uint8)
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[-1] != 3:
        raise DataError(None, "image", "a uint8 (H, W, 3) RGB image", f"shape {image.shape}")
    return resize_batch(image[None], ensemble.input_shape[:2])[0]


def classify(ensemble: Ensemble, image: np.ndarray) -> Classification:
    """Classify one uint8 RGB image (resized to the input size if needed)."""
    x = _prepare(ensemble, image)
    return _result(ensemble, x, forward(ensemble, x[None])[:, 0])


def classify_batch(ensemble: Ensemble, images: np.ndarray) -> list[Classification]:
    """Classify uint8 images ``(N, H, W, 3)`` at the input size, in fixed-size batches."""
    member_probs = forward(ensemble, images)
    return [_result(ensemble, images[i], member_probs[:, i]) for i in range(len(images))]


def classify_files(ensemble: Ensemble, paths: Sequence[str | Path]) -> list[dict]:
    """One row per file: file, top class, probability, agreement; a bad file gets its error instead.

    Good files are classified together in batches, so a folder of images runs at batch speed.
    """
    size = ensemble.input_shape[:2]
    rows, images, good = [], [], []
    for path in paths:
        name = Path(path).name
        try:
            images.append(load_blood_image(path, size, name=name)[0])
            good.append(len(rows))
            rows.append({"file": name})
        except DataError as err:
            rows.append({"file": name, "top class": "", "probability": None, "agreement": "",
                         "error": str(err).removeprefix(f"{name}: ")})
    if images:
        for row, result in zip(good, classify_batch(ensemble, np.stack(images))):
            rows[row].update({"top class": result.top_class, "probability": round(float(result.probs[result.label]), 4),
                              "agreement": f"{result.agreement}/{len(result.votes)}", "error": ""})
    return rows


def _occluded_probs(ensemble: Ensemble, x: np.ndarray, patch: int, stride: int,
                    fill: int) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Member probabilities ``(M, 1 + P, K)`` for ``x`` (row 0) and its P occluded copies, in one batch."""
    h, w = x.shape[:2]
    positions = [(top, left) for top in _starts(h, patch, stride) for left in _starts(w, patch, stride)]
    batch = np.repeat(x[None], len(positions) + 1, axis=0)
    for i, (top, left) in enumerate(positions, start=1):
        batch[i, top : top + patch, left : left + patch] = fill
    return forward(ensemble, batch), positions


def _heat(probs: np.ndarray, positions: list[tuple[int, int]], label: int, shape: tuple[int, int],
          patch: int) -> np.ndarray:
    """Mean drop of ``probs[:, label]`` from row 0 over the patches covering each pixel."""
    h, w = shape
    patch_h, patch_w = min(patch, h), min(patch, w)
    drops = probs[0, label] - probs[1:, label]
    total, count = np.zeros((h, w), np.float64), np.zeros((h, w), np.float64)
    for drop, (top, left) in zip(drops, positions):
        total[top : top + patch_h, left : left + patch_w] += drop
        count[top : top + patch_h, left : left + patch_w] += 1
    return (total / np.maximum(count, 1)).astype(np.float32)


def occlusion_map(ensemble: Ensemble, image: np.ndarray, label: int | None = None, patch: int = 24,
                  stride: int = 12, fill: int = 128) -> np.ndarray:
    """Occlusion sensitivity: how much the class probability drops when each region is greyed out.

    A ``patch`` x ``patch`` grey square slides over the image with ``stride``; all occluded
    copies go through the members in one batch. Each pixel gets the mean drop of the
    ensemble's probability for ``label`` (default: its top class) over the patches that cover
    it. Positive = the region supports the class. Works on any backend (no gradients).

    Returns:
        float32 ``(H, W)`` at the model input size.
    """
    x = _prepare(ensemble, image)
    member_probs, positions = _occluded_probs(ensemble, x, patch, stride, fill)
    probs = ensemble.combine_probs(member_probs)
    label = int(probs[0].argmax()) if label is None else label
    return _heat(probs, positions, label, x.shape[:2], patch)


def classify_with_map(ensemble: Ensemble, image: np.ndarray, patch: int = 24, stride: int = 12,
                      fill: int = 128) -> tuple[Classification, np.ndarray]:
    """:func:`classify` and :func:`occlusion_map` (of the top class) from one forward pass.

    The unoccluded image is row 0 of the occluded batch, so the app's Classify request runs
    the members once (50 images at the defaults) instead of twice.
    """
    x = _prepare(ensemble, image)
    member_probs, positions = _occluded_probs(ensemble, x, patch, stride, fill)
    result = _result(ensemble, x, member_probs[:, 0])
    return result, _heat(ensemble.combine_probs(member_probs), positions, result.label, x.shape[:2], patch)


def _starts(length: int, patch: int, stride: int) -> list[int]:
    patch = min(patch, length)
    starts = list(range(0, length - patch + 1, stride))
    if starts[-1] != length - patch:
        starts.append(length - patch)
    return starts


def render_heatmap(image: np.ndarray, heat: np.ndarray, size: int = 288, alpha: float = 0.65) -> np.ndarray:
    """The occlusion map over the image, enlarged to ``size``.

    Only positive drops are drawn, scaled to the largest; each pixel's colour is blended in
    proportion to its drop, so regions that do not matter show the image unchanged.
    """
    positive = np.clip(heat, 0, None)
    scaled = positive / positive.max() if positive.max() > 0 else positive
    weight = (alpha * scaled)[..., None]
    colours = colormap(scaled, "inferno").astype(np.float32)
    blended = np.round(image.astype(np.float32) * (1 - weight) + colours * weight).astype(np.uint8)
    return np.asarray(Image.fromarray(blended).resize((size, size), Image.Resampling.BICUBIC))


def occlusion_text(heat: np.ndarray, class_name: str) -> str:
    """One sentence on how much the most important region matters."""
    drop = 100 * max(float(heat.max()), 0.0)
    if drop < 0.5:
        return (f"No region matters much: covering any one changes the probability of {class_name} by less "
                f"than 0.5 percentage points.")
    return f"Covering the most important region lowers the probability of {class_name} by {drop:.1f} percentage points."
