"""Benchmark of ``autobot clean`` against the truth files, beside CleanVision.

Reads ``../shared/data/{blood/challenge_like,mars/mars_challenge_like}.npz`` and their
``*_truth.csv`` (only this script reads truth; product code never does), runs
``run_cleaning`` with a fresh cache (first run, t-SNE included) and, when installed,
CleanVision (``pip install cleanvision``; bench only, not in requirements.txt) on the
same images, and prints one table. For CleanVision, any non-duplicate issue (dark, light,
blurry, low information, odd size/aspect, grayscale except on Mars) counts as an outlier,
and its exact and near duplicate sets as duplicate groups.

Usage::

    python bench/cleaning.py [--method tsne umap] [--skip-cleanvision] [--synthetic] [--holdout]
                             [--only NAME ...] [--misses] [--out bench/results/cleaning.json]

``--method`` takes one or both projections; each gives its own ``autobot-tsne`` /
``autobot-umap`` row, so t-SNE and UMAP are compared on the same files.

``--synthetic`` also scores both tools on contamination made by ``bench/synthetic.py``
from the clean references (pbc96, mars_dev) with outlier sources unlike the truth files'.
``--holdout`` adds files made by ``bench/holdout.py``, a second generator with yet other
sources, kept for evaluation only (thresholds are never tuned on it). ``hold-mars-rows`` is
``hold-mars`` with the foreign frames' masks borrowed from rows of the file, as the challenge
file's were.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
SHARED = Path(os.environ.get("AUTOBOT_SHARED", ROOT.parent / "shared"))
FILES = {"blood": "data/blood/challenge_like", "mars": "data/mars/mars_challenge_like"}


def load_truth(path: Path) -> tuple[np.ndarray, np.ndarray]:
    rows = list(csv.DictReader(open(path)))
    return np.array([r["kind"] for r in rows]), np.array([int(r["duplicate_of"]) for r in rows])


def score(kinds, dup_of, outliers, groups) -> dict:
    """Precision/recall of outliers; recall of exact duplicates; near-duplicate recall and pair precision."""
    truth_out = {i for i, k in enumerate(kinds) if k.startswith("outlier")}
    found = set(outliers)
    tp = len(found & truth_out)
    root = np.where(dup_of >= 0, dup_of, np.arange(len(kinds)))
    member = {}
    for g, group in enumerate(groups):
        for i in group:
            member[i] = g
    def caught(i):
        return i in member and root[i] in member and member[i] == member[root[i]]
    exact = [i for i, k in enumerate(kinds) if k == "duplicate_exact"]
    near = [i for i, k in enumerate(kinds) if k == "duplicate_near"]
    pairs = [(a, b) for g in groups for a in g for b in g if a < b]
    true_pairs = [p for p in pairs if root[p[0]] == root[p[1]]]
    return {
        "out_p": tp / max(len(found), 1), "out_r": tp / max(len(truth_out), 1), "n_flag": len(found),
        "exact_r": sum(map(caught, exact)) / max(len(exact), 1),
        "near_r": sum(map(caught, near)) / max(len(near), 1),
        "pair_p": len(true_pairs) / max(len(pairs), 1), "n_pairs": len(pairs),
    }


def synthetic_files(folder: Path) -> dict[str, tuple[Path, np.ndarray, np.ndarray]]:
    """Write synthetic contaminated blood and Mars files; return ``{name: (path, kinds, duplicate_of)}``."""
    from synthetic import add_duplicates, contaminate, load_pbc

    folder.mkdir(parents=True, exist_ok=True)
    mars = np.load(SHARED / "data" / "mars" / "mars_dev.npz")["training_set"]
    rng = np.random.default_rng(7)
    blood, labels = load_pbc(SHARED, 2400, seed=1)
    images, dup_of = add_duplicates(blood, 24, 24, seed=3)
    sources = ["noise", "gradient", "stripes", "checker", "text", "mars"]
    images, is_out = contaminate(images, 120, 120, sources, seed=1, mars=mars[:3000, 0])
    labels = np.r_[labels, labels[dup_of[2400:]], rng.integers(0, 8, is_out.sum())]
    names = [f"outlier_{'sticker' if k < 120 else 'frame'}:{sources[k % 6]}" for k in range(240)]
    kinds = np.array(["clean"] * 2400 + ["duplicate_exact"] * 24 + ["duplicate_near"] * 24 + names)
    dup_of = np.r_[dup_of, np.full(is_out.sum(), -1)]
    out = {"synth-blood": (folder / "synth_blood.npz", kinds, dup_of)}
    np.savez(out["synth-blood"][0], images=images, labels=labels.astype(np.uint8)[:, None])
    rows = rng.choice(np.arange(3000, len(mars)), 1000, replace=False)
    imgs, dup_of = add_duplicates(mars[rows, 0][..., None], 10, 10, seed=4)
    masks = np.r_[mars[rows, 1], mars[rows, 1][dup_of[1000:]]]
    sources = ["blood", "noise", "gradient", "text", "checker"]
    imgs, is_out = contaminate(imgs, 0, 60, sources, seed=2, blood=blood)
    masks = np.r_[masks, mars[rng.choice(3000, is_out.sum()), 1]]  # borrowed masks
    names = [f"outlier_frame:{sources[k % 5]}" for k in range(60)]
    kinds = np.array(["clean"] * 1000 + ["duplicate_exact"] * 10 + ["duplicate_near"] * 10 + names)
    out["synth-mars"] = (folder / "synth_mars.npz", kinds, np.r_[dup_of, np.full(is_out.sum(), -1)])
    np.savez(out["synth-mars"][0], training_set=np.stack([imgs[..., 0], masks], 1))
    return out


def holdout_files(folder: Path) -> dict[str, tuple[Path, np.ndarray, np.ndarray]]:
    """Files made by ``bench/holdout.py`` (evaluation only: never tune on these)."""
    from holdout import add_duplicates, contaminate
    from synthetic import load_pbc

    folder.mkdir(parents=True, exist_ok=True)
    mars = np.load(SHARED / "data" / "mars" / "mars_dev.npz")["training_set"]
    rng = np.random.default_rng(11)
    blood, labels = load_pbc(SHARED, 2400, seed=5)
    others, _ = load_pbc(SHARED, 600, seed=6)
    images, dup_of = add_duplicates(blood, 24, 24, seed=12)
    images, is_out, names = contaminate(images, 120, 120, seed=13, blood=others)
    labels = np.r_[labels, labels[dup_of[2400:]], rng.integers(0, 8, is_out.sum())]
    kinds = np.array(["clean"] * 2400 + ["duplicate_exact"] * 24 + ["duplicate_near"] * 24 + names)
    out = {"hold-blood": (folder / "hold_blood.npz", kinds, np.r_[dup_of, np.full(is_out.sum(), -1)])}
    np.savez(out["hold-blood"][0], images=images, labels=labels.astype(np.uint8)[:, None])
    rows = rng.choice(len(mars), 1000, replace=False)
    imgs, dup_of = add_duplicates(mars[rows, 0][..., None], 10, 10, seed=14)
    masks = np.r_[mars[rows, 1], mars[rows, 1][dup_of[1000:]]]
    imgs, is_out, names = contaminate(imgs, 0, 60, seed=15, blood=others)
    masks = np.r_[masks, mars[rng.choice(len(mars), is_out.sum()), 1]]  # borrowed masks
    kinds = np.array(["clean"] * 1000 + ["duplicate_exact"] * 10 + ["duplicate_near"] * 10 + names)
    out["hold-mars"] = (folder / "hold_mars.npz", kinds, np.r_[dup_of, np.full(is_out.sum(), -1)])
    np.savez(out["hold-mars"][0], training_set=np.stack([imgs[..., 0], masks], 1))
    # The same frames with their masks borrowed from rows of the file itself, as ../shared/README.md says
    # the challenge file was made (hold-mars borrows from all of mars_dev: its donors are rarely in the file).
    # Added after the borrowed-mask view, to measure it; hold-mars stays as it was.
    in_file = np.r_[masks[:1020], masks[:1000][np.random.default_rng(16).choice(1000, is_out.sum())]]
    out["hold-mars-rows"] = (folder / "hold_mars_rows.npz", kinds, out["hold-mars"][2])
    np.savez(out["hold-mars-rows"][0], training_set=np.stack([imgs[..., 0], in_file], 1))
    return out


def missed_by_source(kinds, outliers) -> str:
    """``source: caught/total`` for each outlier source (the truth files' kinds after ``outlier_``)."""
    found = set(outliers)
    parts = []
    for kind in sorted({k for k in kinds if k.startswith("outlier")}):
        rows = [i for i, k in enumerate(kinds) if k == kind]
        caught = sum(i in found for i in rows)
        if caught < len(rows):
            parts.append(f"{kind.removeprefix('outlier_')} {caught}/{len(rows)}")
    return ", ".join(parts) or "none"


def run_autobot(path: Path, method: str) -> tuple[list[int], list[list[int]], float]:
    from autobot.cleaning import CleaningConfig, run_cleaning
    from autobot.data import load_dataset

    with tempfile.TemporaryDirectory() as cache:
        # AUTOBOT_BENCH_CACHE keeps projections between runs while iterating (then `sec` is not a first run)
        os.environ["AUTOBOT_CACHE"] = os.environ.get("AUTOBOT_BENCH_CACHE", cache)
        start = time.perf_counter()
        report = run_cleaning(load_dataset(path), CleaningConfig(method=method))
        seconds = time.perf_counter() - start
    return report.outlier_indices, report.duplicate_groups, seconds


def run_cleanvision(path: Path) -> tuple[list[int], list[list[int]], float]:
    """CleanVision's default issue checks on PNGs of the rows; any image issue counts as an outlier."""
    from cleanvision import Imagelab
    from PIL import Image

    from autobot.data import load_dataset

    images = load_dataset(path).images
    with tempfile.TemporaryDirectory() as folder:
        for i, im in enumerate(images):
            Image.fromarray(im[..., 0] if im.shape[-1] == 1 else im).save(f"{folder}/{i:06d}.png")
        start = time.perf_counter()
        lab = Imagelab(data_path=folder)
        lab.find_issues()
        seconds = time.perf_counter() - start
        issues = lab.issues
        index = [int(Path(p).stem) for p in issues.index]
        dup_cols = {"is_exact_duplicates_issue", "is_near_duplicates_issue"}
        if images.shape[-1] == 1:  # every Mars frame is grayscale by design: not an issue there
            dup_cols.add("is_grayscale_issue")
        other = [c for c in issues.columns if c.startswith("is_") and c not in dup_cols]
        flagged = [index[k] for k in np.flatnonzero(issues[other].to_numpy().any(1))]
        groups = []
        for kind in ("exact_duplicates", "near_duplicates"):
            for group in lab.info.get(kind, {}).get("sets", []):
                groups.append(sorted(int(Path(p).stem) for p in group))
    return flagged, groups, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-cleanvision", action="store_true")
    parser.add_argument("--method", nargs="+", default=["tsne"], choices=("tsne", "umap"),
                        help="projection(s) for autobot; two give one row each")
    parser.add_argument("--out", type=Path, help="also write the rows as JSON here (e.g. bench/results/cleaning.json)")
    parser.add_argument("--synthetic", action="store_true", help="also run on synthetic contamination")
    parser.add_argument("--only-synthetic", action="store_true", help="run on synthetic contamination only")
    parser.add_argument("--holdout", action="store_true", help="also run on bench/holdout.py's files (evaluation only)")
    parser.add_argument("--only", nargs="*", help="file names to run (e.g. mars synth-mars)")
    parser.add_argument("--misses", action="store_true", help="print missed outlier sources per file")
    args = parser.parse_args()
    header = f"{'file':<12} {'tool':<12} {'out P':>6} {'out R':>6} {'#flag':>6} {'exact R':>8} {'near R':>7} {'pair P':>7} {'#pairs':>7} {'sec':>6}"
    lines, rows = [header, "-" * len(header)], []
    cases = {} if args.only_synthetic else {
        task: (SHARED / f"{stem}.npz", *load_truth(SHARED / f"{stem}_truth.csv")) for task, stem in FILES.items()}
    if args.synthetic or args.only_synthetic:
        cases.update(synthetic_files(Path(tempfile.mkdtemp(prefix="autobot-synth-"))))
    if args.holdout:
        cases.update(holdout_files(Path(tempfile.mkdtemp(prefix="autobot-holdout-"))))
    if args.only:
        cases = {k: v for k, v in cases.items() if k in args.only}
    for task, (path, kinds, dup_of) in cases.items():
        tools = [(f"autobot-{m}" if len(args.method) > 1 else "autobot", lambda p=path, m=m: run_autobot(p, m))
                 for m in args.method]
        if not args.skip_cleanvision:
            tools.append(("cleanvision", lambda p=path: run_cleanvision(p)))
        for name, fn in tools:
            try:
                outliers, groups, seconds = fn()
            except ImportError as err:
                lines.append(f"{task:<12} {name:<12} not run: {err}")
                continue
            s = score(kinds, dup_of, outliers, groups)
            lines.append(f"{task:<12} {name:<12} {s['out_p']:6.3f} {s['out_r']:6.3f} {s['n_flag']:6d} "
                         f"{s['exact_r']:8.3f} {s['near_r']:7.3f} {s['pair_p']:7.3f} {s['n_pairs']:7d} {seconds:6.1f}")
            print(lines[-1], flush=True)
            rows.append({"file": task, "tool": name, **s, "seconds": round(seconds, 1),
                         "missed_outlier_sources": missed_by_source(kinds, outliers)})
            if args.misses:
                print(f"    missed outliers: {missed_by_source(kinds, outliers)}", flush=True)
    print("\n".join(lines))
    if args.out:
        from _common import command_line, load_average, machine, write_json

        print("wrote", write_json(args.out, {"bench": "cleaning", "command": command_line(), "machine": machine(),
                                             "load_average_after": load_average(), "rows": rows}))


if __name__ == "__main__":
    main()
