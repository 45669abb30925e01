"""Rebuild a functional Keras model with some layers replaced.

    from bnnkit.graph import rebuild

    def as_two(old, inputs):          # replacement(old_layer, new_input) -> new_output
        ...
    model = rebuild(model, {"conv2": as_two})

Every other layer becomes a fresh copy with the same config and weights, so each layer
lives in exactly one model with one inbound node and ``layer.input`` stays well defined.
Data-driven binarization (:mod:`bnnkit.binarize`) replaces one layer at a time this way,
and :mod:`converters.rewrites` splits layers with it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bnnkit.errors import UnsupportedModelError

__all__ = ["Replacement", "rebuild"]

Replacement = Callable[[Any, Any], Any]
"""``replacement(old_layer, new_input_tensor) -> new_output_tensor`` (sets its own weights)."""


def _copy(layer: Any) -> Any:
    import tensorflow as tf

    if isinstance(layer, tf.keras.Model):
        raise UnsupportedModelError(f"nested model {layer.name!r} cannot be rebuilt layer by layer")
    return layer.__class__.from_config(layer.get_config())


def rebuild(model: Any, replacements: dict[str, Replacement]) -> Any:
    """A new functional model equal to ``model`` but with ``replacements`` applied.

    Every other layer is a fresh copy with the same config and weights.
    """
    import tensorflow as tf

    tensors: dict[int, object] = {}
    pending_weights = []

    def mapped(value):
        # Keys are ids of the old model's live KerasTensors, so no other object matches.
        return tensors.get(id(value), value)

    for layer in model.layers:
        nodes = layer._inbound_nodes
        if len(nodes) != 1:
            raise UnsupportedModelError(
                f"layer {layer.name!r} is used {len(nodes)} times; a model with shared "
                "layers cannot be rebuilt layer by layer"
            )
        node = nodes[0]
        if isinstance(layer, tf.keras.layers.InputLayer):
            config = layer.get_config()
            new = tf.keras.Input(
                batch_shape=config["batch_input_shape"], dtype=config.get("dtype"), name=layer.name
            )
            tensors[id(layer.output)] = new
            continue
        args = tf.nest.map_structure(mapped, node.call_args)
        kwargs = tf.nest.map_structure(mapped, node.call_kwargs)
        if layer.name in replacements:
            if kwargs or len(args) != 1:
                raise UnsupportedModelError(f"layer {layer.name!r} has several inputs")
            output = replacements[layer.name](layer, args[0])
        else:
            copy = _copy(layer)
            output = copy(*args, **kwargs)
            pending_weights.append((copy, layer.get_weights()))
        for old, new in zip(tf.nest.flatten(node.outputs), tf.nest.flatten(output), strict=True):
            tensors[id(old)] = new
    for copy, weights in pending_weights:
        copy.set_weights(weights)
    inputs = [tensors[id(t)] for t in model.inputs]
    outputs = [tensors[id(t)] for t in model.outputs]
    return tf.keras.Model(
        inputs if len(inputs) > 1 else inputs[0],
        outputs if len(outputs) > 1 else outputs[0],
        name=model.name,
    )
