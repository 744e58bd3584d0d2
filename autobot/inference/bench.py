"""Time the serving engines: ``python -m autobot.inference.bench MODELS_DIR [--shared ../shared]``.

``MODELS_DIR`` holds ``blood/`` and ``mars/`` ensembles. Every timing follows two warm-up
calls (tracing); latencies are the median and 95th percentile of repeated calls, throughputs
the median over repeated batch runs. Real images come from the course data.

The measuring functions are shared with ``bench/inference.py``, which adds each member and
the members as plain Keras models and writes JSON.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from autobot.ensemble import Ensemble, load_ensemble
from autobot.inference.classify import classify, classify_batch, classify_with_map
from autobot.inference.segment import segment

__all__ = ["call_seconds", "latency", "throughput", "matmul_gflop_per_s", "bench_blood", "bench_mars",
           "load_bench_images"]


def call_seconds(fn: Callable[[], Any], runs: int, warmup: int = 2) -> np.ndarray:
    """Wall seconds of ``runs`` calls of ``fn`` after ``warmup`` untimed ones."""
    if runs < 1:
        raise ValueError(f"runs: expected at least 1; got {runs}")
    for _ in range(warmup):
        fn()
    out = np.empty(runs)
    for i in range(runs):
        start = time.perf_counter()
        fn()
        out[i] = time.perf_counter() - start
    return out


def latency(fn: Callable[[], Any], runs: int) -> dict[str, float]:
    """Median and 95th percentile (ms) of one call of ``fn``."""
    seconds = call_seconds(fn, runs)
    return {"median_ms": round(1000 * float(np.median(seconds)), 2),
            "p95_ms": round(1000 * float(np.percentile(seconds, 95)), 2), "runs": runs}


def throughput(fn: Callable[[], Any], images: int, runs: int) -> float:
    """Images per second of ``fn`` (which processes ``images`` images): the median over ``runs`` calls."""
    return round(images / float(np.median(call_seconds(fn, runs))), 1)


def matmul_gflop_per_s(n: int = 1536, runs: int = 5) -> float:
    """What these cores sustain on one large float32 matrix product through the Keras backend: the ceiling
    that an ensemble's FLOPs per image (``autobot.models.cost``) times its images/s has to stay under."""
    import keras

    rng = np.random.default_rng(0)
    a, b = (keras.ops.convert_to_tensor(rng.standard_normal((n, n), dtype=np.float32)) for _ in range(2))
    seconds = call_seconds(lambda: keras.ops.convert_to_numpy(keras.ops.matmul(a, b)), runs)
    return round(2 * n**3 / float(np.median(seconds)) / 1e9, 1)


def bench_blood(ensemble: Ensemble, cells: np.ndarray, runs: int = 20, batch_runs: int = 3) -> dict[str, Any]:
    """One image (``classify``), one image with its occlusion map (what the app's Classify does), and batches."""
    return {
        "one_image": latency(lambda: classify(ensemble, cells[0]), runs),
        "one_image_with_occlusion_map": latency(lambda: classify_with_map(ensemble, cells[0]), max(5, runs // 4)),
        "batch_images_per_s": throughput(lambda: classify_batch(ensemble, cells), len(cells), batch_runs),
        "batch_size": len(cells),
    }


def bench_mars(ensemble: Ensemble, frames: np.ndarray, runs: int = 20, batch_runs: int = 3) -> dict[str, Any]:
    """One model-sized image, one 256x256 photograph (segmented whole at 128x128), and model-sized frames in
    batches (``segment`` of the frames stacked, cut back into tiles)."""
    tall = np.vstack(frames)  # N frames stacked: N tiles predicted in batches
    return {
        "one_image": latency(lambda: segment(ensemble, frames[0]), runs),
        "one_256x256_image": latency(lambda: segment(ensemble, np.tile(frames[0], (4, 2))), max(5, runs // 4)),
        "batch_images_per_s": throughput(lambda: segment(ensemble, tall, whole=False), len(frames), batch_runs),
        "batch_size": len(frames),
    }


def load_bench_images(shared: Path, n: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """``n`` real blood cells (96x96 RGB) and ``n`` real Mars frames (64x128) from ``shared/data``."""
    from autobot.errors import DataError

    blood, mars = shared / "data" / "blood" / "challenge_like.npz", shared / "data" / "mars" / "mars_dev.npz"
    for path in (blood, mars):
        if not path.is_file():
            raise DataError(path, None, "the course data from ../shared (see --shared or AUTOBOT_SHARED)", "no such file")
    with np.load(blood) as data:
        cells = data["images"][:n]
    with np.load(mars) as data:
        frames = data["training_set"][:n, 0]
    return cells, frames


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", type=Path)
    parser.add_argument("--shared", type=Path, default=Path("../shared"))
    args = parser.parse_args(argv)
    blood, mars = load_ensemble(args.models / "blood"), load_ensemble(args.models / "mars")
    cells, frames = load_bench_images(args.shared)
    b, m = bench_blood(blood, cells), bench_mars(mars, frames)
    print(f"classify one image:          {b['one_image']['median_ms']:7.1f} ms (p95 {b['one_image']['p95_ms']:.1f})")
    print(f"classify + occlusion map:    {b['one_image_with_occlusion_map']['median_ms']:7.1f} ms")
    print(f"classify {len(cells)} in batches:     {b['batch_images_per_s']:7.0f} images/s")
    print(f"segment one 64x128 image:    {m['one_image']['median_ms']:7.1f} ms (p95 {m['one_image']['p95_ms']:.1f})")
    print(f"segment one 256x256 image:   {m['one_256x256_image']['median_ms']:7.1f} ms")
    print(f"segment {len(frames)} 64x128 tiles:    {m['batch_images_per_s']:7.0f} images/s")


if __name__ == "__main__":
    main()
