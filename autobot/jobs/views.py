"""Jobs as people read them: table rows, a one-paragraph summary, metric curves."""

from __future__ import annotations

import plotly.graph_objects as go

from autobot.jobs.runner import log_tail
from autobot.jobs.store import Job, JobStore

TABLE_HEADERS = ["id", "recipe", "status", "progress", "latest metrics"]
#: TensorFlow's start-up lines, printed before logging can be configured; noise in a job's log view.
_NOISE = ("WARNING: All log messages before absl::InitializeLog()", "I0000 ", "To enable the following instructions")


def percent(job: Job) -> float:
    if job.status == "done":
        return 100.0
    return round(100.0 * float(job.progress.get("fraction", 0.0)), 1)


def latest_metrics(job: Job) -> str:
    metrics = job.progress.get("metrics") or {}
    shown = [(k, v) for k, v in metrics.items() if k in ("loss", "accuracy", "miou", "val_accuracy", "val_miou")]
    return ", ".join(f"{k} {v:.3f}" for k, v in shown)


def table_rows(store: JobStore, limit: int = 50) -> list[list]:
    return [[job.id, job.recipe, job.status, f"{percent(job):.0f}%", latest_metrics(job)]
            for job in store.list(limit=limit)]


def summary_markdown(job: Job) -> str:
    progress = job.progress
    lines = [f"**{job.id}** · `{job.recipe}` · **{job.status}** · {percent(job):.0f}%"]
    if progress.get("epoch"):
        member = f"member {progress['member']}/{progress['members']}, " if progress.get("members", 1) > 1 else ""
        lines.append(f"{member}epoch {progress['epoch']}/{progress.get('epochs')}"
                     + (f", step {progress['step']}/{progress['steps']}" if progress.get("step") else ""))
    if job.params:
        lines.append("settings: " + ", ".join(f"`{k}={v}`" for k, v in job.params.items()))
    if job.error:
        lines.append(f"```\n{job.error[-1500:]}\n```")
    lines.append(f"files: `{job.run_dir}`")
    return "\n\n".join(lines)


def curves_figure(history: list[dict]) -> go.Figure:
    """Loss and the task metric (train and validation) per epoch, members one after another."""
    figure = go.Figure()
    x = list(range(1, len(history) + 1))
    for key, dash in (("loss", "solid"), ("val_loss", "dot"), ("accuracy", "solid"), ("val_accuracy", "dot"),
                      ("miou", "solid"), ("val_miou", "dot")):
        values = [row.get(key) for row in history]
        if any(v is not None for v in values):
            figure.add_trace(go.Scatter(x=x, y=values, name=key, mode="lines+markers", line=dict(dash=dash),
                                        yaxis="y2" if "loss" not in key else "y"))
    for boundary in [i + 0.5 for i in range(1, len(history)) if history[i].get("member") != history[i - 1].get("member")]:
        figure.add_vline(x=boundary, line=dict(color="#bbb", dash="dash"))
    figure.update_layout(template="plotly_white", height=340, margin=dict(l=40, r=40, t=20, b=90),
                         xaxis_title="epoch (members in turn)", yaxis=dict(title="loss"),
                         yaxis2=dict(title="accuracy / mIoU", overlaying="y", side="right", range=[0, 1]),
                         legend=dict(orientation="h", yanchor="top", y=-0.22, x=0))
    return figure


def job_log(job: Job, lines: int = 40) -> str:
    kept = [line for line in log_tail(job.log_path, lines + 8).splitlines() if not line.startswith(_NOISE)]
    return "\n".join(kept[-lines:])
