"""``autobot train RECIPE``: train a recipe's ensemble, resumable, with a progress bar."""

from __future__ import annotations

import argparse
import sys
import time


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a recipe's ensemble (re-run the same command to resume)",
        description="Train the ensemble a recipe in training/ describes. Re-running with the same --out "
        "continues after the last finished epoch.",
    )
    parser.add_argument("recipe", help="a recipe name in training/ (e.g. blood_cpu) or a YAML path")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a recipe value, e.g. --set train.epochs=2 (repeatable)")
    parser.add_argument("--out", help="ensemble folder (default: runs/<recipe>)")
    parser.add_argument("--data", help="dataset path instead of the recipe's")
    parser.set_defaults(run=run)


class ProgressBar:
    """One self-overwriting stderr line per batch; a full line per finished epoch."""

    def __init__(self, stream=None, width: int = 24, quiet_seconds: float = 30.0):
        self._stream, self.width, self.start = stream, width, time.time()
        self.quiet_seconds, self._last_line = quiet_seconds, 0.0

    @property
    def stream(self):
        return self._stream or sys.stderr

    def __call__(self, event: dict) -> None:
        member = f"member {event.get('member', 0) + 1}/{event.get('members', 1)} " if "member" in event else ""
        head = f"{member}epoch {event['epoch']}/{event['epochs']}"
        m = event["metrics"]
        if event["stage"] == "batch":
            if not self.stream.isatty():  # a log file: a plain line now and then, not one per batch
                if time.time() - self._last_line >= self.quiet_seconds:
                    self._last_line = time.time()
                    self.stream.write(f"{head} step {event['step']}/{event['steps']} loss {m.get('loss', 0):.4f}\n")
                    self.stream.flush()
                return
            done = int(self.width * event["step"] / max(event["steps"], 1))
            bar = "#" * done + "." * (self.width - done)
            self.stream.write(f"\r{head} [{bar}] {event['step']}/{event['steps']} loss {m.get('loss', 0):.4f}")
        else:
            shown = " ".join(f"{k} {v:.4f}" for k, v in m.items() if k not in ("epoch", "seconds", "lr"))
            self.stream.write(f"\r{head} {shown} ({m.get('seconds', 0):.0f}s)\n")
        self.stream.flush()


def _on_sigterm(signum, frame):
    from autobot.jobs.progress import TrainingCancelled

    raise TrainingCancelled("stopped by SIGTERM")


def run(args: argparse.Namespace) -> int:
    import os
    import signal

    logical_cpus = int(os.environ.get("AUTOBOT_LOGICAL_CPUS", "0") or 0)
    if logical_cpus > 1:  # before anything creates the backend's devices
        from autobot.train.distribute import split_logical_cpus

        split_logical_cpus(logical_cpus)
    from autobot.jobs.progress import JobReporter, TrainingCancelled
    from autobot.train.recipes import PROJECT_ROOT, load_recipe, run_recipe

    recipe = load_recipe(args.recipe, args.set)
    out = args.out or PROJECT_ROOT / "runs" / recipe["name"]
    hooks = [hook for hook in (ProgressBar(), JobReporter.from_environment()) if hook]

    def progress(event: dict) -> None:
        for hook in hooks:
            hook(event)

    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        path = run_recipe(recipe, out, data=args.data, progress=progress)
    except TrainingCancelled as stop:
        print(f"\ncancelled: {stop}; finished epochs are kept in {out} (re-run the command to resume)",
              file=sys.stderr)
        return 3
    print(path)
    return 0
