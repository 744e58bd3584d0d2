"""First-run wall time of ``run_cleaning`` (fresh cache, t-SNE included) on N blood images.

Rows come from pbc96 plus challenge_like, so there is contamination to find.

Usage::

    python bench/timing.py 3500 14000
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("AUTOBOT_SHARED", ROOT.parent / "shared"))


def main() -> None:
    from autobot.cleaning import CleaningConfig, run_cleaning
    from autobot.data import load_dataset
    from autobot.data.dataset import Dataset

    pbc = load_dataset(SHARED / "data" / "blood" / "pbc96")
    challenge = load_dataset(SHARED / "data" / "blood" / "challenge_like.npz")
    images = np.concatenate([challenge.images, pbc.images])
    targets = np.concatenate([challenge.targets, pbc.targets])
    for n in map(int, sys.argv[1:] or ["3500", "14000"]):
        rows = np.arange(n) % len(images)
        ds = Dataset(challenge.task, images[rows], targets[rows], np.array([str(i) for i in range(n)]), "bench", "bench")
        with tempfile.TemporaryDirectory() as cache:
            os.environ["AUTOBOT_CACHE"] = cache
            start = time.perf_counter()
            report = run_cleaning(ds, CleaningConfig())
            print(f"n={n}: {time.perf_counter() - start:.1f} s (t-SNE, pixels), {len(report.outliers)} outliers, "
                  f"{len(report.duplicate_groups)} duplicate groups", flush=True)


if __name__ == "__main__":
    main()
