"""Does segmenting each Mars photograph at more than one scale beat one scale?

``Ensemble.predict(..., scales=...)`` segments each image (each whole photograph) resized by
every factor and combines the scales by the ensemble's rule. This scores each combination of the
given scales, with and without the mirror images (``tta``), on the out-of-bag rows
(``split_rows(..., "outofbag")``: training photographs no member drew a half of) and on the
held-out rows, so one can be picked on the first and reported on the second, with a 95% interval
of its gain over the first scale alone (a bootstrap over photographs, the same draws for each). Each scale is
predicted once per part; a combination's probabilities are those scales' combined by the rule,
which is what ``predict`` computes for it. At scale 1 without mirror images the scores are
``evaluate --out-of-bag`` and ``evaluate --heldout``.

Usage::

    python bench/mars_scales.py [--models DIR] [--scales 1,1.25] [--flip] [--out bench/results/mars_scales.json]

A scale ``s`` costs about ``s**2`` of a plain prediction; mirror images double the cost.
"""

from __future__ import annotations

import itertools
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import command_line, machine, mars_bench_parser, write_json  # noqa: E402


def main(argv=None) -> int:
    parser = mars_bench_parser(__doc__, "mars_scales")
    parser.add_argument("--scales", default="1,1.25", help="comma-separated scales of the photograph's sides")
    parser.add_argument("--flip", action="store_true", help="also combine each scale's mirror image")
    parser.add_argument("--resamples", type=int, default=1000,
                        help="bootstrap draws of the photographs for each combination's 95%% interval of its gain "
                             "over the first scale alone")
    args = parser.parse_args(argv)
    scales = [float(s) for s in args.scales.split(",")]

    import numpy as np

    from autobot.data import load_dataset
    from autobot.ensemble import load_task_ensemble, split_rows
    from autobot.ensemble.combine import combine_probs
    from autobot.evaluate.interval import group_confusions, interval, resampled_mious
    from autobot.evaluate.metrics import scored_argmax, segmentation_report

    ensemble = load_task_ensemble("mars", args.models)
    dataset = load_dataset(args.data, "mars")
    names = ensemble.task.class_names
    result = {"command": command_line(), "machine": machine(), "precision": ensemble.precision,
              "combine": ensemble.combine, "scales": scales, "parts": {}}
    for part in ("outofbag", "heldout"):
        rows_of_part = split_rows(ensemble, dataset, part, source=args.data)
        halves = ensemble.whole_photographs(rows_of_part)
        truth = rows_of_part.targets
        views, seconds = {}, {}
        for scale, mirror in itertools.product(scales, (False, True) if args.flip else (False,)):
            started = time.time()
            views[(scale, mirror)] = ensemble.predict(rows_of_part.images, tta=mirror, keep_members=False,
                                                      halves=halves, scales=(scale,)).probs
            seconds[f"{scale}{' with mirror' if mirror else ''}"] = round(time.time() - started, 1)

        groups = rows_of_part.groups if rows_of_part.groups is not None else np.arange(len(rows_of_part))

        def resampled(labels):  # the same draws of photographs for every combination: paired gains
            return resampled_mious(group_confusions(truth, labels, groups, len(names)), args.resamples, seed=0)

        plain = resampled(scored_argmax(views[(scales[0], False)], 0))
        combinations = []
        for n in range(1, len(scales) + 1):
            for combo in itertools.combinations(scales, n):
                for mirror in (False, True) if args.flip else (False,):
                    probs = combine_probs(np.stack([views[(scale, mirror)] for scale in combo]), ensemble.combine)
                    labels = scored_argmax(probs, 0)
                    report = segmentation_report(truth, labels, names, 0)
                    gain = [round(v, 4) for v in interval(resampled(labels) - plain)]
                    combinations.append({"scales": list(combo), "flip": mirror, "miou": report["miou"],
                                         "per_class_iou": report["per_class_iou"], "gain_interval95": gain,
                                         "cost": round(sum(s * s for s in combo) * (2 if mirror else 1), 2)})
                    print(f"{part:9s} scales {','.join(map(str, combo)):14s} flip {str(mirror):5s} "
                          f"cost {combinations[-1]['cost']:5.2f}x  mIoU {report['miou']:.4f}  "
                          f"gain 95% {gain[0]:+.4f}..{gain[1]:+.4f}  "
                          + "  ".join(f"{k} {v:.3f}" for k, v in report["per_class_iou"].items()), flush=True)
        result["parts"][part] = {"n": len(rows_of_part), "whole_photographs": len(halves), "seconds": seconds,
                                 "combinations": combinations}
    write_json(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
