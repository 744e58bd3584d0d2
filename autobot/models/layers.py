"""Custom Keras layers, serializable so ``.keras`` files load without ``custom_objects``.

Only ``keras.ops`` is used, so the layers run on the TensorFlow and JAX backends alike.
"""

from __future__ import annotations

import keras
from keras import ops

__all__ = ["PositionEmbedding"]


@keras.saving.register_keras_serializable(package="autobot")
class PositionEmbedding(keras.layers.Layer):
    """Adds a learned embedding per token position, so attention knows where tokens sit.

    Args:
        num_tokens: Sequence length the layer expects (fixed: bottleneck height x width).
        initializer: Initializer of the ``(num_tokens, dim)`` table.
    """

    def __init__(self, num_tokens: int, initializer: str = "random_normal", **kwargs):
        super().__init__(**kwargs)
        if num_tokens < 1:
            raise ValueError(f"num_tokens must be >= 1; got {num_tokens}")
        self.num_tokens = int(num_tokens)
        self.initializer = initializer

    def build(self, input_shape):
        if input_shape[-2] is not None and input_shape[-2] != self.num_tokens:
            raise ValueError(f"expected {self.num_tokens} tokens; got input shape {input_shape}")
        self.embedding = self.add_weight(
            name="embedding",
            shape=(self.num_tokens, input_shape[-1]),
            initializer=keras.initializers.RandomNormal(stddev=0.02)
            if self.initializer == "random_normal"
            else self.initializer,
        )

    def call(self, inputs):
        return inputs + ops.cast(self.embedding, inputs.dtype)[None]

    def get_config(self):
        return {**super().get_config(), "num_tokens": self.num_tokens, "initializer": self.initializer}
