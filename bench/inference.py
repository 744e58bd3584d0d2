"""Inference speed of the served ensembles, of each member, and of each member as a plain Keras model.

For each task (``blood``, ``mars``) of ``--models`` (default: the shipped ``assets/models``):

- the ensemble through the serving engines the app uses (``autobot.inference``: ``classify``,
  the occlusion map, ``segment``; timed by ``autobot.inference.bench``): one-image latency
  (median and p95) and throughput in batches;
- each member alone through the same forward path (``autobot.inference.forward``);
- each member file loaded with ``keras.saving.load_model`` and run without the app or the
  ensemble around it: ``model.predict`` (batch 64, and one image) and a direct call
  ``model(x, training=False)`` (one image, and batches of 64).

Targets (issue 7): an ensemble answers one image in <= 60 ms and classifies or segments
>= 100 images/s in batches, on 2 CPU cores. Images are real (``../shared``).

Usage::

    python bench/inference.py [--models DIR] [--runs 30] [--images 256] [--precision auto|float32|bfloat16]
                              [--out bench/results/inference.json]

``--precision`` is what the ensembles compute in (default: as the app serves, ``autobot.runtime.serving_precision``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS, ROOT, SHARED, command_line, load_average, machine, table, write_json  # noqa: E402

TARGET_ONE_IMAGE_MS = 60.0
TARGET_IMAGES_PER_S = 100.0


def member_rows(ensemble, images, runs: int, batch_runs: int, member_flops: list[int]) -> list[dict]:
    """Each member through the serving forward path, and the same file as a plain Keras model."""
    import keras
    import numpy as np

    from autobot.ensemble import Ensemble
    from autobot.inference import forward
    from autobot.inference.bench import latency, throughput

    x = images.astype(np.float32)
    if x.ndim == 3:
        x = x[..., None]
    one, chunk = x[:1], min(64, len(x))
    rows = []
    for i, (model, entry) in enumerate(zip(ensemble.members, ensemble.manifest["members"])):
        alone = Ensemble(ensemble.task, [model], ensemble.manifest, ensemble.path)
        plain = keras.saving.load_model(ensemble.path / entry["file"], compile=False)

        def direct_batches(plain=plain):
            for start in range(0, len(x), chunk):
                np.asarray(plain(x[start : start + chunk], training=False))

        row = {"task": ensemble.task.name, "member": i, "model": entry.get("model", model.name),
               "flops_per_image": member_flops[i]}
        row["gflop_per_image"] = round(row["flops_per_image"] / 1e9, 3)
        serving = latency(lambda: forward(alone, images[:1]), runs)
        row.update(serving_ms=serving["median_ms"], serving_p95_ms=serving["p95_ms"],
                   serving_images_per_s=throughput(lambda: forward(alone, images), len(images), batch_runs))
        predict_one = latency(lambda: plain.predict(one, verbose=0), max(3, runs // 3))
        row.update(keras_predict_ms=predict_one["median_ms"], keras_predict_images_per_s=throughput(
            lambda: plain.predict(x, batch_size=chunk, verbose=0), len(x), batch_runs))
        call_one = latency(lambda: np.asarray(plain(one, training=False)), max(3, runs // 3))
        row.update(keras_call_ms=call_one["median_ms"],
                   keras_call_images_per_s=throughput(direct_batches, len(x), batch_runs))
        rows.append(row)
        del plain
    return rows


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=Path, default=ROOT / "assets" / "models",
                        help="folder with blood/ and mars/ ensembles (default: the shipped ones)")
    parser.add_argument("--tasks", nargs="+", default=["blood", "mars"], choices=["blood", "mars"])
    parser.add_argument("--shared", type=Path, default=SHARED, help="the shared data folder (default ../shared)")
    parser.add_argument("--runs", type=int, default=30, help="timed calls per latency (after 2 warm-up calls)")
    parser.add_argument("--batch-runs", type=int, default=3, help="timed runs per throughput (median)")
    parser.add_argument("--images", type=int, default=256, help="images per batch run")
    parser.add_argument("--no-members", action="store_true", help="time the ensembles only")
    parser.add_argument("--precision", choices=("auto", "float32", "bfloat16"),
                        help="what the ensembles compute in (default: $AUTOBOT_SERVING_PRECISION or auto, as the app)")
    parser.add_argument("--out", type=Path, default=RESULTS / "inference.json")
    args = parser.parse_args(argv)
    for name in ("runs", "batch_runs", "images"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')}: expected at least 1; got {getattr(args, name)}")

    from autobot.ensemble import load_task_ensemble
    from autobot.inference.bench import bench_blood, bench_mars, load_bench_images, matmul_gflop_per_s
    from autobot.models.cost import count_flops

    cells, frames = load_bench_images(args.shared, args.images)
    before = load_average()
    ensembles, members = [], []
    for task in args.tasks:
        ensemble = load_task_ensemble(task, args.models / task, args.precision)
        images = cells if task == "blood" else frames
        result = (bench_blood if task == "blood" else bench_mars)(ensemble, images, args.runs, args.batch_runs)
        row = {"task": task, "members": len(ensemble), "precision": ensemble.precision,
               "path": os.path.relpath(ensemble.path, ROOT),
               "one_image_ms": result["one_image"]["median_ms"], "one_image_p95_ms": result["one_image"]["p95_ms"],
               "images_per_s": result["batch_images_per_s"], "detail": result}
        member_flops = [count_flops(model) for model in ensemble.members]
        flops = sum(member_flops)
        row["flops_per_image"], row["gflop_per_image"] = flops, round(flops / 1e9, 3)
        row["gflop_per_s"] = round(flops * row["images_per_s"] / 1e9, 1)  # what these cores sustained in batches
        row["gflop_per_s_needed"] = round(flops * TARGET_IMAGES_PER_S / 1e9, 1)
        if task == "blood":
            row["app_request_ms"] = result["one_image_with_occlusion_map"]["median_ms"]
        else:
            row["app_request_ms"] = result["one_image"]["median_ms"]
        row["meets_targets"] = bool(row["one_image_p95_ms"] <= TARGET_ONE_IMAGE_MS
                                    and row["images_per_s"] >= TARGET_IMAGES_PER_S)
        ensembles.append(row)
        print(f"{task}: ensemble done ({row['one_image_ms']} ms, {row['images_per_s']} images/s)", file=sys.stderr)
        if not args.no_members:
            members += member_rows(ensemble, images, args.runs, args.batch_runs, member_flops)
    after = load_average()
    matmul = matmul_gflop_per_s()

    print(table(ensembles, [("task", "ensemble", ""), ("members", "M", "d"), ("precision", "precision", ""),
                            ("one_image_ms", "1 image ms", ".1f"),
                            ("one_image_p95_ms", "p95 ms", ".1f"), ("images_per_s", "images/s", ".0f"),
                            ("app_request_ms", "app request ms", ".1f"), ("gflop_per_image", "GFLOP/img", ".2f"),
                            ("gflop_per_s", "GFLOP/s", ".0f"), ("gflop_per_s_needed", "needed", ".0f"),
                            ("meets_targets", "targets met", "")]))
    print("(app request: blood = classify + occlusion map, as the Classify tab; mars = segment one 64x128 image;\n"
          " GFLOP/s: sustained in batches; needed: for the images/s target; autobot.models.cost)")
    if members:
        print()
        print(table(members, [("task", "task", ""), ("member", "#", "d"), ("model", "model", ""),
                              ("gflop_per_image", "GFLOP/img", ".2f"),
                              ("serving_ms", "serving ms", ".1f"), ("serving_images_per_s", "serving img/s", ".0f"),
                              ("keras_predict_ms", "predict() ms", ".1f"),
                              ("keras_predict_images_per_s", "predict() img/s", ".0f"),
                              ("keras_call_ms", "call ms", ".1f"), ("keras_call_images_per_s", "call img/s", ".0f")]))
        print("(serving: autobot.inference.forward on the member alone; predict(): keras model.predict, batch 64; "
              "call: model(x, training=False), batches of 64)")
    print(f"load average before {before}, after {after}; {os.cpu_count()} CPUs; "
          f"a 1536x1536 float32 matrix product runs at {matmul} GFLOP/s here")
    data = {"bench": "inference", "command": command_line(), "machine": machine(), "load_average_before": before,
            "load_average_after": after, "matmul_gflop_per_s": matmul, "targets": {"one_image_ms": TARGET_ONE_IMAGE_MS,
                                                     "images_per_s": TARGET_IMAGES_PER_S},
            "settings": {"runs": args.runs, "batch_runs": args.batch_runs, "images": args.images,
                         "models": os.path.relpath(args.models.resolve(), ROOT)},
            "ensembles": ensembles, "members": members}
    print(f"wrote {write_json(args.out, data)}")
    return data


if __name__ == "__main__":
    main()
