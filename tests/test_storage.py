"""Half-precision member files: smaller, loaded by plain Keras, float32 where float16 would overflow."""

from __future__ import annotations

import zipfile

import keras
import numpy as np
import pytest

from autobot.ensemble.storage import store_weights_as, stored_weights_dtype
from autobot.errors import DataError


def _model(scale: float) -> keras.Model:
    inputs = keras.Input((64,))
    hidden = keras.layers.Dense(512, name="big")(inputs)
    outputs = keras.layers.Dense(3, name="head")(keras.layers.BatchNormalization()(hidden))
    model = keras.Model(inputs, outputs)
    kernel, bias = model.get_layer("big").get_weights()
    model.get_layer("big").set_weights([kernel * scale, bias])
    return model


def test_float16_file_loads_as_float32_and_predicts_the_same(tmp_path):
    model = _model(1.0)
    path = tmp_path / "m.keras"
    model.save(path)
    x = np.random.default_rng(0).normal(size=(16, 64)).astype("float32")
    before, size = model.predict(x, verbose=0), path.stat().st_size
    store_weights_as(path, "float16")
    assert stored_weights_dtype(path) == "float16"
    loaded = keras.models.load_model(path)
    assert all(w.dtype == "float32" for w in loaded.weights)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), before, rtol=1e-2, atol=1e-2)
    assert path.stat().st_size < 0.6 * size  # the weights dominate a real member; they halve


def test_weights_float16_cannot_hold_stay_float32(tmp_path):
    model = _model(1e6)  # kernel entries far beyond float16's 65504
    path = tmp_path / "m.keras"
    model.save(path)
    store_weights_as(path, "float16")
    assert stored_weights_dtype(path) == "float32"
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(loaded.get_layer("big").get_weights()[0], model.get_layer("big").get_weights()[0])
    head, stored_head = model.get_layer("head").get_weights()[0], loaded.get_layer("head").get_weights()[0]
    assert not np.array_equal(stored_head, head)  # the rest was still halved
    np.testing.assert_allclose(stored_head, head, rtol=1e-3, atol=1e-7)  # float16 subnormals below 6e-5


def test_not_a_keras_archive_is_named_in_the_error(tmp_path):
    bad = tmp_path / "broken.keras"
    bad.write_bytes(b"not a zip")
    with pytest.raises(DataError, match="broken.keras.*zip"):
        store_weights_as(bad)
    empty = tmp_path / "empty.keras"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("config.json", "{}")
    with pytest.raises(DataError, match=r"empty.keras.*model.weights.h5"):
        store_weights_as(empty)
    with pytest.raises(DataError, match="weights_dtype"):
        store_weights_as(empty, "int8")
