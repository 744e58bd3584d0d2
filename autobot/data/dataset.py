"""The one in-memory dataset type every loader returns."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

import numpy as np

from autobot.tasks import TaskSpec


@dataclass(frozen=True, eq=False)
class Dataset:
    """Images with their labels or masks, and where they came from.

    Args:
        task: The task the rows belong to.
        images: ``uint8`` array ``(N, H, W, C)``.
        targets: ``int64`` labels ``(N,)`` for classification, ``uint8`` masks
            ``(N, H, W)`` for segmentation, or ``None`` for unlabelled images.
        ids: Stable string id per row (a file's relative path, or ``"<split>/<row>"``),
            so decisions about a row survive re-loading and re-ordering.
        source: Path the rows were read from.
        format: Name of the layout the loader detected.
        metadata: Extra per-row arrays found in the file (e.g. Mars ``source_id``);
            kept, never required.
        notes: Human-readable remarks about conversions made while loading.
    """

    task: TaskSpec
    images: np.ndarray
    targets: np.ndarray | None
    ids: np.ndarray
    source: str
    format: str
    metadata: dict[str, np.ndarray] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        n = len(self.images)
        lengths = {"ids": len(self.ids), **{k: len(v) for k, v in self.metadata.items()}}
        if self.targets is not None:
            lengths["targets"] = len(self.targets)
        bad = {k: v for k, v in lengths.items() if v != n}
        if bad:
            raise ValueError(f"Dataset rows disagree: images has {n}, {bad}")

    def __len__(self) -> int:
        return len(self.images)

    def __repr__(self) -> str:
        labelled = "unlabelled" if self.targets is None else "labelled"
        return (
            f"Dataset(task={self.task.name!r}, n={len(self)}, images={self.images.shape}, "
            f"{labelled}, format={self.format!r}, source={self.source!r})"
        )

    @property
    def labelled(self) -> bool:
        return self.targets is not None

    @property
    def groups(self) -> np.ndarray | None:
        """Group key for leak-free splits (rows cut from one photograph share it)."""
        return self.metadata.get("source_id")

    @property
    def halves_paired_by(self) -> str | None:
        """How :meth:`photograph_halves` knows its pairs: ``"source_id"``, ``"seam"`` or ``None`` (blood)."""
        if self.task.kind != "segmentation":
            return None
        return "source_id" if self.groups is not None else "seam"

    def photograph_halves(self) -> np.ndarray:
        """``(P, 2)`` row pairs (top, bottom) that are the two halves of one photograph.

        Rows sharing a ``source_id`` in groups of exactly two, in row order: the course file and the
        AI4Mars loader write each photograph's top half first. Without ``source_id`` (the course's
        ``test_set``), adjacent rows whose seam continues (:func:`autobot.data.seams.adjacent_halves`).
        """
        if self.halves_paired_by is None:
            return np.zeros((0, 2), np.int64)
        if self.halves_paired_by == "seam":
            from autobot.data.seams import adjacent_halves

            return adjacent_halves(self.images)
        groups = self.groups
        _, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
        paired = np.flatnonzero(counts == 2)
        rows = np.argsort(inverse, kind="stable")  # rows grouped by photograph, each group in row order
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        return np.stack([rows[starts[paired]], rows[starts[paired] + 1]], axis=1).astype(np.int64)

    def take(self, indices: np.ndarray | list[int]) -> "Dataset":
        """Rows at ``indices`` (repeats allowed, e.g. for oversampling)."""
        indices = np.asarray(indices, dtype=np.int64)
        return replace(
            self,
            images=self.images[indices],
            targets=None if self.targets is None else self.targets[indices],
            ids=self.ids[indices],
            metadata={k: v[indices] for k, v in self.metadata.items()},
        )

    def class_counts(self) -> np.ndarray:
        """Images per class (classification) or labelled pixels per class (segmentation)."""
        if self.targets is None:
            return np.zeros(self.task.num_classes, dtype=np.int64)
        return np.bincount(self.targets.reshape(-1), minlength=self.task.num_classes).astype(np.int64)

    def fingerprint(self) -> str:
        """Content hash of images and targets: a cache key that ignores file names and dates.

        Computed once per Dataset (hashing 12k images takes about a second); datasets are never
        changed in place (``take`` and ``replace`` make new ones), so the cached value stays true.
        """
        cached = self.__dict__.get("_fingerprint")
        if cached is not None:
            return cached
        digest = hashlib.sha256()
        digest.update(self.task.name.encode())
        digest.update(str(self.images.shape).encode())
        digest.update(np.ascontiguousarray(self.images).data)
        if self.targets is not None:
            digest.update(np.ascontiguousarray(self.targets).data)
        value = digest.hexdigest()[:16]
        self.__dict__["_fingerprint"] = value  # frozen dataclass: bypass __setattr__ for the memo
        return value
