"""Which ensembles can serve predictions: the shipped ones, and those finished jobs produced."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from autobot.jobs.store import JobStore
from autobot.tasks import get_task

#: Ensembles shipped with the project, one folder per task.
SHIPPED_DIR = Path(__file__).resolve().parents[2] / "assets" / "models"


@dataclass(frozen=True)
class ModelEntry:
    """An ensemble folder with a manifest, and where it came from."""

    task: str
    path: str
    label: str
    source: str  # "shipped" or "job"
    val_metrics: dict


def _entry(path: Path, source: str, label: str) -> ModelEntry | None:
    try:
        manifest = json.loads((path / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    if not manifest.get("members"):
        return None
    return ModelEntry(manifest["task"], str(path), label, source, manifest.get("val_metrics") or {})


def list_models(task: str, store: JobStore | None = None, shipped_dir: Path = SHIPPED_DIR) -> list[ModelEntry]:
    """Shipped ensemble first, then finished jobs' ensembles for ``task``, newest first."""
    task = get_task(task).name
    entries = []
    shipped = _entry(shipped_dir / task, "shipped", f"shipped {task} ensemble")
    if shipped:
        entries.append(shipped)
    for job in (store.list(status="done") if store else []):
        entry = _entry(Path(job.run_dir), "job", f"job {job.id} ({job.recipe})")
        if entry and entry.task == task:
            entries.append(entry)
    return entries


def active_model_path(task: str, store: JobStore | None = None, shipped_dir: Path = SHIPPED_DIR) -> Path | None:
    """The chosen ensemble if it still exists, else the shipped one, else None."""
    task = get_task(task).name
    chosen = store.active_model(task) if store else None
    if chosen and (Path(chosen) / "manifest.json").exists():
        return Path(chosen)
    shipped = shipped_dir / task
    return shipped if (shipped / "manifest.json").exists() else None
