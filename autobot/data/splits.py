"""Seeded, stratified train/validation splits that keep groups together.

Mars rows are halves of one photograph: a split that puts one half in training and the
other in validation leaks, so rows sharing a group key always land on the same side.
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, train_test_split

from autobot.data.dataset import Dataset

DEFAULT_SEED = 1337


def strata(dataset: Dataset) -> np.ndarray:
    """One class per row to stratify on: the label, or a mask's rarest labelled class.

    Using the rarest class present keeps images with rare terrain (big rocks) spread
    over both sides instead of leaving validation without any.
    """
    if dataset.targets is None:
        raise ValueError("an unlabelled dataset cannot be stratified")
    if dataset.task.kind == "classification":
        return dataset.targets
    counts = dataset.class_counts()
    rarity = np.argsort(np.argsort(counts))  # 0 = rarest class overall
    flat = dataset.targets.reshape(len(dataset), -1)
    out = np.zeros(len(dataset), dtype=np.int64)
    for row, mask in enumerate(flat):
        present = [c for c in np.unique(mask) if c != dataset.task.ignore_label]
        out[row] = min(present, key=lambda c: rarity[c]) if present else 0
    return out


def train_val_indices(
    dataset: Dataset,
    val_fraction: float = 0.2,
    seed: int = DEFAULT_SEED,
    groups: np.ndarray | None | str = "auto",
) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of a stratified split; grouped by ``source_id`` when the data has it.

    Args:
        dataset: Labelled rows to split.
        val_fraction: Share of rows (or groups) held out, in (0, 1).
        seed: Same seed, same split.
        groups: ``"auto"`` uses ``dataset.groups``; an array forces one; ``None`` ignores groups.
    """
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1); got {val_fraction}")
    labels = strata(dataset)
    group_keys = dataset.groups if isinstance(groups, str) and groups == "auto" else groups
    indices = np.arange(len(dataset))
    if group_keys is None:
        counts = np.bincount(labels)
        stratify = labels if counts[counts > 0].min() >= 2 else None
        train, val = train_test_split(indices, test_size=val_fraction, random_state=seed, stratify=stratify)
        return np.sort(train), np.sort(val)
    n_splits = max(2, round(1 / val_fraction))
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    train, val = next(splitter.split(indices, labels, groups=np.asarray(group_keys)))
    return np.sort(train), np.sort(val)


def train_val_split(dataset: Dataset, val_fraction: float = 0.2, seed: int = DEFAULT_SEED,
                    groups: np.ndarray | None | str = "auto") -> tuple[Dataset, Dataset]:
    train, val = train_val_indices(dataset, val_fraction, seed, groups)
    return dataset.take(train), dataset.take(val)
