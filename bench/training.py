"""Training speed of every registered model at the sizes the recipes in ``training/*.yaml`` use.

For each (recipe, model) pair -- a recipe's ``train.model`` and its ``ensemble.models`` --
the model is built and compiled exactly as ``autobot.train.member`` does (the recipe's
loss, optimizer, schedule, metrics, ``model_kwargs``; ``weights`` forced to None, so nothing
is downloaded), and fed real batches of the recipe's data through the recipe's augmentation
(``BatchSequence``). Registered models that no recipe names are run with their task's
``*_seed`` recipe. ``--warmup`` steps after compiling (the first traces the graph) are not
timed; then ``--steps`` steps of ``train_on_batch`` are. Separately, the input pipeline's
images/s (decode-free: resize, augmentation, CutMix) is timed on the same batches.

Usage::

    python bench/training.py [--models custom_cnn unet ...] [--steps 5] [--warmup 2] [--no-jit | --jit]
                             [--out bench/results/training.json]

Steps are XLA-compiled as the recipe's ``train.jit_compile`` says; ``--no-jit`` and ``--jit`` force it off or on, to compare.
TensorFlow's oneDNN kernels are asked for as ``python -m autobot train`` asks (``autobot.runtime``);
``TF_ENABLE_ONEDNN_OPTS=0 python bench/training.py`` measures without them.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS, ROOT, SHARED, command_line, load_average, machine, table, write_json  # noqa: E402

from autobot.runtime import prefer_onednn  # noqa: E402

prefer_onednn()  # before anything loads TensorFlow, as the train command does


def cases(selected: list[str] | None) -> list[tuple[str, str]]:
    """``(recipe, model)`` pairs: every model each recipe trains, then unnamed models with their task's seed recipe."""
    from autobot.models import list_models, model_task
    from autobot.train.recipes import list_recipes, load_recipe

    pairs, named = [], set()
    for name in list_recipes():
        recipe = load_recipe(name)
        models = (recipe.get("ensemble") or {}).get("models") or [recipe["train"].get("model", "custom_cnn")]
        for model in models:
            pairs.append((name, model))
            named.add(model)
    for model in list_models():
        if model not in named:
            seeds = [r for r in list_recipes() if r.endswith("_seed") and load_recipe(r)["task"] == model_task(model)]
            pairs.append((seeds[0] if seeds else next(r for r in list_recipes()
                                                       if load_recipe(r)["task"] == model_task(model)), model))
    if selected:
        unknown = sorted(set(selected) - {m for _, m in pairs})
        if unknown:
            raise SystemExit(f"error: unknown model(s) {unknown}; expected some of {sorted({m for _, m in pairs})}")
        pairs = [p for p in pairs if p[1] in selected]
    return pairs


def load_data(recipe: dict, shared: Path, rows: int, cache: dict):
    """``rows`` seeded random rows of the recipe's data (read from ``shared``), and the data's full size."""
    import numpy as np

    from autobot.data import load_dataset

    data = Path(recipe["data"])
    if data.parts[:2] == ("..", "shared"):  # recipes name ../shared/...; --shared moves it
        data = shared.joinpath(*data.parts[2:])
    elif not data.is_absolute():
        data = ROOT / data
    key = (str(data), rows)
    if key not in cache:
        dataset = load_dataset(data, recipe["task"])
        pick = np.sort(np.random.default_rng(0).choice(len(dataset), min(rows, len(dataset)), replace=False))
        cache[key] = (dataset.take(pick), len(dataset))
    return cache[key]


