"""``autobot evaluate``: score an ensemble folder on a labelled file, print one JSON object."""

from __future__ import annotations

import argparse
import json
import time


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="score an ensemble on labelled data (one JSON object)",
        description="Blood: accuracy, macro-F1, per-class recall, confusion. Mars: mIoU over classes 1-4, "
        "per-class IoU and pixel accuracy, on labelled pixels (ground truth != 0).",
    )
    add_ensemble_arguments(parser, data_help="a labelled dataset file or folder")
    parser.add_argument("--limit", type=int, help="score only the first N rows")
    rows = parser.add_mutually_exclusive_group()
    rows.add_argument("--heldout", action="store_true",
                      help="score only the rows the ensemble held out for validation (same data file it was trained on)")
    rows.add_argument("--trained", action="store_true",
                      help="score only the rows of its training split: near the --heldout score means the models "
                           "underfit (more capacity helps), far above it means they overfit")
    rows.add_argument("--out-of-bag", action="store_true",
                      help="score only training rows no member trained on (no half of their photograph in any "
                           "member's bootstrap sample): tune choices such as --tta here and keep --heldout for the report")
    parser.add_argument("--corrupt", type=int, choices=(1, 2, 3),
                        help="score corrupted copies (noise, blur, JPEG, brightness/contrast, hue, rotation) at this severity")
    parser.set_defaults(run=run)


def add_ensemble_arguments(parser: argparse.ArgumentParser, data_help: str) -> None:
    """The options ``evaluate`` and ``predict`` share: which task, data and ensemble."""
    parser.add_argument("--task", required=True, choices=("blood", "mars"))
    parser.add_argument("--data", required=True, help=data_help)
    parser.add_argument("--models", help="ensemble folder (default: the shipped one, assets/models/<task>)")
    parser.add_argument("--split", help="a part of the file, e.g. 'test' for the Mars test_set (see `autobot info`)")
    parser.add_argument("--tta", action="store_true", help="average over flipped copies (blood: all four flips; Mars: the mirror image)")
    parser.add_argument("--combine", choices=("mean", "geometric"),
                        help="how member probabilities are combined, instead of the manifest's rule "
                             "(mean, or geometric: the normalised mean of log-probabilities)")
    parser.add_argument("--precision", choices=("auto", "float32", "bfloat16"),
                        help="what the members compute in (default: $AUTOBOT_SERVING_PRECISION or auto: bfloat16 "
                             "on CPUs that compute it natively, else float32)")
    parser.add_argument("--scales", type=scale_list, default=(1.0,), metavar="S[,S...]",
                        help="Mars: segment each photograph resized by each of these factors (1: as is; sides rounded "
                             "to multiples of 16) and combine the scales by the ensemble's rule; 1,1.25 takes about "
                             "2.6x the time (bench/mars_scales.py measures what it gains)")
    parser.add_argument("--lone-half-padding", type=rows_count, metavar="ROWS",
                        help="Mars: rows mirrored below a half segmented on its own (no partner half in the file, or "
                             "--separate-halves), instead of the manifest's (bench/mars_lone_halves.py measures it)")
    parser.add_argument("--separate-halves", action="store_true",
                        help="Mars: segment each row on its own, even two rows that are halves of one photograph "
                             "(same source_id or, in a file without it, adjacent rows whose seam continues); "
                             "by default such a pair is segmented as the whole photograph")


def rows_count(text: str) -> int:
    """``--lone-half-padding`` as a whole number of rows, 0 or more."""
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number of rows, 0 or more, such as 16; found {text!r}")
    return int(text)


def scale_list(text: str) -> tuple[float, ...]:
    """``--scales`` as numbers: ``"1,1.25"`` -> ``(1.0, 1.25)``."""
    try:
        scales = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, such as 1,1.25; found {text!r}") from None
    if any(not 0 < scale <= 4 for scale in scales):
        raise argparse.ArgumentTypeError(f"expected factors in (0, 4], such as 1,1.25; found {text!r}")
    return scales


def photograph_halves(args: argparse.Namespace, ensemble, dataset):
    """The row pairs ``evaluate`` and ``predict`` segment as whole photographs (none with --separate-halves)."""
    if args.separate_halves:
        return None
    return ensemble.whole_photographs(dataset)


def load_for_cli(args: argparse.Namespace):
    """The ensemble ``--task``/``--models`` name, with ``--combine`` and ``--lone-half-padding`` applied."""
    from autobot.ensemble import load_task_ensemble

    ensemble = load_task_ensemble(args.task, args.models, args.precision)
    if args.combine:
        ensemble.combine = args.combine
    if args.lone_half_padding is not None:
        ensemble.lone_half_padding = args.lone_half_padding
    return ensemble


def run(args: argparse.Namespace) -> int:
    from autobot.data import load_dataset
    from autobot.ensemble import split_rows

    start = time.time()
    ensemble = load_for_cli(args)
    dataset = load_dataset(args.data, args.task, split=args.split)
    part = "heldout" if args.heldout else "trained" if args.trained else "outofbag" if args.out_of_bag else None
    if part:
        dataset = split_rows(ensemble, dataset, part, source=args.data)
    if args.limit:
        dataset = dataset.take(list(range(min(args.limit, len(dataset)))))
    extra = {}
    if args.corrupt:
        from dataclasses import replace

        from autobot.evaluate.corruptions import corrupt

        images, masks = corrupt(dataset.images, dataset.targets if args.task == "mars" else None,
                                severity=args.corrupt, seed=0)
        dataset = replace(dataset, images=images, targets=masks if masks is not None else dataset.targets)
        extra["corruption_severity"] = args.corrupt
    halves = None if args.corrupt else photograph_halves(args, ensemble, dataset)  # corrupted halves no longer meet
    report = ensemble.evaluate(dataset, tta=args.tta, halves=halves, scales=args.scales)
    if args.scales != (1.0,):
        extra["scales"] = list(args.scales)
    if args.task == "mars":
        extra["whole_photographs"] = 0 if halves is None else len(halves)
        extra["halves_paired_by"] = None if halves is None else dataset.halves_paired_by
        extra["lone_half_padding"] = ensemble.lone_half_padding
    print(json.dumps({"task": args.task, "n": len(dataset), **report, **extra, "precision": ensemble.precision,
                      "seconds": round(time.time() - start, 2)}))
    return 0

