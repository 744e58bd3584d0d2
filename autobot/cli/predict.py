"""``autobot predict``: write an ensemble's predictions for a file to an .npz."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from autobot.cli.evaluate import add_ensemble_arguments, load_for_cli, photograph_halves


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="predict labels (blood) or masks (Mars) for a file and save them as .npz",
        description="Mars: masks (N, H, W) uint8 and per-pixel uncertainty (entropy). Blood: labels, "
        "probabilities and uncertainty. Both with the row ids.",
    )
    add_ensemble_arguments(parser, data_help="a dataset file or folder (labels not needed)")
    parser.add_argument("--out", required=True, help="output .npz path")
    parser.add_argument("--csv", help="Mars: also write the course's submission CSV (id, then the flattened "
                        "64x128 mask) here; use with --split test for the test_set")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from autobot.data import load_dataset
    from autobot.data.export import write_submission_csv

    if args.csv and args.task != "mars":
        from autobot.errors import DataError

        raise DataError(None, "--csv", "--task mars (the course's submission CSV is for Mars masks)",
                        f"--task {args.task}", hint="blood predictions are in the .npz given by --out")
    ensemble = load_for_cli(args)
    dataset = load_dataset(args.data, args.task, split=args.split)
    pred = ensemble.predict(dataset.images, tta=args.tta, keep_members=False,
                            halves=photograph_halves(args, ensemble, dataset), scales=args.scales)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.task == "mars":
        np.savez_compressed(out, masks=pred.labels.astype(np.uint8), uncertainty=pred.uncertainty.astype(np.float16),
                            ids=dataset.ids)
        if args.csv:
            print(write_submission_csv(pred.labels.astype(np.uint8), args.csv))
    else:
        np.savez_compressed(out, labels=pred.labels.astype(np.uint8), probs=pred.probs.astype(np.float32),
                            uncertainty=pred.uncertainty, ids=dataset.ids)
    print(out)
    return 0