def measure(recipe_name: str, model_name: str, shared: Path, steps: int, warmup: int, data_cache: dict,
            jit_compile: bool | None = None) -> dict:
    from dataclasses import replace

    import keras
    import numpy as np

    from autobot.augment import augment_config, build_augment
    from autobot.models import build_model
    from autobot.tasks import get_task
    from autobot.train.member import _compile
    from autobot.train.pipeline import BatchSequence
    from autobot.train.recipes import load_recipe, recipe_config

    recipe = load_recipe(recipe_name)
    config = recipe_config(recipe)
    if jit_compile is not None:  # --no-jit; otherwise the recipe's own setting
        config = replace(config, jit_compile=jit_compile)
    task = get_task(config.task)
    kwargs = dict(config.model_kwargs)
    if "weights" in kwargs:
        kwargs["weights"] = None  # the bench measures speed; pretrained weights change nothing there
    batch = config.batch_size
    dataset, full_size = load_data(recipe, shared, batch * (steps + warmup), data_cache)
    rows = np.arange(len(dataset))
    segmentation = task.kind == "segmentation"
    aug, mix = None, {}
    if config.augment is not None:
        acfg = augment_config(task.name, **{"seed": config.seed, **config.augment})
        aug = build_augment(acfg)
        if not segmentation:
            mix = dict(cutmix=acfg.cutmix, mixup=acfg.mixup, mix_alpha=acfg.mix_alpha)
    sequence = BatchSequence(dataset.images, dataset.targets, rows, batch, task.num_classes, segmentation, aug,
                             shuffle=True, seed=config.seed, image_size=config.image_size, **mix)
    start = time.perf_counter()
    batches = [sequence[i] for i in range(len(sequence))]
    data_seconds = time.perf_counter() - start
    n_data = sum(len(b[0]) for b in batches)
    batches = [batches[i % len(batches)] for i in range(steps + warmup)]  # fewer rows than asked: batches repeat

    keras.backend.clear_session()
    keras.utils.set_random_seed(config.seed)
    shape = tuple(config.image_size or task.image_size) + (task.channels,)
    start = time.perf_counter()
    model = build_model(model_name, input_shape=shape, num_classes=task.num_classes, **kwargs)
    _compile(model, config, dataset, rows, max(len(sequence), 1))
    build_seconds = time.perf_counter() - start
    start = time.perf_counter()
    for x, y in batches[:warmup]:
        model.train_on_batch(x, y)
    warm_seconds = time.perf_counter() - start
    times = []
    for x, y in batches[warmup : warmup + steps]:
        start = time.perf_counter()
        model.train_on_batch(x, y)
        times.append(time.perf_counter() - start)
    step = float(np.median(times))
    row = {"recipe": recipe_name, "model": model_name, "task": task.name, "input": "x".join(map(str, shape)),
           "batch": batch, "jit_compile": bool(model.jit_compile), "model_kwargs": kwargs,
           "params_m": round(model.count_params() / 1e6, 2),
           "build_compile_s": round(build_seconds, 1), "first_steps_s": round(warm_seconds, 1),
           "step_s": round(step, 3), "step_max_s": round(max(times), 3),
           "images_per_s": round(batch / step, 1),
           "data_images_per_s": round(n_data / data_seconds, 1) if data_seconds > 0 else None,
           "steps": steps, "warmup": warmup}
    row["epoch_min"] = round(full_size * (1 - config.val_fraction) / row["images_per_s"] / 60, 1)
    del model
    keras.backend.clear_session()
    return row


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", help="model names (default: every registered model)")
    parser.add_argument("--steps", type=int, default=5, help="timed training steps per model (median reported)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps after compiling (the first traces)")
    xla = parser.add_mutually_exclusive_group()
    xla.add_argument("--no-jit", action="store_true", help="train without XLA (train.jit_compile=false)")
    xla.add_argument("--jit", action="store_true", help="train with XLA (train.jit_compile=true)")
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--out", type=Path, default=RESULTS / "training.json")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.warmup < 1:
        parser.error("--steps and --warmup: expected at least 1 (the first step after compiling is never timed)")
    pairs = cases(args.models)
    before = load_average()
    rows, cache = [], {}
    for recipe, model in pairs:
        jit = False if args.no_jit else True if args.jit else None  # None: the recipe's own setting
        rows.append(measure(recipe, model, args.shared, args.steps, args.warmup, cache, jit))
        r = rows[-1]
        print(f"{recipe}/{model}: {r['images_per_s']} images/s (step {r['step_s']} s, load {load_average()[0]})",
              file=sys.stderr, flush=True)
    after = load_average()
    print(table(rows, [("recipe", "recipe", ""), ("model", "model", ""), ("input", "input", ""), ("batch", "batch", "d"),
                       ("jit_compile", "XLA", ""), ("params_m", "params M", ".2f"),
                       ("build_compile_s", "build s", ".1f"),
                       ("first_steps_s", "warm-up s", ".1f"), ("step_s", "step s", ".3f"),
                       ("images_per_s", "train img/s", ".1f"), ("data_images_per_s", "data img/s", ".0f"),
                       ("epoch_min", "epoch min", ".1f")]))
    print(f"(warm-up: the first {args.warmup} step(s) after compiling, untimed; step: median of {args.steps}; data: "
          f"BatchSequence with the recipe's augmentation; epoch: the shared data less validation at train img/s)")
    print(f"load average before {before}, after {after}; {os.cpu_count()} CPUs")
    data = {"bench": "training", "command": command_line(), "machine": machine(), "load_average_before": before,
            "load_average_after": after, "models": rows,
            "settings": {"steps": args.steps, "warmup": args.warmup, "no_jit": args.no_jit}}
    print(f"wrote {write_json(args.out, data)}")
    return data


if __name__ == "__main__":
    main()
