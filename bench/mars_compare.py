"""Is a candidate Mars ensemble better than the shipped one, or only on the rows it was picked on?

A member's best epoch is chosen on the held-out rows, so a gain there carries a selection bias.
This splits the held-out photographs (by ``source_id``) into two random halves many times and
counts on how many halves the candidate scores higher: a real gain wins nearly all of them. It also
resamples the held-out photographs (a bootstrap, :mod:`autobot.evaluate.interval`) for a 95% interval
of each score and of the paired gain: how far they could move with other photographs of this source.
Each ensemble predicts the held-out rows once (whole photographs, as ``evaluate`` does); the
halves are scored from those masks.

Usage::

    python bench/mars_compare.py --candidate runs/cand [--baseline assets/models/mars] [--splits 10] [--seam]

``--seam`` pairs the halves as a file without ``source_id`` (the course's ``test_set``) is paired: by
their seam (:mod:`autobot.data.seams`).
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import command_line, machine, mars_bench_parser, write_json  # noqa: E402


def main(argv=None) -> int:
    parser = mars_bench_parser(__doc__, "mars_compare", models=False)
    parser.add_argument("--candidate", required=True, help="ensemble folder to test")
    parser.add_argument("--baseline", default=None, help="ensemble folder to beat (default: the shipped one)")
    parser.add_argument("--splits", type=int, default=10, help="random two-way splits of the held-out photographs")
    parser.add_argument("--separate-halves", action="store_true", help="segment each row on its own")
    parser.add_argument("--seam", action="store_true",
                        help="pair halves by their seam, as in a file without source_id (the random splits still use it)")
    parser.add_argument("--resamples", type=int, default=2000, help="bootstrap draws of the held-out photographs")
    args = parser.parse_args(argv)

    import numpy as np

    from autobot.data import load_dataset
    from autobot.ensemble import load_task_ensemble, split_rows
    from autobot.evaluate.interval import group_confusions, interval, miou_of_confusions, resampled_mious

    started = time.time()
    dataset = load_dataset(args.data, "mars")
    labels, heldout = {}, None
    for name, folder in (("baseline", args.baseline), ("candidate", args.candidate)):
        ensemble = load_task_ensemble("mars", folder)
        rows = split_rows(ensemble, dataset, "heldout", source=args.data)
        if heldout is not None and not np.array_equal(rows.ids, heldout.ids):
            raise SystemExit(f"{folder}: held out other rows than the baseline; the two cannot be compared")
        heldout = rows
        paired = replace(rows, metadata={k: v for k, v in rows.metadata.items() if k != "source_id"}) if args.seam else rows
        halves = None if args.separate_halves else ensemble.whole_photographs(paired)
        labels[name] = ensemble.predict(rows.images, keep_members=False, halves=halves).labels
    names = heldout.task.class_names
    # one confusion matrix per held-out photograph: every score below (all rows, halves, resamples) sums them
    confusions = {name: group_confusions(heldout.targets, labels[name], heldout.groups, len(names)) for name in labels}

    def miou(name, photographs):
        return float(miou_of_confusions(confusions[name][photographs].sum(0)))

    n_photographs = len(confusions["baseline"])
    result = {"command": command_line(), "machine": machine(), "n_heldout": len(heldout),
              "whole_photographs": not args.separate_halves, "paired_by": "seam" if args.seam else "source_id",
              "all": {name: round(miou(name, np.arange(n_photographs)), 4) for name in labels}}
    rng = np.random.default_rng(0)
    gains = []
    for _ in range(args.splits):
        side = rng.random(n_photographs) < 0.5
        for half in (side, ~side):
            gains.append(miou("candidate", half) - miou("baseline", half))
    gains = np.array(gains)
    result.update(gain_all=round(result["all"]["candidate"] - result["all"]["baseline"], 4),
                  halves=len(gains), candidate_wins=int((gains > 0).sum()),
                  gain_min=round(float(gains.min()), 4), gain_median=round(float(np.median(gains)), 4),
                  gain_max=round(float(gains.max()), 4), seconds=round(time.time() - started, 1))
    draws = {name: resampled_mious(confusions[name], args.resamples, seed=0) for name in labels}
    result["interval95"] = {name: [round(v, 4) for v in interval(draws[name])] for name in labels}
    result["interval95"]["gain"] = [round(v, 4) for v in interval(draws["candidate"] - draws["baseline"])]
    result["resamples"] = args.resamples
    print(f"all held-out rows: baseline {result['all']['baseline']:.4f}, candidate {result['all']['candidate']:.4f}")
    print(f"candidate higher on {result['candidate_wins']} of {len(gains)} random halves of the held-out photographs "
          f"(gain {result['gain_min']:+.4f} to {result['gain_max']:+.4f}, median {result['gain_median']:+.4f})")
    ci = result["interval95"]
    print(f"95% over resampled photographs: baseline {ci['baseline'][0]:.4f}-{ci['baseline'][1]:.4f}, candidate "
          f"{ci['candidate'][0]:.4f}-{ci['candidate'][1]:.4f}, gain {ci['gain'][0]:+.4f} to {ci['gain'][1]:+.4f}")
    write_json(Path(args.out), result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
