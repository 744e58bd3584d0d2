"""What one image costs a model: floating-point operations, counted from the Keras graph.

A speed target is a statement about hardware as much as about the model: the same ensemble ran at 32
images/s on one 2-core CPU and 114 on another. Counting the work per image lets a user turn a target into a
budget (``images/s x FLOPs per image`` must stay below what the cores sustain) and compare members before
timing them. Counted as fvcore and ptflops do: two FLOPs per multiply-add of convolutions, dense layers and
attention; elementwise operations, pooling, normalisation and resizing are left out (a few percent here).
"""

from __future__ import annotations

import math

import keras

__all__ = ["count_flops", "ensemble_flops"]


def count_flops(model: keras.Model) -> int:
    """FLOPs of one forward pass for one image (batch size 1), nested models included."""
    graph = getattr(model, "_functional", None) or model  # a built Sequential keeps its graph there
    nodes_by_depth = getattr(graph, "_nodes_by_depth", None)
    if nodes_by_depth is None:
        raise ValueError(f"{model.name}: expected a functional or sequential Keras model with a graph; "
                         f"got {type(model).__name__} (build it on an Input first)")
    total = 0
    for nodes in nodes_by_depth.values():
        for node in nodes:
            total += _node_flops(node.operation, node)
    return int(total)


def ensemble_flops(members) -> int:
    """FLOPs per image of an ensemble: the sum over its members (each sees every image once)."""
    return sum(count_flops(m) for m in members)


def _spatial(shape) -> int:
    """Product of a tensor's non-batch, non-channel sizes (1 for a vector)."""
    return math.prod(int(d) for d in shape[1:-1]) if len(shape) > 2 else 1


def _node_flops(layer, node) -> int:
    if isinstance(layer, keras.Model):
        return count_flops(layer)
    if not node.output_tensors or not node.input_tensors:
        return 0
    out_shape, in_shape = node.output_tensors[0].shape, node.input_tensors[0].shape
    if isinstance(layer, keras.layers.SeparableConv2D):
        depthwise = math.prod(layer.depthwise_kernel.shape)  # kh * kw * cin * multiplier
        pointwise = math.prod(layer.pointwise_kernel.shape)
        return 2 * _spatial(out_shape) * (depthwise + pointwise)
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        return 2 * _spatial(out_shape) * math.prod(layer.kernel.shape)
    if isinstance(layer, keras.layers.Conv2DTranspose):
        return 2 * _spatial(in_shape) * math.prod(layer.kernel.shape)  # every input pixel scatters a kernel
    if isinstance(layer, (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)):
        return 2 * _spatial(out_shape) * math.prod(layer.kernel.shape)  # kernel holds cin / groups
    if isinstance(layer, keras.layers.Dense):
        return 2 * _spatial(out_shape) * math.prod(layer.kernel.shape)
    if isinstance(layer, keras.layers.EinsumDense):
        return 2 * _spatial(out_shape) * math.prod(layer.kernel.shape)
    if isinstance(layer, keras.layers.MultiHeadAttention):
        return _attention_flops(layer, node)
    return 0


def _attention_flops(layer, node) -> int:
    query, value = node.input_tensors[0].shape, node.input_tensors[1 if len(node.input_tensors) > 1 else 0].shape
    key = node.input_tensors[2].shape if len(node.input_tensors) > 2 else value
    tq, tk = _spatial(query), _spatial(key)
    heads, key_dim = layer.num_heads, layer.key_dim
    value_dim = layer.value_dim or key_dim
    projections = (tq * int(query[-1]) * heads * key_dim + tk * int(key[-1]) * heads * key_dim
                   + tk * int(value[-1]) * heads * value_dim + tq * heads * value_dim * int(query[-1]))
    scores_and_mix = heads * tq * tk * (key_dim + value_dim)
    return 2 * (projections + scores_and_mix)
