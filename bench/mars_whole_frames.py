"""Do the Mars members score higher on whole photographs than on the halves they were trained on?

The course cut each 128x128 photograph into a top and a bottom 64x128 half; rows sharing a
``source_id`` are the two halves of one photograph (top first). The members are fully
convolutional, so :meth:`autobot.ensemble.Ensemble.at_size` rebuilds them for 128x128 with the
same weights, and each pair is segmented as its photograph and split back. Scored on the
held-out rows of the split the ensemble was trained with, with and without the mirror-image TTA,
on all held-out rows and on the paired ones alone (single halves are segmented as before).

Usage::

    python bench/mars_whole_frames.py [--models DIR] [--out bench/results/mars_whole_frames.json]
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import command_line, machine, mars_bench_parser, write_json  # noqa: E402


def main(argv=None) -> int:
    parser = mars_bench_parser(__doc__, "mars_whole_frames")
    args = parser.parse_args(argv)

    import numpy as np

    from autobot.data import load_dataset
    from autobot.ensemble import load_task_ensemble, split_rows
    from autobot.evaluate.metrics import segmentation_report

    started = time.time()
    ensemble = load_task_ensemble("mars", args.models)
    heldout = split_rows(ensemble, load_dataset(args.data, "mars"), "heldout", source=args.data)
    pairs = ensemble.whole_photographs(heldout)
    paired = np.sort(pairs.ravel())
    names = ensemble.task.class_names
    result = {"command": command_line(), "machine": machine(), "precision": ensemble.precision,
              "n_heldout": len(heldout), "photographs_whole": int(len(pairs)), "rows_paired": int(len(paired))}
    for tta in (False, True):
        for how, halves in (("halves", None), ("whole", pairs)):
            labels = ensemble.predict(heldout.images, tta=tta, keep_members=False, halves=halves).labels
            key = f"{how}{'_tta' if tta else ''}"
            result[key] = segmentation_report(heldout.targets, labels, names, 0)
            result[f"{key}_paired_rows"] = segmentation_report(heldout.targets[paired], labels[paired], names, 0)
            for k in (key, f"{key}_paired_rows"):
                r = result[k]
                print(f"{k:24s} mIoU {r['miou']:.4f}  " + "  ".join(f"{c} {v:.3f}" for c, v in r["per_class_iou"].items()))
    result["seconds"] = round(time.time() - started, 1)
    write_json(Path(args.out), result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
