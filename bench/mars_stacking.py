"""Does a learned combination of the Mars members beat their geometric mean? Measured on held-out rows.

A stacker needs member predictions on rows no member trained on, yet the held-out rows must stay
for scoring. Bagging leaves such rows: the training rows outside every member's bootstrap sample
(``autobot.ensemble.bagging.bootstrap_rows`` recovers each sample from the manifest's seed). The
stacker is a multinomial logistic regression on the members' per-pixel log-probabilities (a
weight per member and class, and a bias per class: the geometric mean is one point of that
family), fitted on labelled out-of-bag pixels, then scored on the held-out rows beside the
shipped geometric mean, plain and class-balanced.

Usage::

    python bench/mars_stacking.py [--models DIR] [--pixels 400000] [--out bench/results/mars_stacking.json]

The members' log-probabilities are floored as the geometric combine floors them (``LOG_FLOOR``), and
they compute in the serving precision (``AUTOBOT_SERVING_PRECISION``; the results JSON says which).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import command_line, machine, mars_bench_parser, write_json  # noqa: E402

def member_log_probs(ensemble, images):
    """``(N, H, W, M * C)`` log-probabilities, member-major, floored as the geometric combine floors them."""
    import numpy as np

    from autobot.ensemble.combine import LOG_FLOOR
    from autobot.train.member import predict_probs

    logs = [np.log(np.maximum(predict_probs(m, images, 64), LOG_FLOOR)).astype(np.float32) for m in ensemble.members]
    return np.concatenate(logs, axis=-1)


def main(argv=None) -> int:
    parser = mars_bench_parser(__doc__, "mars_stacking")
    parser.add_argument("--pixels", type=int, default=400_000, help="labelled out-of-bag pixels to fit on")
    args = parser.parse_args(argv)

    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from autobot.data import load_dataset, train_val_indices
    from autobot.ensemble import bootstrap_rows, load_task_ensemble, split_rows
    from autobot.evaluate.metrics import scored_argmax, segmentation_report

    ensemble = load_task_ensemble("mars", args.models)
    dataset = load_dataset(args.data, "mars")
    split_rows(ensemble, dataset, "heldout", source=args.data)  # refuses data the ensemble was not trained on
    config = ensemble.manifest["config"]
    train_idx, val_idx = train_val_indices(dataset, config["val_fraction"], config["seed"])
    sampled = np.unique(np.concatenate([bootstrap_rows(train_idx, config["seed"], m["seed"])
                                        for m in ensemble.manifest["members"]]))
    oob_idx = np.setdiff1d(train_idx, sampled)
    if not ensemble.manifest.get("bootstrap", True) or not len(oob_idx):
        raise SystemExit(f"{args.models or 'the shipped ensemble'}: no training row lies outside every member's "
                         "bootstrap sample, so there is nothing to fit a stacker on")
    names, members = ensemble.task.class_names, len(ensemble.members)
    print(f"{len(oob_idx)} training rows outside every member's bootstrap sample; {len(val_idx)} held out")

    started = time.time()
    fit_logs = member_log_probs(ensemble, dataset.images[oob_idx])
    fit_truth = dataset.targets[oob_idx]
    val_logs = member_log_probs(ensemble, dataset.images[val_idx])
    val_truth = dataset.targets[val_idx]
    num_classes = len(names)

    def report(logits):
        return segmentation_report(val_truth, scored_argmax(logits, 0), names, 0)

    def geometric(logs):
        return logs.reshape(*logs.shape[:-1], members, num_classes).mean(-2)

    result = {"command": command_line(), "machine": machine(), "precision": ensemble.precision,
              "n_fit_rows": int(len(oob_idx)),
              "n_heldout": int(len(val_idx)), "pixels": args.pixels,
              "geometric_out_of_bag": segmentation_report(fit_truth, scored_argmax(geometric(fit_logs), 0), names, 0),
              "geometric_heldout": report(geometric(val_logs))}
    labelled = fit_truth != 0
    features, labels = fit_logs[labelled], fit_truth[labelled]
    pick = np.random.default_rng(0).choice(len(labels), min(args.pixels, len(labels)), replace=False)
    for name, weights in [("stacked", None), ("stacked_balanced", "balanced")]:
        model = LogisticRegression(max_iter=300, class_weight=weights).fit(features[pick], labels[pick])
        logits = np.full((*val_logs.shape[:-1], num_classes), -1e9, np.float32)
        logits[..., model.classes_] = val_logs @ model.coef_.T.astype(np.float32) + model.intercept_
        result[name] = report(logits)
    result["seconds"] = round(time.time() - started, 1)
    for key in ("geometric_out_of_bag", "geometric_heldout", "stacked", "stacked_balanced"):
        r = result[key]
        print(f"{key:22s} mIoU {r['miou']:.4f}  " + "  ".join(f"{k} {v:.3f}" for k, v in r["per_class_iou"].items()))
    write_json(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
