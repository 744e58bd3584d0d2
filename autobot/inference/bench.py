"""Time the serving engines: ``python -m autobot.inference.bench MODELS_DIR [--shared ../shared]``.

``MODELS_DIR`` holds ``blood/`` and ``mars/`` ensembles. Each timing is after two warm-up
calls (tracing), averaged over several runs; real images come from the course data.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from autobot.ensemble import load_ensemble
from autobot.inference.classify import classify, classify_batch, occlusion_map
from autobot.inference.segment import segment


def _seconds(fn, runs: int) -> float:
    fn()
    fn()
    start = time.perf_counter()
    for _ in range(runs):
        fn()
    return (time.perf_counter() - start) / runs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", type=Path)
    parser.add_argument("--shared", type=Path, default=Path("../shared"))
    args = parser.parse_args(argv)
    blood, mars = load_ensemble(args.models / "blood"), load_ensemble(args.models / "mars")
    with np.load(args.shared / "data" / "blood" / "challenge_like.npz") as data:
        cells = data["images"][:256]
    with np.load(args.shared / "data" / "mars" / "mars_dev.npz") as data:
        frames = data["training_set"][:256, 0]
    print(f"classify one image:          {1000 * _seconds(lambda: classify(blood, cells[0]), 20):7.1f} ms")
    print(f"classify + occlusion map:    {1000 * _seconds(lambda: occlusion_map(blood, cells[0]), 5):7.1f} ms")
    print(f"classify 256 in batches:     {256 / _seconds(lambda: classify_batch(blood, cells), 3):7.0f} images/s")
    print(f"segment one 64x128 image:    {1000 * _seconds(lambda: segment(mars, frames[0]), 20):7.1f} ms")
    print(f"segment one 256x256 image:   {1000 * _seconds(lambda: segment(mars, np.tile(frames[0], (4, 2))), 5):7.1f} ms")
    tall = np.vstack(frames)  # 256 frames stacked: 256 tiles predicted in batches of 64
    print(f"segment 256 64x128 tiles:    {256 / _seconds(lambda: segment(mars, tall), 3):7.0f} images/s")


if __name__ == "__main__":
    main()
