"""Queueing a training job, checked first so a typo fails now rather than in a log later."""

from __future__ import annotations

from typing import Any

from autobot.jobs.runner import ensure_worker
from autobot.jobs.store import Job, JobStore


def submit_training(store: JobStore, recipe: str, overrides: dict[str, Any] | None = None, *,
                    data: str | None = None, start_worker: bool = True, concurrency: int = 1) -> Job:
    """Validate ``recipe`` with its overrides, queue it, and make sure a worker will run it.

    Raises:
        DataError: unknown recipe, malformed override, or a value the training config refuses.
    """
    from autobot.train.recipes import load_recipe, recipe_config

    overrides = {key: str(value) for key, value in (overrides or {}).items()}
    recipe_data = load_recipe(recipe, [f"{key}={value}" for key, value in overrides.items()])
    config = recipe_config(recipe_data)
    params = dict(overrides)
    if data:
        params["data"] = data
    job = store.submit(recipe, params, task=config.task)
    if start_worker:
        ensure_worker(store, concurrency)
    return job
