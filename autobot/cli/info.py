"""``autobot info PATH``: what a dataset file holds, as text or JSON."""

from __future__ import annotations

import argparse
import json

from autobot.data import load_dataset
from autobot.data.summary import format_summary, summarize


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "info",
        help="show a dataset's format, shapes and class balance",
        description="Detect a dataset's layout and print its shapes, dtype and per-class counts "
        "(pixel shares for Mars masks).",
    )
    parser.add_argument("path", help="an .npz, a .zip or a folder in any supported layout")
    parser.add_argument("--task", choices=("blood", "mars"), help="refuse files of the other task")
    parser.add_argument("--split", help="a part of the file, e.g. 'test' for the Mars test_set")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    summary = summarize(load_dataset(args.path, args.task, split=args.split))
    print(json.dumps(summary, indent=2) if args.json else format_summary(summary))
    return 0
