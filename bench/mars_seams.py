"""How well are the halves of a Mars photograph found in a file without ``source_id``?

The course's ``test_set`` (and any file in its layout) has no ``source_id``, so ``evaluate``,
``predict`` and the app pair adjacent rows by their seam (:mod:`autobot.data.seams`). On
``mars_dev.npz``, where ``source_id`` tells the true pairs, this fits the seam's logistic weights
on four of five folds of 500-row blocks and scores the fifth, picks the threshold with the
fewest errors (pairs missed plus wrong pairs) over all folds, and reports recall and precision
for it, for the shipped weights and for the old rule (mean squared step under 300). It then
fits the weights on all rows and prints them for ``autobot/data/seams.py``.

Usage::

    python bench/mars_seams.py [--data ../shared/data/mars/mars_dev.npz] [--out bench/results/mars_seams.json]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import command_line, machine, mars_bench_parser, write_json  # noqa: E402

THRESHOLDS = (-5.0, -4.0, -3.0, -2.0, -1.0, 0.0, 1.0)


def pairing_quality(pairs, true_pairs: set) -> dict:
    found = {tuple(p) for p in pairs.tolist()}
    hits = len(found & true_pairs)
    return {"pairs_found": len(found), "true_pairs": len(true_pairs), "missed": len(true_pairs) - hits,
            "wrong": len(found) - hits, "recall": round(hits / len(true_pairs), 4),
            "precision": round(hits / max(len(found), 1), 4)}


def main(argv=None) -> int:
    parser = mars_bench_parser(__doc__, "mars_seams", models=False)
    parser.add_argument("--block", type=int, default=500, help="rows per block; whole blocks go to one fold")
    args = parser.parse_args(argv)

    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    from autobot.data import seams

    with np.load(args.data) as data:
        images, ids = data["training_set"][:, 0], data["source_id"]
    adjacent_same = ids[1:] == ids[:-1]
    true_pairs = {(int(i), int(i) + 1) for i in np.flatnonzero(adjacent_same)}
    features = seams.seam_features(images)

    held_out_scores = np.zeros(len(features))
    blocks = np.arange(len(features)) // args.block
    for fit_rows, score_rows in GroupKFold(5).split(features, adjacent_same, blocks):
        model = LogisticRegression(max_iter=5000).fit(features[fit_rows], adjacent_same[fit_rows])
        held_out_scores[score_rows] = model.decision_function(features[score_rows])
    by_threshold = {t: pairing_quality(seams.adjacent_halves(images, t, held_out_scores), true_pairs)
                    for t in THRESHOLDS}
    best = min(THRESHOLDS, key=lambda t: by_threshold[t]["missed"] + by_threshold[t]["wrong"])

    old_rule = 300.0 - seams.seam_mse(images)
    full = LogisticRegression(max_iter=5000).fit(features, adjacent_same)
    result = {
        "command": command_line(), "machine": machine(), "rows": len(images), "features": list(seams.SEAM_FEATURES),
        "cross_validated": {"threshold": best, **by_threshold[best],
                            "by_threshold": {str(t): q for t, q in by_threshold.items()}},
        "shipped_weights": {"threshold": seams.SEAM_THRESHOLD,
                            **pairing_quality(seams.adjacent_halves(images), true_pairs)},
        "step_under_300": pairing_quality(seams.adjacent_halves(images, 0.0, old_rule), true_pairs),
        "fitted_on_all_rows": {"weights": [round(float(w), 4) for w in full.coef_[0]],
                               "intercept": round(float(full.intercept_[0]), 4)},
    }
    write_json(Path(args.out), result)
    print(f"cross-validated, threshold {best}: {by_threshold[best]}")
    print(f"shipped weights: {result['shipped_weights']}")
    print(f"step under 300: {result['step_under_300']}")
    print(f"fitted on all rows: {result['fitted_on_all_rows']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
