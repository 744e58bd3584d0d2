"""How should a Mars half with no partner in the file be segmented?

Members trained on whole photographs (two 64x128 halves stacked into their 128x128 frame) see a
lone half (a photograph that kept one half, a 64x128 upload, ``--separate-halves``) in a shape they
were not trained on. This segments every row on its own with ``lone_half_padding`` rows mirrored
below it (``Ensemble.predict``; 0: the half as is) on the out-of-bag rows (training photographs no
member drew a half of: pick here) and on the held-out rows (report here), then scores the held-out
rows as ``evaluate --heldout`` does (pairs whole, the lone rows padded) at 0 and at the padding
picked out of bag.

Usage::

    python bench/mars_lone_halves.py [--models DIR] [--paddings 0,16,32,64] [--out bench/results/mars_lone_halves.json]

A padding of ``r`` rows costs about ``(64 + r) / 64`` of a lone half's plain prediction.
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
    parser = mars_bench_parser(__doc__, "mars_lone_halves")
    parser.add_argument("--paddings", default="0,16,32,64", help="comma-separated rows mirrored below a lone half")
    args = parser.parse_args(argv)
    paddings = [int(p) for p in args.paddings.split(",")]

    from autobot.data import load_dataset
    from autobot.ensemble import load_task_ensemble, split_rows
    from autobot.evaluate.metrics import segmentation_report

    started = time.time()
    ensemble = load_task_ensemble("mars", args.models)
    shipped = ensemble.lone_half_padding
    dataset = load_dataset(args.data, "mars")
    names, ignore = ensemble.task.class_names, ensemble.task.ignore_label

    def score(rows, padding, halves=None):
        ensemble.lone_half_padding = padding
        labels = ensemble.predict(rows.images, keep_members=False, halves=halves).labels
        report = segmentation_report(rows.targets, labels, names, ignore)
        return {"miou": round(report["miou"], 4), **{k: round(v, 4) for k, v in report["per_class_iou"].items()}}

    result = {"command": command_line(), "machine": machine(), "precision": ensemble.precision,
              "shipped_padding": shipped, "paddings": paddings, "every_row_on_its_own": {}}
    for part in ("outofbag", "heldout"):
        rows = split_rows(ensemble, dataset, part, source=args.data)
        result["every_row_on_its_own"][part] = {"n": len(rows), **{str(p): score(rows, p) for p in paddings}}
        print(part, len(rows), {p: result["every_row_on_its_own"][part][str(p)]["miou"] for p in paddings}, flush=True)
    out_of_bag = result["every_row_on_its_own"]["outofbag"]
    picked = max(paddings, key=lambda p: out_of_bag[str(p)]["miou"])
    heldout = split_rows(ensemble, dataset, "heldout", source=args.data)
    halves = ensemble.whole_photographs(heldout)
    result["picked_out_of_bag"] = picked
    result["heldout_as_evaluate"] = {"n": len(heldout), "lone_rows": len(heldout) - 2 * len(halves),
                                     **{str(p): score(heldout, p, halves) for p in sorted({0, picked})}}
    result["seconds"] = round(time.time() - started, 1)
    ensemble.lone_half_padding = shipped
    print(f"picked out of bag: {picked} rows; held out, every row on its own: "
          f"{result['every_row_on_its_own']['heldout']['0']['miou']:.4f} as is -> "
          f"{result['every_row_on_its_own']['heldout'][str(picked)]['miou']:.4f}" if 0 in paddings else
          f"picked out of bag: {picked} rows")
    write_json(Path(args.out), result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
