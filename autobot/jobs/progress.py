"""The training side of a job: report progress into the store, stop when asked to cancel."""

from __future__ import annotations

import os
import time
from typing import Any

from autobot.jobs.store import JobStore


class TrainingCancelled(Exception):
    """Raised from a progress hook to stop training; the last finished epoch's checkpoint stays."""


class JobReporter:
    """A training progress hook (see ``autobot.train.member.ProgressFn``) that writes to the job store.

    Batch events are written at most every ``every_seconds`` (and the cancel flag read as
    often); every epoch's metrics are written.

    Args:
        store: The job store the runner uses.
        job_id: This job's id.
        every_seconds: Minimum interval between batch-level writes.
    """

    def __init__(self, store: JobStore, job_id: str, every_seconds: float = 2.0):
        self.store, self.job_id, self.every_seconds = store, job_id, every_seconds
        self._last = 0.0

    @classmethod
    def from_environment(cls) -> "JobReporter | None":
        """The reporter for the job this process runs as (set by the runner), else None."""
        job_id = os.environ.get("AUTOBOT_JOB_ID")
        return cls(JobStore(os.environ.get("AUTOBOT_RUNS")), job_id) if job_id else None

    def __call__(self, event: dict[str, Any]) -> None:
        members = event.get("members", 1)
        member = event.get("member", 0)
        progress = {"member": member + 1, "members": members, "epoch": event["epoch"], "epochs": event["epochs"],
                    "step": event["step"], "steps": event["steps"],
                    "metrics": {k: float(v) for k, v in event["metrics"].items() if _number(v)}}
        if event["stage"] == "epoch":
            progress["global_epoch"] = member * int(event["epochs"]) + int(event["epoch"])
            progress["fraction"] = progress["global_epoch"] / (members * int(event["epochs"]))
            self.store.report(self.job_id, progress, epoch_metrics={**progress["metrics"], "member": member + 1})
            return
        now = time.monotonic()
        if now - self._last < self.every_seconds:
            return
        self._last = now
        done = member * event["epochs"] + event["epoch"] - 1 + event["step"] / max(event["steps"], 1)
        progress["fraction"] = done / (members * event["epochs"])
        self.store.report(self.job_id, progress)
        if self.store.get(self.job_id).cancel_requested:
            raise TrainingCancelled(f"job {self.job_id} cancelled during epoch {event['epoch']}")


def _number(value: Any) -> bool:
    try:
        float(value)
        return True
    except (TypeError, ValueError):
        return False
