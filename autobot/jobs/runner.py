"""Runs queued jobs as real subprocesses, a few at a time, and keeps the store honest.

One runner per store (a file lock enforces it). Each job is ``python -m autobot train
RECIPE --out runs/<id> --set k=v ...`` in its own process group, with its output in
``runs/<id>/log.txt``. The training process reports progress into the store itself.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from autobot.jobs.store import Job, JobStore

#: Seconds a job asked to cancel may take to stop on its own before SIGTERM, then SIGKILL.
CANCEL_GRACE = (30.0, 15.0)
#: A job lost by a runner restart is resumed at most this many times in all.
MAX_ATTEMPTS = 3


def train_command(job: Job) -> list[str]:
    """The same command a user would type, so a job can always be re-run by hand."""
    command = [sys.executable, "-m", "autobot", "train", job.recipe, "--out", job.run_dir]
    for key, value in job.params.items():
        command += ["--data", str(value)] if key == "data" else ["--set", f"{key}={value}"]
    return command


def log_tail(path: str | Path, lines: int = 20) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 16_384))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.replace("\r", "\n").splitlines()[-lines:])


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class _Running:
    process: subprocess.Popen
    cancel_sent_at: float | None = None
    signals_sent: list[int] = field(default_factory=list)


class Runner:
    """Starts queued jobs up to ``concurrency`` and records how each one ends.

    Args:
        store: The job store.
        concurrency: Jobs run at once (1 suits a 2-core machine).
        command: Job -> argv; the real training command unless a caller needs another.
    """

    def __init__(self, store: JobStore, concurrency: int = 1,
                 command: Callable[[Job], Sequence[str]] = train_command):
        self.store = store
        self.concurrency = max(1, int(concurrency))
        self.command = command
        self.running: dict[str, _Running] = {}
        self._lock_file = None

    # ------------------------------------------------------------------ ownership

    def acquire(self) -> bool:
        """Take the store's runner lock; False when another runner holds it."""
        handle = open(self.store.runs_dir / "runner.lock", "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._lock_file = handle
        self.recover()
        return True

    def release(self) -> None:
        if self._lock_file:
            self._lock_file.close()
            self._lock_file = None

    def recover(self) -> None:
        """Jobs left 'running' by a runner that died: stop any orphan, mark lost, resume if allowed."""
        for job in self.store.list(status="running"):
            if job.id in self.running:
                continue
            if pid_alive(job.pid):
                _signal_group(job.pid, signal.SIGTERM)
                for _ in range(50):
                    if not pid_alive(job.pid):
                        break
                    time.sleep(0.1)
                _signal_group(job.pid, signal.SIGKILL)
            self.store.mark_lost(job.id, "the runner stopped while this job was running")
            if job.attempts < MAX_ATTEMPTS and not job.cancel_requested:
                self.store.requeue(job.id)

    # ------------------------------------------------------------------ the loop

    def tick(self) -> None:
        """One pass: reap finished jobs, pass on cancel requests, start queued jobs."""
        for job_id, entry in list(self.running.items()):
            returncode = entry.process.poll()
            if returncode is None:
                self._forward_cancel(job_id, entry)
                continue
            del self.running[job_id]
            job = self.store.get(job_id)
            if job.cancel_requested:
                self.store.finish(job_id, "cancelled", "cancelled by request")
            elif returncode == 0:
                self.store.finish(job_id, "done")
            else:
                how = f"killed by signal {-returncode}" if returncode < 0 else f"exited with status {returncode}"
                self.store.finish(job_id, "failed", f"{how}\n{log_tail(job.log_path)}".strip())
        while len(self.running) < self.concurrency:
            job = self.store.next_queued()
            if job is None or not self._start(job):
                break

    def _start(self, job: Job) -> bool:
        Path(job.run_dir).mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "AUTOBOT_JOB_ID": job.id, "AUTOBOT_RUNS": str(self.store.runs_dir),
               "PYTHONUNBUFFERED": "1"}
        with open(job.log_path, "ab") as log:
            process = subprocess.Popen(list(self.command(job)), stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        if not self.store.mark_running(job.id, process.pid):  # cancelled between listing and starting
            _signal_group(process.pid, signal.SIGKILL)
            process.wait()
            return True
        self.running[job.id] = _Running(process)
        return True

    def _forward_cancel(self, job_id: str, entry: _Running) -> None:
        """The job stops itself at the next batch; signals only if it does not."""
        now = time.monotonic()
        if entry.cancel_sent_at is None:
            if self.store.get(job_id).cancel_requested:
                entry.cancel_sent_at = now
            return
        waited = now - entry.cancel_sent_at
        if waited > CANCEL_GRACE[0] and signal.SIGTERM not in entry.signals_sent:
            _signal_group(entry.process.pid, signal.SIGTERM)
            entry.signals_sent.append(signal.SIGTERM)
        elif waited > sum(CANCEL_GRACE) and signal.SIGKILL not in entry.signals_sent:
            _signal_group(entry.process.pid, signal.SIGKILL)
            entry.signals_sent.append(signal.SIGKILL)

    def serve(self, stop: threading.Event | None = None, poll_seconds: float = 0.5,
              exit_when_idle: bool = False) -> None:
        """Run until ``stop`` is set (or, with ``exit_when_idle``, until the queue is empty)."""
        stop = stop or threading.Event()
        if self._lock_file is None and not self.acquire():
            return
        try:
            while not stop.is_set():
                self.tick()
                if exit_when_idle and not self.running and self.store.next_queued() is None:
                    break
                stop.wait(poll_seconds)
        finally:
            self.release()


def _signal_group(pid: int | None, sig: int) -> None:
    if not pid:
        return
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def ensure_worker(store: JobStore, concurrency: int = 1) -> bool:
    """Start a detached ``jobs worker`` for this store unless one is already running.

    Two callers racing here may both start one; the loser finds the lock taken and exits.
    """
    with open(store.runs_dir / "runner.lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(handle, fcntl.LOCK_UN)
    with open(store.runs_dir / "worker.log", "ab") as log:
        subprocess.Popen(
            [sys.executable, "-m", "autobot", "jobs", "--runs", str(store.runs_dir), "worker",
             "--concurrency", str(concurrency), "--exit-when-idle"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
    return True
