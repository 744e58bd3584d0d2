"""Segment a Mars image of any size: tile to the model's 64x128, stitch, and render the results."""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from pathlib import Path

import cv2
import numpy as np

from autobot.ensemble.bagging import Ensemble
from autobot.errors import DataError
from autobot.evaluate.metrics import scored_argmax
from autobot.inference.common import colormap, entropy, forward_combined, load_upload
from autobot.tasks import TaskSpec
from autobot.train.pipeline import resize_batch

__all__ = ["Segmentation", "load_mars_image", "segment", "overlay", "class_shares", "uncertainty_image",
           "legend_html", "MAX_SIDE"]

#: Larger images are shrunk to this longest side first (the masks come back at this size).
MAX_SIDE = 1024


@dataclass
class Segmentation:
    """The ensemble's mask for one image, at the image's size.

    Attributes:
        image: The grayscale image, uint8 ``(H, W)``.
        probs: Mean class probabilities, float32 ``(H, W, K)``.
        labels: The mask ``(H, W)`` (never the ignore label).
        uncertainty: Per-pixel entropy of ``probs`` (nats).
        tiles: How many model-sized tiles were predicted.
    """

    image: np.ndarray
    probs: np.ndarray
    labels: np.ndarray
    uncertainty: np.ndarray
    tiles: int


def load_mars_image(source: str | Path | bytes, name: str | None = None,
                    max_side: int = MAX_SIDE) -> tuple[np.ndarray, str]:
    """Decode an upload to grayscale ``(H, W)`` (shrunk to ``max_side`` if larger) and a note on what was done.

    Raises:
        DataError: Not an image, damaged, empty, or too large.
    """
    image, mode, fmt = load_upload(source, 1, name)
    image = image[..., 0]
    h, w = image.shape
    steps = [] if mode == "L" else ["converted to 8-bit grayscale" + (" (rescaled from its value range)"
                                                                      if mode in ("I;16", "I;16B", "I;16L", "I", "F")
                                                                      else "")]
    if max(h, w) > max_side:
        scale = max_side / max(h, w)
        size = (max(1, round(h * scale)), max(1, round(w * scale)))
        image = resize_batch(image[None, ..., None], size)[0, ..., 0]
        steps.append(f"shrunk to {size[1]}x{size[0]}")
    note = f"Your {w}x{h} {mode} {fmt}" + (" was " + " and ".join(steps) + "." if steps else " is used as is.")
    return image, note


def segment(ensemble: Ensemble, image: np.ndarray) -> Segmentation:
    """Segment a uint8 grayscale image of any size.

    The image is resized to the model's width keeping its aspect ratio, cut into tiles of
    the model's height (the last one padded by repeating the bottom row), predicted in one
    batch, stitched, cropped, and the probabilities resized back to the image's size.
    """
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim != 2 or image.size == 0:
        raise DataError(None, "image", "a uint8 (H, W) grayscale image", f"shape {image.shape}")
    h, w = image.shape
    tile_h, tile_w = ensemble.input_shape[:2]
    new_h = max(1, round(h * tile_w / w))
    resized = resize_batch(image[None, ..., None], (new_h, tile_w))[0, ..., 0]
    n = math.ceil(new_h / tile_h)
    padded = np.pad(resized, ((0, n * tile_h - new_h), (0, 0)), mode="edge")
    probs = forward_combined(ensemble, padded.reshape(n, tile_h, tile_w, 1)).reshape(n * tile_h, tile_w, -1)[:new_h]
    if (new_h, tile_w) != (h, w):
        probs = cv2.resize(probs, (w, h), interpolation=cv2.INTER_LINEAR)
        probs = probs / probs.sum(-1, keepdims=True)
    labels = scored_argmax(probs, ensemble.task.ignore_label)
    return Segmentation(image, np.asarray(probs, np.float32), labels, entropy(probs), n)


def overlay(image: np.ndarray, labels: np.ndarray, task: TaskSpec, opacity: float = 0.5) -> np.ndarray:
    """The mask in the task's colours over the grayscale image; opacity 0 gives the image itself (RGB)."""
    rgb = np.repeat(np.asarray(image)[..., None], 3, axis=-1) if image.ndim == 2 else np.asarray(image)
    if opacity <= 0:
        return rgb.astype(np.uint8)
    palette = np.array([task.color_rgb(i) for i in range(task.num_classes)], np.float32)
    blended = rgb.astype(np.float32) * (1 - opacity) + palette[labels] * opacity
    return np.round(blended).clip(0, 255).astype(np.uint8)


def class_shares(labels: np.ndarray, task: TaskSpec) -> dict[str, float]:
    """Share of the image's pixels per predicted class (the ignore label is never predicted)."""
    counts = np.bincount(labels.ravel(), minlength=task.num_classes) / max(labels.size, 1)
    return {task.class_names[i]: float(counts[i]) for i in task.scored_classes}


def uncertainty_image(uncertainty: np.ndarray, num_classes: int) -> np.ndarray:
    """Entropy as a viridis image: dark = the members are sure, yellow = maximal entropy (log K)."""
    return colormap(uncertainty / math.log(num_classes), "viridis")


def legend_html(task: TaskSpec) -> str:
    """Colour swatches with class names, for the predicted classes."""
    items = "".join(
        f'<span style="display:inline-flex;align-items:center;margin-right:14px">'
        f'<span style="width:14px;height:14px;border-radius:3px;background:{task.colors[i]};margin-right:5px;'
        f'border:1px solid #0003"></span>{escape(task.class_names[i].replace("_", " "))}</span>'
        for i in task.scored_classes)
    return f'<div class="autobot-legend">{items}</div>'
