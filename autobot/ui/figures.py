"""Plotly figures shared by the tabs."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from autobot.tasks import get_task


def class_balance_figure(summary: dict[str, Any]) -> go.Figure:
    """Bar chart of images per class, or of pixel shares for segmentation masks."""
    task = get_task(summary["task"])
    if "class_counts" in summary:
        values, title, fmt = list(summary["class_counts"].values()), "Images per class", "{:,}"
    elif "pixel_shares" in summary:
        values, title, fmt = [100 * v for v in summary["pixel_shares"].values()], "Pixel share per class (%)", "{:.1f}"
    else:
        values, title, fmt = [0] * task.num_classes, "Unlabelled images", "{}"
    figure = go.Figure(go.Bar(
        x=list(task.class_names), y=values, marker_color=list(task.colors),
        text=[fmt.format(v) for v in values], textposition="outside", cliponaxis=False,
    ))
    figure.update_layout(title=title, height=340, margin=dict(l=40, r=20, t=50, b=80),
                         yaxis=dict(rangemode="tozero"), template="plotly_white")
    return figure
