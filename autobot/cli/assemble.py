"""``autobot assemble``: serve members of several ensemble folders as one ensemble folder."""

from __future__ import annotations

import argparse

from autobot.cli.evaluate import rows_count


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "assemble",
        help="build an ensemble folder from members of other ensembles (same task, data and split)",
        description="Copy members of ensemble folders into a new one with one manifest, e.g. "
        "`python -m autobot assemble --out runs/mix runs/a:1 runs/b:0`. The sources must share the task, "
        "input shape, training data and validation split, so --heldout scores stay honest.",
    )
    parser.add_argument("members", nargs="+", metavar="FOLDER[:INDEX]", help="a member of an ensemble folder (index 0 if left out)")
    parser.add_argument("--out", required=True, help="the new ensemble folder")
    parser.add_argument("--data", help="the data they were trained on: recompute validation metrics on its held-out rows")
    parser.add_argument("--weights-dtype", choices=("float32", "float16"), default="float32",
                        help="float16 stores the members at half the size; they still compute in float32")
    parser.add_argument("--combine", choices=("mean", "geometric"),
                        help="how the ensemble combines member probabilities (default: the first source's rule)")
    parser.add_argument("--lone-half-padding", type=rows_count, metavar="ROWS",
                        help="Mars: rows mirrored below a half segmented on its own, with no partner half in the file "
                             "(default: the first source's; 16 for members trained on whole photographs)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import json

    from autobot.ensemble.assemble import assemble_ensemble, parse_pick

    picks = [parse_pick(text) for text in args.members]
    dataset = None
    if args.data:
        from autobot.data import load_dataset
        from autobot.ensemble.bagging import _read_manifest

        dataset = load_dataset(args.data, _read_manifest(picks[0][0])["task"])
    out = assemble_ensemble(picks, args.out, dataset, weights_dtype=args.weights_dtype, combine=args.combine,
                           lone_half_padding=args.lone_half_padding)
    manifest = json.loads((out / "manifest.json").read_text())
    print(json.dumps({"out": str(out), "members": manifest["assembled_from"],
                      "combine": manifest.get("combine", "mean"),
                      "lone_half_padding": manifest.get("lone_half_padding", 0),
                      "val_metrics": manifest.get("val_metrics")}))
    return 0
