"""BatchNormalization folding for serving: same predictions, fewer layers, nothing else touched."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from autobot.models import build_model
from autobot.models.fold import fold_batchnorm
from conftest import from_scratch_models, tiny_model

FROM_SCRATCH = from_scratch_models()


@pytest.fixture(autouse=True)
def _clear():
    yield
    keras.backend.clear_session()


def _trained_statistics(model: keras.Model, seed: int = 0) -> keras.Model:
    """Give every BatchNormalization statistics and an affine map far from the identity it starts as,
    so that a fold that dropped or misplaced any of them changes the output."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.gamma.shape[0]
            layer.set_weights([rng.uniform(0.5, 2.0, n), rng.normal(0, 0.5, n), rng.normal(0, 0.5, n),
                               rng.uniform(0.2, 3.0, n)])
    return model


def _count(model: keras.Model, kind: type) -> int:
    return sum(isinstance(layer, kind) for layer in model.layers)


@pytest.mark.parametrize("name", FROM_SCRATCH)
def test_folded_model_predicts_the_same_without_batchnorm(name):
    model, shape = tiny_model(name)
    model = _trained_statistics(model)
    assert _count(model, keras.layers.BatchNormalization) > 0
    folded = fold_batchnorm(model)
    x = np.random.default_rng(1).uniform(0, 255, (3, *shape)).astype("float32")
    np.testing.assert_allclose(np.asarray(folded(x)), np.asarray(model(x, training=False)), atol=2e-5)
    assert _count(folded, keras.layers.BatchNormalization) == 0
    assert _count(folded, keras.layers.Conv2D) == _count(model, keras.layers.Conv2D)
    assert len(folded.layers) < len(model.layers)


def test_only_the_foldable_patterns_are_folded():
    """A conv another layer also reads, a normalization after a Dense, and a conv with its own
    activation stay as they are; the plain conv -> BN -> ReLU beside them folds."""
    image = keras.Input((8, 8, 2))
    shared = keras.layers.Conv2D(3, 3, padding="same", use_bias=False, name="shared_conv")(image)
    normed = keras.layers.BatchNormalization(name="shared_bn")(shared)
    added = keras.layers.Add(name="skip")([shared, normed])  # reads the conv before normalization
    relu_first = keras.layers.Conv2D(3, 3, padding="same", activation="relu", name="relu_conv")(added)
    relu_bn = keras.layers.BatchNormalization(name="relu_bn")(relu_first)
    plain = keras.layers.Conv2D(3, 1, name="plain_conv")(relu_bn)
    plain_bn = keras.layers.BatchNormalization(name="plain_bn")(plain)
    act = keras.layers.Activation("relu", name="plain_relu")(plain_bn)
    pooled = keras.layers.GlobalAveragePooling2D()(act)
    dense = keras.layers.Dense(4, name="dense")(pooled)
    out = keras.layers.BatchNormalization(name="dense_bn")(dense)
    model = _trained_statistics(keras.Model(image, out))

    folded = fold_batchnorm(model)
    names = {layer.name for layer in folded.layers}
    assert {"shared_bn", "relu_bn", "dense_bn"} <= names
    assert not {"plain_bn", "plain_relu"} & names
    assert folded.get_layer("plain_conv").activation is keras.activations.relu
    x = np.random.default_rng(2).normal(size=(4, 8, 8, 2)).astype("float32")
    np.testing.assert_allclose(np.asarray(folded(x)), np.asarray(model(x, training=False)), atol=1e-5)


def test_normalization_that_is_the_output_folds_and_the_output_follows():
    image = keras.Input((6, 6, 1))
    conv = keras.layers.Conv2D(2, 3, padding="same", name="conv")(image)
    model = _trained_statistics(keras.Model(image, keras.layers.BatchNormalization(name="bn")(conv)))
    folded = fold_batchnorm(model)
    assert [layer.name for layer in folded.layers] == [model.layers[0].name, "conv"]
    x = np.random.default_rng(3).normal(size=(2, 6, 6, 1)).astype("float32")
    np.testing.assert_allclose(np.asarray(folded(x)), np.asarray(model(x, training=False)), atol=1e-5)


def test_nothing_to_fold_returns_the_model_itself():
    image = keras.Input((4,))
    model = keras.Model(image, keras.layers.Dense(2)(image))
    assert fold_batchnorm(model) is model
    sequential = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Conv2D(2, 3),
                                   keras.layers.BatchNormalization()])
    assert fold_batchnorm(sequential) is sequential


def test_imagenet_backbone_nested_as_one_layer_is_left_as_it_is():
    model = build_model("mobilenetv3small", input_shape=(96, 96, 3), num_classes=8, weights=None)
    assert fold_batchnorm(model) is model
