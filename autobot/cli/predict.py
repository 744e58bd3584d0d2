"""``autobot predict``: write an ensemble's predictions for a file to an .npz."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="predict labels (blood) or masks (Mars) for a file and save them as .npz",
        description="Mars: masks (N, H, W) uint8 and per-pixel uncertainty (entropy). Blood: labels, "
        "probabilities and uncertainty. Both with the row ids.",
    )
    parser.add_argument("--task", required=True, choices=("blood", "mars"))
    parser.add_argument("--data", required=True, help="a dataset file or folder (labels not needed)")
    parser.add_argument("--models", help="ensemble folder (default: the shipped one, assets/models/<task>)")
    parser.add_argument("--split", help="a part of the file, e.g. 'test' for the Mars test_set")
    parser.add_argument("--tta", action="store_true", help="average with horizontally flipped predictions")
    parser.add_argument("--out", required=True, help="output .npz path")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from autobot.cli.evaluate import default_models_dir
    from autobot.data import load_dataset
    from autobot.ensemble import load_ensemble

    ensemble = load_ensemble(args.models or default_models_dir(args.task))
    dataset = load_dataset(args.data, args.task, split=args.split)
    pred = ensemble.predict(dataset.images, tta=args.tta)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.task == "mars":
        np.savez_compressed(out, masks=pred.labels.astype(np.uint8), uncertainty=pred.uncertainty.astype(np.float16),
                            ids=dataset.ids)
    else:
        np.savez_compressed(out, labels=pred.labels.astype(np.uint8), probs=pred.probs.astype(np.float32),
                            uncertainty=pred.uncertainty, ids=dataset.ids)
    print(out)
    return 0
