"""Writing a Dataset back to the course's npz layout (the round trip is exact)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from autobot.atomic import atomic_path
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


def write_submission_csv(masks: np.ndarray, path: str | Path) -> Path:
    """The course's Kaggle submission: header ``id,0,1,...``, one row per image, the flattened mask.

    Row ids are 0..N-1, the order of the ``test_set`` the masks were predicted for (as the
    course's ``y_to_df`` wrote them). Written beside ``path`` and renamed, so a failed write
    never leaves half a submission.
    """
    masks = np.asarray(masks)
    if masks.ndim != 3 or masks.dtype.kind not in "iu":
        raise ValueError(f"masks: expected an integer array (N, H, W), found {masks.dtype} {masks.shape}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    flat = masks.reshape(len(masks), -1).astype(np.int64)
    rows = np.concatenate([np.arange(len(masks), dtype=np.int64)[:, None], flat], axis=1)
    header = ",".join(["id", *map(str, range(flat.shape[1]))])
    with atomic_path(path) as temporary:
        np.savetxt(temporary, rows, fmt="%d", delimiter=",", header=header, comments="")
    return path


def read_submission_csv(path: str | Path, shape: tuple[int, int]) -> np.ndarray:
    """Masks (N, H, W) uint8 back from a submission CSV, in id order."""
    table = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.int64, ndmin=2)
    order = np.argsort(table[:, 0])
    return table[order, 1:].reshape(len(table), *shape).astype(np.uint8)
