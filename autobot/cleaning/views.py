"""The cleaning report as people browse it: a scatter, galleries, and one row's story."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from autobot.cleaning.report import CleaningReport
from autobot.data.dataset import Dataset

COLOUR_BY = ("class", "cluster", "flag")
ACTION_NAMES = {"outlier": "confirmed outlier", "keep": "kept", "relabel": "relabelled", "drop_duplicate": "duplicate dropped"}


def row_label(dataset: Dataset, row: int) -> str:
    """The class of a row (a mask's most common labelled class for Mars)."""
    if dataset.targets is None:
        return "unlabelled"
    if dataset.task.kind == "classification":
        return dataset.task.class_names[int(dataset.targets[row])]
    counts = np.bincount(dataset.targets[row].reshape(-1), minlength=dataset.task.num_classes)
    counts[dataset.task.ignore_label or 0] = 0
    return dataset.task.class_names[int(counts.argmax())] if counts.any() else "unlabelled"


def reasons(report: CleaningReport) -> dict[int, str]:
    out = {o["index"]: o["reason"] for o in report.outliers}
    for number, group in enumerate(report.duplicate_groups):
        for row in group[1:]:
            out.setdefault(row, f"duplicate of #{group[0]} (group {number + 1})")
    return out


def projection_figure(dataset: Dataset, report: CleaningReport, colour_by: str = "flag") -> go.Figure:
    """The 2-D projection, one trace per colour group; hover names the row, its label and why it is flagged."""
    if colour_by not in COLOUR_BY:
        raise ValueError(f"colour_by: expected one of {COLOUR_BY}; got {colour_by!r}")
    why = reasons(report)
    labels = [row_label(dataset, i) for i in range(report.n)]
    if colour_by == "class":
        groups = labels
        palette = {name: colour for name, colour in zip(dataset.task.class_names, dataset.task.colors)}
    elif colour_by == "cluster":
        groups = ["noise" if c < 0 else f"cluster {c}" for c in report.clusters]
        palette = {"noise": "#999999"}
    else:
        outliers, dupes = set(report.outlier_indices), set(report.duplicate_drops())
        groups = ["outlier" if i in outliers else "duplicate" if i in dupes else "clean" for i in range(report.n)]
        palette = {"clean": "#9ecae1", "outlier": "#d7301f", "duplicate": "#fd8d3c"}
    figure = go.Figure()
    order = sorted(set(groups), key=lambda g: (g in ("outlier", "duplicate"), g))
    for group in order:
        rows = [i for i, g in enumerate(groups) if g == group]
        figure.add_trace(go.Scattergl(
            x=report.coords[rows, 0], y=report.coords[rows, 1], mode="markers", name=f"{group} ({len(rows)})",
            marker=dict(size=5 if group not in ("outlier", "duplicate") else 8, color=palette.get(group),
                        opacity=0.8, line=dict(width=0)),
            customdata=rows,
            text=[f"#{i} · {labels[i]}" + (f"<br>{why[i]}" if i in why else "") for i in rows],
            hovertemplate="%{text}<extra></extra>",
        ))
    figure.update_layout(template="plotly_white", height=520, margin=dict(l=10, r=10, t=30, b=10),
                         legend=dict(itemsizing="constant"), xaxis=dict(visible=False), yaxis=dict(visible=False),
                         title=f"{report.params.get('method', 'projection')} of {report.n} images")
    return figure


def row_picture(dataset: Dataset, row: int) -> np.ndarray:
    """The row's image; for a labelled Mars row, the image and its mask over it side by side.

    A borrowed mask is only visible next to the picture it is supposed to describe.
    """
    if dataset.task.kind != "segmentation" or not dataset.labelled:
        return _thumb(dataset, row)
    from autobot.inference.segment import overlay

    gray = dataset.images[row][..., 0]
    rgb = np.repeat(gray[..., None], 3, axis=-1)
    gap = np.full((gray.shape[0], 4, 3), 255, np.uint8)
    return np.concatenate([rgb, gap, overlay(gray, dataset.targets[row], dataset.task, opacity=0.55)], axis=1)


def _thumb(dataset: Dataset, row: int) -> np.ndarray:
    image = dataset.images[row]
    return image[..., 0] if image.shape[-1] == 1 else image


def outlier_gallery(dataset: Dataset, report: CleaningReport, limit: int = 200) -> tuple[list, list[int]]:
    """Flagged rows grouped by DBSCAN cluster, most confident first: (items, rows).

    Groups are ordered by their strongest flag, so a reviewer meets the clear cases first and the
    borderline ones (often a few DBSCAN-noise rows with a score just above 1) last.
    """
    strongest: dict[int, float] = {}
    for outlier in report.outliers:
        cluster = int(report.clusters[outlier["index"]])
        strongest[cluster] = max(strongest.get(cluster, 0.0), outlier["score"])
    ranked = sorted(report.outliers, key=lambda o: (-strongest[int(report.clusters[o["index"]])],
                                                    int(report.clusters[o["index"]]), -o["score"]))[:limit]
    items, rows = [], []
    for outlier in ranked:
        row = outlier["index"]
        cluster = int(report.clusters[row])
        items.append((_thumb(dataset, row), f"#{row} {row_label(dataset, row)} · "
                      f"{'noise' if cluster < 0 else f'c{cluster}'} · {outlier['score']:.2f}"))
        rows.append(row)
    return items, rows


def duplicate_gallery(dataset: Dataset, report: CleaningReport, limit: int = 200) -> tuple[list, list[int]]:
    """Each duplicate group's images side by side; the first of a group is the one kept by default."""
    conflicts = {tuple(g) for g in report.conflicts}
    items, rows = [], []
    for number, group in enumerate(report.duplicate_groups):
        flag = " · labels disagree" if tuple(group) in conflicts else ""
        for position, row in enumerate(group):
            role = "kept" if position == 0 else "copy"
            items.append((_thumb(dataset, row), f"group {number + 1} · #{row} {row_label(dataset, row)} · {role}{flag}"))
            rows.append(row)
            if len(items) >= limit:
                return items, rows
    return items, rows


def row_details(dataset: Dataset, report: CleaningReport, decisions: dict, row: int) -> str:
    """Markdown for one row: label, score, why it was flagged, and what a reviewer decided."""
    why = reasons(report).get(row, "not flagged")
    lines = [f"### Row #{row}", f"**label** {row_label(dataset, row)} · **id** `{dataset.ids[row]}`",
             f"**outlier score** {report.scores[row]:.2f} (above 1 is flagged) · **cluster** "
             f"{'noise' if report.clusters[row] < 0 else int(report.clusters[row])}", f"**why** {why}"]
    if row in decisions:
        action, label = decisions[row]
        detail = f" to {dataset.task.class_names[label]}" if action == "relabel" and label is not None else ""
        lines.append(f"**review** {ACTION_NAMES.get(action, action)}{detail}")
    else:
        lines.append("**review** no decision yet (the export applies the automatic flag)")
    return "\n\n".join(lines)
