"""Checks on raw arrays read from user files, each failing with a precise DataError."""

from __future__ import annotations

import numpy as np

from autobot.errors import DataError
from autobot.tasks import TaskSpec


def describe(array: np.ndarray) -> str:
    return f"shape {tuple(array.shape)} dtype {array.dtype}"


def as_uint8_images(array: np.ndarray, path: str, key: str) -> np.ndarray:
    """Accept uint8, or float in 0-1 or 0-255 (the course files came both ways)."""
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.bool_ or array.dtype.kind not in "uif":
        raise DataError(path, key, "uint8 pixels, or floats in 0-1 or 0-255", describe(array))
    if array.size == 0:
        return array.astype(np.uint8)
    values = array.astype(np.float64, copy=False)
    if not np.isfinite(values).all():
        raise DataError(path, key, "finite pixel values", f"{int((~np.isfinite(values)).sum())} NaN/inf values")
    low, high = float(values.min()), float(values.max())
    if low < 0 or high > 255:
        raise DataError(path, key, "pixel values in 0-1 or 0-255", f"values from {low:g} to {high:g}")
    if array.dtype.kind == "f" and high <= 1.0:
        values = values * 255.0
    return np.round(values).astype(np.uint8)


def as_labels(array: np.ndarray, task: TaskSpec, path: str, key: str, n: int) -> np.ndarray:
    """Labels as ``int64`` ``(N,)``; accepts ``(N,)``, ``(N, 1)`` or one-hot ``(N, classes)``."""
    if array.dtype.kind not in "uifb":
        raise DataError(path, key, "integer class labels", describe(array))
    original = array
    if array.ndim == 2 and array.shape[1] == task.num_classes and task.num_classes > 1:
        if not np.all((array == 0) | (array == 1)) or not np.all(array.sum(axis=1) == 1):
            raise DataError(path, key, f"one-hot rows over {task.num_classes} classes", "rows that are not one-hot")
        array = array.argmax(axis=1)
    elif array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1 or len(array) != n:
        raise DataError(path, key, f"labels of shape ({n},) or ({n}, 1)", describe(original))
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)) or not np.all(array == np.round(array)):
            raise DataError(path, key, "whole-number labels", "fractional, NaN or infinite values")
    labels = array.astype(np.int64)
    check_label_range(labels, task, path, key)
    return labels


def check_label_range(labels: np.ndarray, task: TaskSpec, path: str, key: str) -> None:
    bad = (labels < 0) | (labels >= task.num_classes)
    if bad.any():
        values = sorted(set(np.unique(labels[bad]).tolist()))[:8]
        what = "mask values" if task.kind == "segmentation" else "labels"
        raise DataError(
            path, key, f"{what} in 0..{task.num_classes - 1} ({', '.join(task.class_names)})",
            f"{int(bad.sum())} values outside that range, e.g. {values}",
        )


def check_images(images: np.ndarray, task: TaskSpec, path: str, key: str, *, allow_resize: bool) -> None:
    """``(N, H, W, C)`` with the task's channels; H, W must match unless resizing is allowed."""
    height, width, channels = task.input_shape
    expected = f"images of shape (N, {height}, {width}, {channels})"
    if images.ndim != 4 or images.shape[-1] != channels:
        raise DataError(path, key, expected, describe(images))
    if not allow_resize and images.shape[1:3] != (height, width):
        raise DataError(path, key, expected, describe(images))
    if len(images) == 0:
        raise DataError(path, key, "at least one image", "an empty array (0 images)")
