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
    return sum(_node_flops(node.operation, node) for nodes in nodes_by_depth.values() for node in nodes)


def ensemble_flops(members) -> int:
    """FLOPs per image of an ensemble: the sum over its members (each sees every image once)."""
    return sum(count_flops(m) for m in members)


def _spatial(shape) -> int:
    """Product of a tensor's non-batch, non-channel sizes (1 for a vector)."""
    return math.prod(int(d) for d in shape[1:-1]) if len(shape) > 2 else 1


#: Layers whose kernel is applied once per output position: multiply-adds = output positions x kernel size
#: (a grouped or depthwise kernel already holds only the input channels each output sees).
_PER_OUTPUT_POSITION = (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D, keras.layers.DepthwiseConv2D,
                        keras.layers.Dense, keras.layers.EinsumDense)


def _node_flops(layer, node) -> int:
    if isinstance(layer, keras.Model):
        return count_flops(layer)
    if not node.output_tensors or not node.input_tensors:
        return 0
    out_shape, in_shape = node.output_tensors[0].shape, node.input_tensors[0].shape
    if isinstance(layer, _PER_OUTPUT_POSITION):
        return 2 * _spatial(out_shape) * math.prod(layer.kernel.shape)
    if isinstance(layer, keras.layers.SeparableConv2D):
        kernels = math.prod(layer.depthwise_kernel.shape) + math.prod(layer.pointwise_kernel.shape)
        return 2 * _spatial(out_shape) * kernels
    if isinstance(layer, keras.layers.Conv2DTranspose):
        return 2 * _spatial(in_shape) * math.prod(layer.kernel.shape)  # every input pixel scatters a kernel
    if isinstance(layer, keras.layers.MultiHeadAttention):
        return _attention_flops(layer, [t.shape for t in node.input_tensors])
    return 0


def _attention_flops(layer, shapes) -> int:
    """Shapes are (query, value[, key]) as ``MultiHeadAttention`` is called; one tensor attends to itself."""
    query = shapes[0]
    value = shapes[1] if len(shapes) > 1 else query
    key = shapes[2] if len(shapes) > 2 else value
    tq, tk = _spatial(query), _spatial(key)
    heads, key_dim = layer.num_heads, layer.key_dim
    value_dim = layer.value_dim or key_dim
    projections = heads * (tq * query[-1] * key_dim + tk * key[-1] * key_dim + tk * value[-1] * value_dim
                           + tq * value_dim * query[-1])
    scores_and_mix = heads * tq * tk * (key_dim + value_dim)
    return 2 * (projections + scores_and_mix)
