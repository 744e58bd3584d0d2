"""The cleaned dataset: decisions applied, automatic flags where nobody decided."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from autobot.cleaning.report import CleaningReport
from autobot.data.dataset import Dataset
from autobot.data.export import save_course_npz


def cleaned_rows(report: CleaningReport, decisions: dict[int, tuple[str, int | None]] | None = None,
                 *, auto: bool = True) -> tuple[np.ndarray, dict[int, int]]:
    """Rows kept and relabels to apply.

    Args:
        report: What the automatic pass found.
        decisions: Latest ``(action, label)`` per row from the review store.
        auto: Drop automatic flags (outliers, duplicates) where no decision exists.

    Returns:
        ``(kept row indices, {row: new label})``.
    """
    decisions = decisions or {}
    drop = set(report.outlier_indices) | set(report.duplicate_drops()) if auto else set()
    relabel: dict[int, int] = {}
    for row, (action, label) in decisions.items():
        if action in ("outlier", "drop_duplicate"):
            drop.add(row)
        else:
            drop.discard(row)
            if action == "relabel":
                relabel[row] = int(label)
    kept = np.array([i for i in range(report.n) if i not in drop], dtype=np.int64)
    return kept, relabel


def export_cleaned(dataset: Dataset, report: CleaningReport, path: str | Path,
                   decisions: dict[int, tuple[str, int | None]] | None = None, *, auto: bool = True) -> Path:
    """Write the cleaned rows in the course's npz layout; the source file is never touched."""
    kept, relabel = cleaned_rows(report, decisions, auto=auto)
    if relabel and dataset.task.kind == "classification" and dataset.targets is not None:
        targets = dataset.targets.copy()
        for row, label in relabel.items():
            targets[row] = label
        from dataclasses import replace

        dataset = replace(dataset, targets=targets)
    return save_course_npz(dataset.take(kept), path)
