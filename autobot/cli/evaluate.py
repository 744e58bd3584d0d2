"""``autobot evaluate``: score an ensemble folder on a labelled file, print one JSON object."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="score an ensemble on labelled data (one JSON object)",
        description="Blood: accuracy, macro-F1, per-class recall, confusion. Mars: mIoU over classes 1-4, "
        "per-class IoU and pixel accuracy, on labelled pixels (ground truth != 0).",
    )
    parser.add_argument("--task", required=True, choices=("blood", "mars"))
    parser.add_argument("--data", required=True, help="a labelled dataset file or folder")
    parser.add_argument("--models", help="ensemble folder (default: models/<task> in the project)")
    parser.add_argument("--split", help="a part of the file (see `autobot info`)")
    parser.add_argument("--tta", action="store_true", help="average with horizontally flipped predictions")
    parser.add_argument("--limit", type=int, help="score only the first N rows")
    parser.set_defaults(run=run)


def default_models_dir(task: str) -> Path:
    from autobot.train.recipes import PROJECT_ROOT

    return PROJECT_ROOT / "models" / task


def run(args: argparse.Namespace) -> int:
    from autobot.data import load_dataset
    from autobot.ensemble import load_ensemble
    from autobot.errors import DataError

    start = time.time()
    ensemble = load_ensemble(args.models or default_models_dir(args.task))
    if ensemble.task.name != args.task:
        raise DataError(Path(args.models or default_models_dir(args.task)) / "manifest.json", "task",
                        repr(args.task), repr(ensemble.task.name))
    dataset = load_dataset(args.data, args.task, split=args.split)
    if args.limit:
        dataset = dataset.take(list(range(min(args.limit, len(dataset)))))
    report = ensemble.evaluate(dataset, tta=args.tta)
    print(json.dumps({"task": args.task, "n": len(dataset), **report, "seconds": round(time.time() - start, 2)}))
    return 0
