"""Every registered model builds, runs a tiny batch, and custom layers survive .keras round trips."""

from __future__ import annotations

import os

import keras
import numpy as np
import pytest

from autobot.models import build_model, list_models, model_task
from autobot.models.classifiers import BACKBONES

HEAVY = {"efficientnetb7", "convnextbase"}
SLOW = os.environ.get("AUTOBOT_SLOW") == "1"
TINY = {"blood": (32, 32, 3), "mars": (32, 64, 1)}


@pytest.fixture(autouse=True)
def _clear():
    yield
    keras.backend.clear_session()


@pytest.mark.parametrize("name", list_models())
def test_forward_pass(name):
    if name in HEAVY and not SLOW:
        pytest.skip("heavy ImageNet backbone: set AUTOBOT_SLOW=1 to run")
    task = model_task(name)
    shape = TINY[task]
    kw = {"base_filters": 4, "transformer_dim": 16, "context_filters": 4} if task == "mars" else {}
    model = build_model(name, input_shape=shape, num_classes=5 if task == "mars" else 8, weights=None, **kw)
    x = np.random.default_rng(0).uniform(0, 255, (2, *shape)).astype("float32")
    y = np.asarray(model(x, training=False))
    expected = (2, *shape[:2], 5) if task == "mars" else (2, 8)
    assert y.shape == expected
    assert not np.isnan(y).any()
    np.testing.assert_allclose(y.sum(-1), 1.0, rtol=1e-4)


def test_registry_lists_tasks_and_rejects_unknown():
    assert set(list_models("mars")) == {"unet", "unet_attention", "unet_se", "unet_transformer", "dual_unet"}
    assert "custom_cnn" in list_models("blood")
    with pytest.raises(ValueError, match="expected one of"):
        build_model("resnet9000")


def test_none_kwargs_keep_defaults():
    model = build_model("custom_cnn", input_shape=(32, 32, 3), dropout=None, work_size=None)
    assert model.get_layer("head_dropout").rate == 0.2


def test_backbones_take_uint8_range_and_preprocess_inside():
    assert all(r == (0.0, 255.0) for *_, r in BACKBONES.values())
    model = build_model("mobilenetv3small", input_shape=(32, 32, 3))
    inner = model.layers[1]
    assert any(isinstance(layer, keras.layers.Rescaling) for layer in inner.layers)


def test_custom_cnn_rescales_inside():
    model = build_model("custom_cnn", input_shape=(32, 32, 3))
    assert isinstance(model.get_layer("rescale"), keras.layers.Rescaling)


def test_transformer_unet_saves_and_loads(tmp_path):
    model = build_model("unet_transformer", input_shape=(32, 64, 1), base_filters=4, transformer_dim=16)
    x = np.random.default_rng(1).uniform(0, 255, (2, 32, 64, 1)).astype("float32")
    path = tmp_path / "m.keras"
    model.save(path)
    keras.backend.clear_session()
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), atol=1e-5)
    # A fresh process that imports only the package (as the app and `evaluate` do) must find
    # the custom layers: this once failed for ensembles with a transformer member.
    import subprocess
    import sys

    code = "import sys, keras, autobot.models; keras.models.load_model(sys.argv[1])"
    result = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-1500:]


def test_unet_rejects_indivisible_shape():
    with pytest.raises(ValueError, match="divisible"):
        build_model("unet", input_shape=(30, 64, 1))
