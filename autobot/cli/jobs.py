"""``autobot jobs``: submit, watch and cancel training jobs that outlive the terminal."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime

from pathlib import Path

from autobot.errors import DataError
from autobot.jobs.catalog import active_model_path, list_models
from autobot.jobs.runner import Runner
from autobot.jobs.submit import submit_training
from autobot.jobs.store import Job, JobStore


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("jobs", help="submit, list, follow and cancel training jobs",
                                   description="Training jobs run as background subprocesses; their state is kept "
                                               "in RUNS/jobs.sqlite and their files in RUNS/<job id>/.")
    parser.add_argument("--runs", help="jobs folder (default $AUTOBOT_RUNS or ./runs)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    submit = actions.add_parser("submit", help="queue a training recipe (and start a worker if none runs)")
    submit.add_argument("recipe")
    submit.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a recipe value")
    submit.add_argument("--data", help="dataset path instead of the recipe's")
    submit.add_argument("--no-worker", action="store_true", help="only queue; a `jobs worker` runs it later")
    submit.add_argument("--concurrency", type=int, default=1, help="jobs the started worker runs at once")
    submit.set_defaults(run=_submit)

    listing = actions.add_parser("list", help="recent jobs, newest first")
    listing.add_argument("--status", choices=("queued", "running", "done", "failed", "cancelled", "lost"))
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=_list)

    show = actions.add_parser("show", help="one job: status, progress, metrics per epoch")
    show.add_argument("id")
    show.set_defaults(run=_show)

    cancel = actions.add_parser("cancel", help="stop a job after its current batch (checkpoints are kept)")
    cancel.add_argument("id")
    cancel.set_defaults(run=_cancel)

    logs = actions.add_parser("logs", help="a job's output")
    logs.add_argument("id")
    logs.add_argument("--follow", "-f", action="store_true", help="keep printing until the job ends")
    logs.set_defaults(run=_logs)

    models = actions.add_parser("models", help="ensembles that can serve predictions (shipped and from jobs)")
    models.add_argument("--task", choices=("blood", "mars"), required=True)
    models.set_defaults(run=_models)

    activate = actions.add_parser("activate", help="serve a finished job's ensemble in the app and evaluate")
    activate.add_argument("id", help="a finished job's id, or 'shipped' to go back to the shipped ensemble")
    activate.add_argument("--task", choices=("blood", "mars"), required=True)
    activate.set_defaults(run=_activate)

    worker = actions.add_parser("worker", help="run queued jobs in this terminal")
    worker.add_argument("--concurrency", type=int, default=1)
    worker.add_argument("--exit-when-idle", action="store_true")
    worker.set_defaults(run=_worker)


def parse_sets(pairs: list[str]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise DataError(None, "--set", "KEY=VALUE", repr(pair))
        params[key.strip()] = value.strip()
    return params


def _store(args) -> JobStore:
    return JobStore(args.runs)


def _submit(args) -> int:
    store = _store(args)
    job = submit_training(store, args.recipe, parse_sets(args.set), data=args.data,
                          start_worker=not args.no_worker, concurrency=args.concurrency)
    print(job.id)
    print(f"queued {args.recipe} as {job.id}" + ("" if args.no_worker else " (a worker runs it)"), file=sys.stderr)
    return 0


def _when(stamp: float | None) -> str:
    return datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M:%S") if stamp else "-"


def _progress_text(job: Job) -> str:
    progress = job.progress
    if not progress:
        return ""
    parts = []
    if progress.get("members", 1) > 1:
        parts.append(f"member {progress['member']}/{progress['members']}")
    if progress.get("epoch"):
        parts.append(f"epoch {progress['epoch']}/{progress.get('epochs') or '?'}")
    metrics = progress.get("metrics") or {}
    parts += [f"{k} {v:.4g}" for k, v in list(metrics.items())[:4]]
    return ", ".join(parts)


def _list(args) -> int:
    jobs = _store(args).list(status=args.status)
    if args.json:
        print(json.dumps([job.as_dict() for job in jobs], indent=2))
        return 0
    if not jobs:
        print("no jobs")
        return 0
    print(f"{'id':<24} {'recipe':<20} {'status':<10} {'created':<19}  progress")
    for job in jobs:
        print(f"{job.id:<24} {job.recipe:<20} {job.status:<10} {_when(job.created_at):<19}  {_progress_text(job)}")
    return 0


def _show(args) -> int:
    store = _store(args)
    job = store.get(args.id)
    print(json.dumps({**job.as_dict(), "history": store.history(job.id)}, indent=2))
    return 0


def _cancel(args) -> int:
    job = _store(args).request_cancel(args.id)
    print(f"{job.id}: {job.status}" + (" (stopping after the current batch)" if job.status == "running" else ""))
    return 0


def _logs(args) -> int:
    store = _store(args)
    job = store.get(args.id)
    offset = 0
    while True:
        try:
            with open(job.log_path, "rb") as handle:
                handle.seek(offset)
                chunk = handle.read()
                offset += len(chunk)
            sys.stdout.write(chunk.decode("utf-8", "replace"))
            sys.stdout.flush()
        except FileNotFoundError:
            pass
        if not args.follow or store.get(job.id).final:
            if args.follow and store.get(job.id).error:
                print(f"\n[{store.get(job.id).status}] {store.get(job.id).error.splitlines()[0]}", file=sys.stderr)
            return 0
        time.sleep(1)


def _models(args) -> int:
    store = _store(args)
    active = active_model_path(args.task, store)
    for entry in list_models(args.task, store):
        mark = "*" if active and Path(entry.path) == active else " "
        score = ", ".join(f"{k} {v:.4f}" for k, v in entry.val_metrics.items() if isinstance(v, float))
        print(f"{mark} {entry.label:<40} {score}  {entry.path}")
    return 0


def _activate(args) -> int:
    store = _store(args)
    if args.id == "shipped":
        store.set_active_model(args.task, None)
        print(f"{args.task}: serving the shipped ensemble")
        return 0
    job = store.get(args.id)
    entry = next((e for e in list_models(args.task, store) if e.path == job.run_dir), None)
    if entry is None:
        raise DataError(store.path, args.id, f"a finished job that produced a {args.task} ensemble",
                        f"a {job.status} job of recipe {job.recipe!r}")
    store.set_active_model(args.task, entry.path)
    print(f"{args.task}: serving {entry.label}")
    return 0


def _worker(args) -> int:
    runner = Runner(_store(args), concurrency=args.concurrency)
    if not runner.acquire():
        print("another worker already runs this store's jobs", file=sys.stderr)
        return 0
    runner.serve(exit_when_idle=args.exit_when_idle)
    return 0

