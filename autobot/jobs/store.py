"""The job store: one SQLite file (WAL) that the app, the CLI, the runner and training processes share.

Every state change is one short transaction, so a process killed at any moment leaves
either the old or the new state, never half of one, and readers never wait on writers.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from autobot.errors import DataError

STATUSES = ("queued", "running", "done", "failed", "cancelled", "lost")
FINAL = ("done", "failed", "cancelled", "lost")

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    recipe TEXT NOT NULL,
    task TEXT,
    params TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL DEFAULT 'queued',
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    pid INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    progress TEXT NOT NULL DEFAULT '{}',
    error TEXT,
    run_dir TEXT NOT NULL,
    log_path TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, created_at);
CREATE TABLE IF NOT EXISTS job_metrics (
    job_id TEXT NOT NULL REFERENCES jobs (id),
    epoch INTEGER NOT NULL,
    metrics TEXT NOT NULL,
    recorded_at REAL NOT NULL,
    PRIMARY KEY (job_id, epoch)
);
CREATE TABLE IF NOT EXISTS active_models (
    task TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    chosen_at REAL NOT NULL
);
"""


def default_runs_dir() -> Path:
    """``$AUTOBOT_RUNS``, else ``./runs``: job logs, checkpoints and ensembles live there."""
    return Path(os.environ.get("AUTOBOT_RUNS", "runs"))


@dataclass(frozen=True)
class Job:
    id: str
    recipe: str
    task: str | None
    params: dict[str, Any]
    status: str
    created_at: float
    started_at: float | None
    finished_at: float | None
    pid: int | None
    attempts: int
    cancel_requested: bool
    progress: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    run_dir: str = ""
    log_path: str = ""

    @property
    def final(self) -> bool:
        return self.status in FINAL

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class JobStore:
    """Jobs and their per-epoch metrics in ``runs_dir/jobs.sqlite``.

    Args:
        runs_dir: Folder holding the database and one sub-folder per job.
    """

    def __init__(self, runs_dir: str | Path | None = None):
        self.runs_dir = Path(runs_dir) if runs_dir else default_runs_dir()
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.runs_dir / "jobs.sqlite"
        with self._connect() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA busy_timeout=30000")
            yield db
        finally:
            db.close()

    # ------------------------------------------------------------------ writes

    def submit(self, recipe: str, params: dict[str, Any] | None = None, task: str | None = None) -> Job:
        job_id = time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)
        run_dir = self.runs_dir / job_id
        run_dir.mkdir(parents=True)
        with self._connect() as db:
            db.execute(
                "INSERT INTO jobs (id, recipe, task, params, created_at, run_dir, log_path) VALUES (?,?,?,?,?,?,?)",
                (job_id, recipe, task, json.dumps(params or {}), time.time(), str(run_dir), str(run_dir / "log.txt")),
            )
        return self.get(job_id)

    def mark_running(self, job_id: str, pid: int) -> bool:
        """queued -> running; False if someone else took or cancelled it first."""
        with self._connect() as db:
            cursor = db.execute(
                "UPDATE jobs SET status='running', pid=?, started_at=COALESCE(started_at, ?), attempts=attempts+1 "
                "WHERE id=? AND status='queued'", (pid, time.time(), job_id))
            return cursor.rowcount == 1

    def finish(self, job_id: str, status: str, error: str | None = None) -> None:
        if status not in FINAL:
            raise ValueError(f"status must be one of {FINAL}; got {status!r}")
        with self._connect() as db:
            db.execute("UPDATE jobs SET status=?, error=?, finished_at=?, pid=NULL WHERE id=? AND status='running'",
                       (status, error, time.time(), job_id))

    def report(self, job_id: str, progress: dict[str, Any], epoch_metrics: dict[str, float] | None = None) -> None:
        """Latest progress (epoch, step, metrics) and, at an epoch's end, that epoch's metrics."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("UPDATE jobs SET progress=? WHERE id=?", (json.dumps(progress), job_id))
            if epoch_metrics is not None:
                db.execute("INSERT OR REPLACE INTO job_metrics (job_id, epoch, metrics, recorded_at) VALUES (?,?,?,?)",
                           (job_id, int(progress.get("global_epoch", progress["epoch"])), json.dumps(epoch_metrics), time.time()))
            db.execute("COMMIT")

    def request_cancel(self, job_id: str) -> Job:
        """A queued job is cancelled at once; a running one is asked to stop after its checkpoint."""
        self.get(job_id)
        with self._connect() as db:
            db.execute("UPDATE jobs SET status='cancelled', finished_at=? WHERE id=? AND status='queued'",
                       (time.time(), job_id))
            db.execute("UPDATE jobs SET cancel_requested=1 WHERE id=? AND status='running'", (job_id,))
        return self.get(job_id)

    def requeue(self, job_id: str) -> None:
        """Put a lost job back in the queue; its run folder (checkpoints) is reused, so it resumes."""
        with self._connect() as db:
            db.execute("UPDATE jobs SET status='queued', pid=NULL, finished_at=NULL, error=NULL "
                       "WHERE id=? AND status='lost'", (job_id,))

    def mark_lost(self, job_id: str, reason: str) -> None:
        with self._connect() as db:
            db.execute("UPDATE jobs SET status='lost', error=?, finished_at=?, pid=NULL WHERE id=? AND status='running'",
                       (reason, time.time(), job_id))

    def set_active_model(self, task: str, path: str | None) -> None:
        """Serve ``path`` for ``task`` from now on; None goes back to the shipped ensemble."""
        with self._connect() as db:
            if path is None:
                db.execute("DELETE FROM active_models WHERE task=?", (task,))
            else:
                db.execute("INSERT OR REPLACE INTO active_models (task, path, chosen_at) VALUES (?,?,?)",
                           (task, str(path), time.time()))

    # ------------------------------------------------------------------ reads

    def active_model(self, task: str) -> str | None:
        with self._connect() as db:
            row = db.execute("SELECT path FROM active_models WHERE task=?", (task,)).fetchone()
        return row["path"] if row else None

    def get(self, job_id: str) -> Job:
        with self._connect() as db:
            row = db.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
        if row is None:
            raise DataError(self.path, "job", "the id of an existing job (see `jobs list`)", repr(job_id))
        return _job(row)

    def list(self, status: str | None = None, limit: int = 200) -> list[Job]:
        query, args = "SELECT * FROM jobs", ()
        if status:
            query, args = query + " WHERE status=?", (status,)
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY created_at DESC, id DESC LIMIT ?", (*args, limit)).fetchall()
        return [_job(row) for row in rows]

    def next_queued(self) -> Job | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM jobs WHERE status='queued' ORDER BY created_at, id LIMIT 1").fetchone()
        return _job(row) if row else None

    def history(self, job_id: str) -> list[dict[str, Any]]:
        with self._connect() as db:
            rows = db.execute("SELECT epoch, metrics FROM job_metrics WHERE job_id=? ORDER BY epoch",
                              (job_id,)).fetchall()
        return [{"epoch": row["epoch"], **json.loads(row["metrics"])} for row in rows]


def _job(row: sqlite3.Row) -> Job:
    values = dict(row)
    values["params"] = json.loads(values["params"])
    values["progress"] = json.loads(values["progress"])
    values["cancel_requested"] = bool(values["cancel_requested"])
    return Job(**values)
