"""Class balancing by oversampling (repeat rows of small classes; never drop data)."""

from __future__ import annotations

import numpy as np

from autobot.data.dataset import Dataset
from autobot.data.splits import strata


def oversample_indices(labels: np.ndarray, seed: int = 0, target: int | None = None) -> np.ndarray:
    """Indices in which every class appears ``target`` times (default: as often as the largest).

    Each class keeps all its rows once, then draws the remainder without replacement
    while it can, so no row is repeated more than needed. The result is shuffled.
    """
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    classes, counts = np.unique(labels, return_counts=True)
    target = int(counts.max()) if target is None else int(target)
    chosen = []
    for cls in classes:
        rows = np.flatnonzero(labels == cls)
        whole, remainder = divmod(target, len(rows))
        chosen.append(np.tile(rows, whole))
        chosen.append(rng.choice(rows, size=remainder, replace=False))
    out = np.concatenate(chosen)
    rng.shuffle(out)
    return out


def oversample(dataset: Dataset, seed: int = 0, target: int | None = None) -> Dataset:
    """Balance a dataset's classes (masks by their rarest labelled class)."""
    return dataset.take(oversample_indices(strata(dataset), seed, target))
