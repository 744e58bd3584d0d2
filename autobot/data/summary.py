"""A dataset's vital statistics, as one JSON-ready dict (used by ``info`` and the app)."""

from __future__ import annotations

from typing import Any

import numpy as np

from autobot.data.dataset import Dataset
from autobot.data.formats import LAYOUTS


def summarize(dataset: Dataset) -> dict[str, Any]:
    """Format, shapes, dtype and class balance (images per class, or pixel shares for masks)."""
    task = dataset.task
    layout = LAYOUTS[dataset.format]
    summary: dict[str, Any] = {
        "path": dataset.source,
        "format": dataset.format,
        "format_description": layout.description,
        "splits": list(layout.splits),
        "task": task.name,
        "n": len(dataset),
        "labelled": dataset.labelled,
        "image_shape": list(dataset.images.shape[1:]),
        "dtype": str(dataset.images.dtype),
        "classes": list(task.class_names),
    }
    if dataset.labelled and task.kind == "classification":
        counts = dataset.class_counts()
        summary["class_counts"] = {name: int(c) for name, c in zip(task.class_names, counts)}
    elif dataset.labelled:
        counts = dataset.class_counts()
        shares = counts / max(int(counts.sum()), 1)
        summary["mask_shape"] = list(dataset.targets.shape[1:])
        summary["pixel_shares"] = {name: round(float(s), 4) for name, s in zip(task.class_names, shares)}
        present = np.stack([(dataset.targets == c).any(axis=(1, 2)) for c in range(task.num_classes)], axis=1)
        summary["images_with_class"] = {name: int(c) for name, c in zip(task.class_names, present.sum(axis=0))}
    summary["metadata"] = {
        key: {"dtype": str(values.dtype), "distinct": int(len(np.unique(values)))}
        for key, values in dataset.metadata.items()
    }
    summary["notes"] = list(dataset.notes)
    summary["fingerprint"] = dataset.fingerprint()
    return summary


def format_summary(summary: dict[str, Any]) -> str:
    """The same facts as aligned text for a terminal."""
    lines = [
        f"{summary['path']}",
        f"  format   {summary['format']} ({summary['format_description']})",
        f"  task     {summary['task']}",
        f"  images   {summary['n']} x {'x'.join(map(str, summary['image_shape']))} {summary['dtype']}"
        + ("" if summary["labelled"] else "  (unlabelled)"),
    ]
    if "mask_shape" in summary:
        lines.append(f"  masks    {summary['n']} x {'x'.join(map(str, summary['mask_shape']))}")
    width = max(len(name) for name in summary["classes"])
    if "class_counts" in summary:
        total = max(sum(summary["class_counts"].values()), 1)
        lines.append("  images per class")
        for index, (name, count) in enumerate(summary["class_counts"].items()):
            lines.append(f"    {index} {name:<{width}} {count:>7}  {count / total:6.1%}")
    if "pixel_shares" in summary:
        lines.append("  pixel share per class (and images containing it)")
        for index, (name, share) in enumerate(summary["pixel_shares"].items()):
            lines.append(f"    {index} {name:<{width}} {share:6.1%}  {summary['images_with_class'][name]:>7}")
    for key, meta in summary["metadata"].items():
        lines.append(f"  metadata {key}: {meta['dtype']}, {meta['distinct']} distinct values")
    for note in summary["notes"]:
        lines.append(f"  note     {note}")
    lines.append(f"  fingerprint {summary['fingerprint']}")
    return "\n".join(lines)


def sample_rows(dataset: Dataset, per_class: int = 4, seed: int = 0) -> list[int]:
    """A few rows of each class (of each mask's rarest class for Mars), for galleries."""
    rng = np.random.default_rng(seed)
    if not dataset.labelled:
        return sorted(rng.choice(len(dataset), size=min(len(dataset), 8 * per_class), replace=False).tolist())
    from autobot.data.splits import strata

    labels = strata(dataset)
    rows: list[int] = []
    for cls in range(dataset.task.num_classes):
        members = np.flatnonzero(labels == cls)
        if len(members):
            rows.extend(rng.choice(members, size=min(per_class, len(members)), replace=False).tolist())
    return rows
