"""``autobot clean``: flag outliers and duplicates, write a report, optionally export."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autobot.cleaning import CleaningConfig, ReviewStore, default_store_path, export_cleaned, run_cleaning
from autobot.data import load_dataset


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "clean",
        help="find outliers and duplicates; write DIR/report.json (and a cleaned npz with --export)",
        description="Embed the images, project them to 2-D (t-SNE or UMAP), flag outliers with a score "
        "and a reason, group exact and near duplicates, and write DIR/report.json and DIR/points.csv. "
        "The source file is never modified.",
    )
    parser.add_argument("--data", required=True, help="dataset file (blood npz or Mars training_set npz)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--task", choices=("blood", "mars"), help="refuse files of the other task")
    parser.add_argument("--method", choices=("tsne", "umap"), default="tsne")
    parser.add_argument("--features", choices=("pixels", "model"), default="pixels")
    parser.add_argument("--model", help=".keras model whose penultimate layer gives the features")
    parser.add_argument("--eps", type=float, help="DBSCAN radius (default: from the k-distance curve)")
    parser.add_argument("--export", action="store_true", help="also write DIR/cleaned.npz")
    parser.add_argument("--review", help="review store (SQLite); default beside the dataset's cache")
    parser.add_argument("--no-auto", action="store_true",
                        help="on export, drop only what a reviewer decided, not the automatic flags")
    parser.set_defaults(run=run)


def _progress(fraction: float, message: str) -> None:
    bar = "#" * int(fraction * 30)
    print(f"\r[{bar:<30}] {fraction:4.0%} {message:<30}", end="", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    dataset = load_dataset(args.data, args.task)
    config = CleaningConfig(method=args.method, features=args.features, model_path=args.model, eps=args.eps)
    report = run_cleaning(dataset, config, progress=_progress if sys.stderr.isatty() else None)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    out = Path(args.out)
    report.write(out)
    print(f"{report.n} rows: {len(report.outliers)} outliers, {len(report.duplicate_groups)} duplicate groups "
          f"({len(report.conflicts)} with conflicting labels) -> {out / 'report.json'}")
    if args.export:
        store_path = Path(args.review) if args.review else default_store_path(report.fingerprint)
        decisions = {}
        if store_path.exists():
            with ReviewStore(store_path, report.fingerprint) as store:
                decisions = store.decisions()
        path = export_cleaned(dataset, report, out / "cleaned.npz", decisions, auto=not args.no_auto)
        print(f"cleaned dataset ({len(decisions)} reviewed rows applied) -> {path}")
    return 0
