"""Writing a Dataset back to the course's npz layout (the round trip is exact)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from autobot.data.cache import write_npz_atomic
from autobot.data.dataset import Dataset


def course_arrays(dataset: Dataset) -> dict[str, np.ndarray]:
    """The arrays the course's notebooks expect, plus numeric per-row metadata."""
    if dataset.task.kind == "classification":
        arrays = {"images": dataset.images}
        if dataset.targets is not None:
            arrays["labels"] = dataset.targets.astype(np.uint8).reshape(-1, 1)
    elif dataset.targets is None:
        arrays = {"test_set": dataset.images[..., 0]}
    else:
        arrays = {"training_set": np.stack([dataset.images[..., 0], dataset.targets], axis=1)}
    for key, values in dataset.metadata.items():
        if values.dtype.kind in "iufb" and key not in arrays:
            arrays[key] = values
    return arrays


def save_course_npz(dataset: Dataset, path: str | Path, *, compress: bool = True) -> Path:
    """Write atomically: an interrupted write leaves any previous file intact."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_npz_atomic(path, course_arrays(dataset), compress=compress)
    return path
