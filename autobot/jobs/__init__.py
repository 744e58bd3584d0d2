"""Durable training jobs: a SQLite store and a runner of real ``python -m autobot train`` subprocesses."""

from autobot.jobs.store import STATUSES, Job, JobStore, default_runs_dir

__all__ = ["STATUSES", "Job", "JobStore", "default_runs_dir"]
