"""Every shipped recipe parses into a valid TrainConfig; --set overrides apply."""

from __future__ import annotations

import pytest

from autobot.errors import DataError
from autobot.models import list_models
from autobot.train.recipes import list_recipes, load_recipe, recipe_config


def test_shipped_recipes():
    assert {"blood_convnext_seed", "blood_cpu", "mars_seed", "mars_cpu"} <= set(list_recipes())


@pytest.mark.parametrize("name", ["blood_convnext_seed", "blood_cpu", "mars_seed", "mars_cpu"])
def test_recipe_parses(name):
    recipe = load_recipe(name)
    config = recipe_config(recipe)
    models = recipe["ensemble"].get("models") or [config.model]
    assert set(models) <= set(list_models(config.task))


def test_set_overrides():
    recipe = load_recipe("mars_cpu", ["train.epochs=2", "ensemble.models=[unet]", "train.model_kwargs.base_filters=8"])
    config = recipe_config(recipe)
    assert config.epochs == 2 and config.model_kwargs == {"base_filters": 8}
    assert recipe["ensemble"]["models"] == ["unet"]


def test_bad_recipe_and_keys():
    with pytest.raises(DataError, match="recipe"):
        load_recipe("no_such_recipe")
    with pytest.raises(DataError, match="unknown keys"):
        recipe_config(load_recipe("blood_cpu", ["train.epoch=2"]))
