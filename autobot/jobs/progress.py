"""The training side of a job: report progress into the store, stop when asked to cancel."""

from __future__ import annotations

import os
import time

import keras

from autobot.jobs.store import JobStore


class JobProgress(keras.callbacks.Callback):
    """Writes epoch/step/metrics to the job store and stops training when the job is cancelled.

    Stopping sets ``model.stop_training``: the current batch finishes and the checkpoint of
    the last completed epoch stays as it was.

    Args:
        store: The job store the runner uses.
        job_id: This job's id.
        every_seconds: How often batch-level progress (and the cancel flag) is checked.
    """

    def __init__(self, store: JobStore, job_id: str, every_seconds: float = 2.0, member: int = 0, members: int = 1):
        super().__init__()
        self.store, self.job_id, self.every_seconds = store, job_id, every_seconds
        self.member, self.members = member, members
        self._last = 0.0
        self._epoch = 0
        self.cancelled = False

    @classmethod
    def from_environment(cls, **kwargs) -> "JobProgress | None":
        """The callback for the job this process runs as, if it runs as one."""
        job_id = os.environ.get("AUTOBOT_JOB_ID")
        return cls(JobStore(os.environ.get("AUTOBOT_RUNS")), job_id, **kwargs) if job_id else None

    def _progress(self, step: int | None, logs: dict | None) -> dict:
        epochs = self.params.get("epochs") if self.params else None
        steps = self.params.get("steps") if self.params else None
        return {"member": self.member + 1, "members": self.members, "epoch": self._epoch, "epochs": epochs,
                "step": step, "steps": steps, "metrics": _floats(logs)}

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        now = time.monotonic()
        if now - self._last < self.every_seconds:
            return
        self._last = now
        self.store.report(self.job_id, self._progress(batch + 1, logs))
        if self.store.get(self.job_id).cancel_requested:
            self.cancelled = True
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        progress = self._progress(None, logs)
        global_epoch = self.member * (self.params.get("epochs") or 0) + epoch + 1
        self.store.report(self.job_id, {**progress, "epoch": epoch + 1, "global_epoch": global_epoch},
                          epoch_metrics={**_floats(logs), "member": self.member + 1})


def _floats(logs: dict | None) -> dict[str, float]:
    return {key: float(value) for key, value in (logs or {}).items() if _is_number(value)}


def _is_number(value) -> bool:
    try:
        float(value)
        return True
    except (TypeError, ValueError):
        return False
