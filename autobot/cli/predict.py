"""``autobot predict``: write an ensemble's predictions for a file to an .npz."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from autobot.cli.evaluate import add_ensemble_arguments


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="predict labels (blood) or masks (Mars) for a file and save them as .npz",
        description="Mars: masks (N, H, W) uint8 and per-pixel uncertainty (entropy). Blood: labels, "
        "probabilities and uncertainty. Both with the row ids.",
    )
    add_ensemble_arguments(parser, data_help="a dataset file or folder (labels not needed)")
    parser.add_argument("--out", required=True, help="output .npz path")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from autobot.data import load_dataset
    from autobot.ensemble import load_task_ensemble

    ensemble = load_task_ensemble(args.task, args.models)
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
