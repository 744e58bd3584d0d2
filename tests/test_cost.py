"""FLOPs per image (autobot.models.cost) against hand counts and a published figure."""

from __future__ import annotations

import keras
import pytest
from keras import layers

from autobot.models.cost import count_flops, ensemble_flops
from conftest import tiny_model


def test_convolutions_dense_and_transposed_match_hand_counts():
    inputs = keras.Input((8, 16, 3))
    x = layers.Conv2D(4, 3, padding="same")(inputs)           # 8*16 pixels * 3*3*3 * 4 MACs
    x = layers.Conv2D(6, 3, strides=2, padding="same")(x)     # 4*8 pixels * 3*3*4 * 6
    x = layers.DepthwiseConv2D(3, padding="same")(x)          # 4*8 * 3*3*6
    x = layers.Conv2D(6, 1, groups=2)(x)                      # 4*8 * 1*1*3 * 6
    x = layers.Conv2DTranspose(3, 2, strides=2)(x)            # 4*8 input pixels * 2*2*3*6
    x = layers.GlobalAveragePooling2D()(x)                    # not counted
    outputs = layers.Dense(5)(x)                              # 3 * 5
    macs = 128 * 27 * 4 + 32 * 36 * 6 + 32 * 54 + 32 * 18 + 32 * 72 + 15
    assert count_flops(keras.Model(inputs, outputs)) == 2 * macs


def test_attention_counts_projections_scores_and_mixing():
    tokens = keras.Input((16, 8))
    out = layers.MultiHeadAttention(num_heads=2, key_dim=4)(tokens, tokens)
    projections = 3 * 16 * 8 * 2 * 4 + 16 * 2 * 4 * 8          # q, k, v in; heads back to 8
    scores_and_mix = 2 * 16 * 16 * (4 + 4)
    assert count_flops(keras.Model(tokens, out)) == 2 * (projections + scores_and_mix)


def test_a_nested_model_counts_once_per_call():
    block = keras.Sequential([keras.Input((4, 4, 2)), layers.Conv2D(2, 1)])
    inputs = keras.Input((4, 4, 2))
    once = keras.Model(inputs, block(inputs))
    twice = keras.Model(inputs, layers.Add()([block(inputs), block(inputs)]))
    assert count_flops(once) == 2 * 16 * 4 and count_flops(twice) == 2 * count_flops(once)
    assert ensemble_flops([once, twice]) == 3 * count_flops(once)


def test_mobilenetv3small_matches_its_published_cost():
    model = keras.applications.MobileNetV3Small(weights=None, input_shape=(224, 224, 3))
    assert count_flops(model) / 2 == pytest.approx(56e6, rel=0.03)  # Howard et al. 2019, Table 3: 56M MAdds


def test_unet_cost_grows_with_the_square_of_its_width():
    small, _ = tiny_model("unet_se")
    from autobot.models import build_model

    wide = build_model("unet_se", input_shape=(32, 64, 1), num_classes=5, base_filters=8)
    assert 3.5 < count_flops(wide) / count_flops(small) < 4.2


def test_a_model_without_a_graph_is_refused_by_name():
    class Bare(keras.Model):
        def call(self, x):
            return x

    with pytest.raises(ValueError, match="bare.*functional or sequential"):
        count_flops(Bare(name="bare"))
