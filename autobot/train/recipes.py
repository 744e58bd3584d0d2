"""Recipes: YAML files in ``training/`` that name the data, the ensemble and a TrainConfig.

A recipe has ``task``, ``data`` (a path, relative ones taken from the project root),
``ensemble`` (``members`` or ``models``, ``bootstrap``, ``combine``, ``seed_offset``,
``lone_half_padding``) and ``train`` (TrainConfig fields).
``--set key=value`` overrides use dotted keys, e.g. ``train.epochs=2``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from autobot.errors import DataError
from autobot.train.config import TrainConfig

__all__ = ["PROJECT_ROOT", "RECIPES_DIR", "list_recipes", "load_recipe", "recipe_config", "run_recipe"]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
RECIPES_DIR = PROJECT_ROOT / "training"


def list_recipes() -> list[str]:
    """Names of the recipes shipped in ``training/``."""
    return sorted(p.stem for p in RECIPES_DIR.glob("*.yaml"))


def _apply_set(recipe: dict, item: str) -> None:
    if "=" not in item:
        raise DataError(None, "--set", "key=value (e.g. train.epochs=2)", repr(item))
    key, raw = item.split("=", 1)
    value = yaml.safe_load(raw)
    node = recipe
    parts = key.strip().split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise DataError(None, "--set", "a nested key under a mapping", repr(key))
    node[parts[-1]] = value


def load_recipe(name_or_path: str | Path, overrides: Sequence[str] = ()) -> dict[str, Any]:
    """Read a recipe by name (``training/<name>.yaml``) or path and apply ``--set`` overrides."""
    path = Path(name_or_path)
    if not path.is_file():
        path = RECIPES_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        raise DataError(name_or_path, None, f"a recipe file or one of {tuple(list_recipes())}", "nothing there")
    try:
        recipe = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise DataError(path, None, "valid YAML", f"a parse error ({err})") from None
    if not isinstance(recipe, dict) or not isinstance(recipe.get("train"), dict):
        raise DataError(path, "train", "a mapping of TrainConfig fields", repr(recipe)[:80])
    recipe = copy.deepcopy(recipe)
    for item in overrides:
        _apply_set(recipe, item)
    recipe.setdefault("name", path.stem)
    return recipe


def recipe_config(recipe: dict[str, Any]) -> TrainConfig:
    """The recipe's TrainConfig (the recipe's ``task`` wins)."""
    try:
        return TrainConfig.from_dict({**recipe["train"], "task": recipe.get("task", recipe["train"].get("task"))})
    except (TypeError, ValueError) as err:
        raise DataError(recipe.get("name"), "train", "valid TrainConfig fields", str(err)) from None


def run_recipe(recipe: dict[str, Any], out_dir: str | Path, data: str | Path | None = None, progress=None) -> Path:
    """Train the recipe's ensemble into ``out_dir`` (resumable) and return it."""
    from autobot.data import load_dataset
    from autobot.ensemble import train_ensemble

    config = recipe_config(recipe)
    path = Path(data or recipe.get("data") or "")
    if not path.is_absolute() and data is None:
        path = PROJECT_ROOT / path
    dataset = load_dataset(path, config.task)
    ens = recipe.get("ensemble") or {}
    return train_ensemble(config, dataset, n_members=int(ens.get("members", 1)), out_dir=out_dir,
                          models=ens.get("models"), bootstrap=bool(ens.get("bootstrap", True)),
                          recipe=recipe, progress=progress, only=ens.get("only"),
                          combine=ens.get("combine", "mean"), seed_offset=ens.get("seed_offset", 0),
                          lone_half_padding=ens.get("lone_half_padding", 0))
