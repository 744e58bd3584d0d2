"""The job store and runner with real subprocesses: queueing, crashes, restarts, cancels."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time

import pytest

from autobot import DataError
from autobot.jobs import JobStore
from autobot.jobs.runner import Runner, pid_alive
from conftest import ROOT

#: A job process that behaves like training: reports steps into the store, honours cancel requests.
SCRIPT = """
import os, sys, time
from autobot.jobs import JobStore
store = JobStore(os.environ["AUTOBOT_RUNS"]); job = os.environ["AUTOBOT_JOB_ID"]
steps, pause, fail = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3] == "fail"
print("started", job, flush=True)
for step in range(1, steps + 1):
    time.sleep(pause)
    store.report(job, {"epoch": step, "epochs": steps}, {"loss": 1.0 / step})
    if store.get(job).cancel_requested:
        print("stopping on request", flush=True); sys.exit(0)
if fail:
    print("boom: something went wrong", flush=True); sys.exit(3)
print("finished", flush=True)
"""


def scripted(job):
    return [sys.executable, "-c", SCRIPT, job.params.get("steps", "3"), job.params.get("pause", "0.05"),
            job.params.get("mode", "ok")]


def wait_for(predicate, runner=None, timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if runner:
            runner.tick()
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    return JobStore(tmp_path / "runs")


def test_a_job_runs_to_done_with_progress_and_history(store):
    runner = Runner(store, command=scripted)
    assert runner.acquire()
    job = store.submit("tiny", {"steps": "3"})
    wait_for(lambda: store.get(job.id).final, runner)
    done = store.get(job.id)
    assert done.status == "done" and done.error is None and done.attempts == 1
    assert [row["epoch"] for row in store.history(job.id)] == [1, 2, 3]
    assert done.progress["epoch"] == 3
    assert "finished" in open(done.log_path).read()


def test_two_jobs_with_concurrency_one_run_one_after_the_other(store):
    runner = Runner(store, concurrency=1, command=scripted)
    runner.acquire()
    first = store.submit("a", {"steps": "4", "pause": "0.1"})
    second = store.submit("b", {"steps": "2"})
    wait_for(lambda: store.get(first.id).status == "running", runner)
    assert store.get(second.id).status == "queued"
    wait_for(lambda: store.get(second.id).final, runner)
    a, b = store.get(first.id), store.get(second.id)
    assert a.status == b.status == "done"
    assert b.started_at >= a.finished_at


def test_a_crash_is_failed_with_the_log_tail(store):
    runner = Runner(store, command=scripted)
    runner.acquire()
    job = store.submit("tiny", {"steps": "1", "mode": "fail"})
    wait_for(lambda: store.get(job.id).final, runner)
    failed = store.get(job.id)
    assert failed.status == "failed" and "exited with status 3" in failed.error and "boom" in failed.error


def test_sigkill_marks_the_job_failed(store):
    runner = Runner(store, command=scripted)
    runner.acquire()
    job = store.submit("long", {"steps": "200", "pause": "0.05"})
    wait_for(lambda: store.get(job.id).progress.get("epoch", 0) >= 2, runner)
    os.kill(store.get(job.id).pid, signal.SIGKILL)
    wait_for(lambda: store.get(job.id).final, runner)
    assert store.get(job.id).status == "failed" and "killed by signal 9" in store.get(job.id).error


def test_cancel_running_and_queued_jobs(store):
    runner = Runner(store, command=scripted)
    runner.acquire()
    running = store.submit("long", {"steps": "400", "pause": "0.05"})
    queued = store.submit("next", {"steps": "2"})
    wait_for(lambda: store.get(running.id).status == "running", runner)
    assert store.request_cancel(queued.id).status == "cancelled"
    assert store.request_cancel(running.id).cancel_requested
    wait_for(lambda: store.get(running.id).final, runner)
    assert store.get(running.id).status == "cancelled"
    assert "stopping on request" in open(store.get(running.id).log_path).read()
    runner.tick()
    assert store.get(queued.id).started_at is None, "a cancelled job never starts"


def test_a_runner_restart_leaves_no_job_running(store, tmp_path):
    """Kill the worker process mid-job: the next runner stops the orphan, marks it lost and resumes it."""
    job = store.submit("long", {"steps": "400", "pause": "0.05"})
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    worker = subprocess.Popen([sys.executable, "-c", (
        "import sys; sys.path.insert(0, 'tests'); from test_jobs import scripted; from autobot.jobs import JobStore;"
        f"from autobot.jobs.runner import Runner; Runner(JobStore({str(store.runs_dir)!r}), command=scripted).serve()")],
        cwd=ROOT, env=env)
    wait_for(lambda: store.get(job.id).progress.get("epoch", 0) >= 2, timeout=60)
    orphan = store.get(job.id).pid
    worker.kill()
    worker.wait()
    assert store.get(job.id).status == "running" and pid_alive(orphan)
    runner = Runner(store, command=scripted)
    assert runner.acquire()  # recovery happens here
    assert not pid_alive(orphan)
    recovered = store.get(job.id)
    assert recovered.status == "queued" and recovered.error is None
    store.request_cancel(job.id)
    assert all(j.status != "running" for j in store.list())


def test_only_one_runner_per_store(store):
    first, second = Runner(store), Runner(store)
    assert first.acquire() and not second.acquire()
    first.release()
    assert second.acquire()


def _writer(runs_dir, job_id, offset):
    store = JobStore(runs_dir)
    for epoch in range(offset, offset + 50):
        store.report(job_id, {"epoch": epoch}, {"loss": float(epoch)})


def test_concurrent_writers_lose_nothing(store):
    job = store.submit("tiny")
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_writer, args=(str(store.runs_dir), job.id, 1 + 50 * i)) for i in range(3)]
    for process in writers:
        process.start()
    for process in writers:
        process.join(60)
    assert [row["epoch"] for row in store.history(job.id)] == list(range(1, 151))


def test_unknown_job_id_is_a_clear_error(store):
    with pytest.raises(DataError, match="expected the id of an existing job"):
        store.get("nope")


def test_jobs_cli_lists_and_refuses_unknown_ids(store):
    store.submit("blood_cpu", {"epochs": "1"})
    run = lambda *a: subprocess.run([sys.executable, "-m", "autobot", "jobs", "--runs", str(store.runs_dir), *a],
                                    cwd=ROOT, capture_output=True, text=True, timeout=60)
    listing = run("list")
    assert listing.returncode == 0 and "blood_cpu" in listing.stdout and "queued" in listing.stdout
    missing = run("show", "nope")
    assert missing.returncode == 2 and "existing job" in missing.stderr and "Traceback" not in missing.stderr
    bad = run("submit", "blood_cpu", "--set", "novalue", "--no-worker")
    assert bad.returncode == 2 and "KEY=VALUE" in bad.stderr


def test_starting_the_app_recovers_a_job_left_running(store):
    """A job marked running by a process that is gone is not left 'running' once the app starts.

    The app starts a real worker, which marks the job lost, requeues it and runs it (this recipe does
    not exist, so it then fails); at no point after the start is it still 'running'.
    """
    import app

    job = store.submit("tiny")
    store.mark_running(job.id, pid=2**22 + 12345)  # no such process
    app.AppContext(app.AppConfig(runs=store.runs_dir))
    wait_for(lambda: store.get(job.id).status != "running", timeout=60)
    assert store.get(job.id).status in ("queued", "lost", "done", "failed")
