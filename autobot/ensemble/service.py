"""The ensembles the app serves: one per task, loaded once, swapped when another is activated."""

from __future__ import annotations

import threading
from pathlib import Path

from autobot.ensemble.bagging import Ensemble, load_ensemble
from autobot.jobs.catalog import SHIPPED_DIR, active_model_path
from autobot.jobs.store import JobStore
from autobot.tasks import get_task


class ModelService:
    """Finds and caches the ensemble to use for each task.

    Args:
        models_dir: A folder with ``blood/`` and/or ``mars/`` ensembles that replaces the shipped
            ones (``app.py --models``); activation through jobs is then ignored.
        store: The job store whose activated ensembles take precedence over the shipped ones.
    """

    def __init__(self, models_dir: str | Path | None = None, store: JobStore | None = None):
        self.models_dir = Path(models_dir) if models_dir else None
        self.store = store
        self._cache: dict[str, tuple[Path, float, Ensemble]] = {}
        self._lock = threading.Lock()

    def path(self, task: str) -> Path | None:
        task = get_task(task).name
        if self.models_dir is not None:
            folder = self.models_dir / task
            return folder if (folder / "manifest.json").exists() else None
        return active_model_path(task, self.store, SHIPPED_DIR)

    def available(self, task: str) -> bool:
        return self.path(task) is not None

    def get(self, task: str) -> Ensemble | None:
        """The current ensemble for ``task`` (reloaded when its folder or manifest changes)."""
        path = self.path(task)
        if path is None:
            return None
        stamp = (path / "manifest.json").stat().st_mtime
        with self._lock:
            cached = self._cache.get(task)
            if cached and cached[0] == path and cached[1] == stamp:
                return cached[2]
            ensemble = load_ensemble(path)
            self._cache[task] = (path, stamp, ensemble)
            return ensemble
