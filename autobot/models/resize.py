"""Rebuild a trained fully convolutional model for another input size, with the same weights.

A U-Net trained on 64x128 halves segments a 128x128 photograph, and one fine-tuned on 128x128
photographs still serves 64x128 halves: only the input layer's shape changes. Layers bound to a
size (a transformer bottleneck's position embedding, one entry per token) refuse, and the
caller keeps the model at its own size. Like :mod:`autobot.models.fold`, this edits the
functional config, so it uses no backend op.
"""

from __future__ import annotations

import keras

__all__ = ["at_input_size"]


def at_input_size(model: keras.Model, height: int, width: int) -> keras.Model | None:
    """``model`` for ``(height, width)`` inputs, sharing its weights; itself at its own size; None if it cannot be."""
    if tuple(model.input_shape[1:3]) == (height, width):
        return model
    config = model.get_config()
    try:
        inputs = [entry for entry in config["layers"] if entry["class_name"] == "InputLayer"]
        if len(inputs) != 1:
            return None
        shape = inputs[0]["config"]["batch_shape"]
        inputs[0]["config"]["batch_shape"] = [shape[0], int(height), int(width), *shape[3:]]
        copy = model.__class__.from_config(config)
        copy.set_weights(model.get_weights())
    except Exception:  # noqa: BLE001  (any layer that cannot take the size: the model keeps its own)
        return None
    segments = len(model.output_shape) == 4 and tuple(model.output_shape[1:3]) == tuple(model.input_shape[1:3])
    if segments and tuple(copy.output_shape[1:3]) != (int(height), int(width)):
        return None  # a size its poolings cannot halve evenly: the graph builds, then fails on real inputs
    return copy
