"""Rebuild a functional Keras model with some layers replaced (not a paper: shared plumbing).

BWNH replaces a float conv by a binary one; SBD replaces it by three layers. Both go layer
by layer, so after each step the model is rebuilt with fresh copies of every other layer
(weights copied), which keeps every layer in exactly one model with one inbound node, so
``layer.input`` stays well defined for the next layer's calibration.
"""

from __future__ import annotations

from collections.abc import Callable

from bnnkit.binarize.calibration import supported_layer
from bnnkit.errors import UnsupportedModelError

Replacement = Callable[[object, object], object]
"""``replacement(old_layer, new_input_tensor) -> new_output_tensor`` (sets its own weights)."""


def weighted_layers(model) -> list:
    """The model's Conv2D and Dense layers (any kind, supported or not), in graph order."""
    import tensorflow as tf

    return [
        layer
        for layer in model.layers
        if isinstance(
            layer,
            (
                tf.keras.layers.Conv2D,
                tf.keras.layers.Dense,
                tf.keras.layers.Conv1D,
                tf.keras.layers.Conv3D,
            ),
        )
    ]


def target_layers(model, layers=None) -> list[str]:
    """Names of the layers to binarize: ``layers`` when given, else the hidden ones.

    "Hidden" means every Conv2D/Dense layer but the first and the last, the policy every
    bnnkit method follows (first and last layers stay real-valued).

    # Raises
        UnsupportedModelError: the model is not functional, has no conv/dense layer, has no
            hidden one (and ``layers`` was not given), or a named layer is missing or is
            not a supported Conv2D/Dense layer.
    """
    import tensorflow as tf

    if not isinstance(model, tf.keras.Model) or not getattr(model, "_is_graph_network", False):
        raise UnsupportedModelError(
            "data-driven binarization needs a functional Keras model (tf.keras.Model built "
            f"from Input tensors); got {type(model).__name__}"
        )
    weighted = weighted_layers(model)
    if not weighted:
        raise UnsupportedModelError(
            f"model {model.name!r} has no Conv2D or Dense layer: there are no weights to binarize"
        )
    if layers is None:
        names = [layer.name for layer in weighted[1:-1]]
        if not names:
            raise UnsupportedModelError(
                f"model {model.name!r} has {len(weighted)} conv/dense layer(s), all first or "
                "last, which stay real-valued; name the layers to binarize explicitly"
            )
    else:
        names = [layers] if isinstance(layers, str) else list(layers)
    known = {layer.name: layer for layer in model.layers}
    for name in names:
        if name not in known:
            raise UnsupportedModelError(f"model {model.name!r} has no layer named {name!r}")
        if not supported_layer(known[name]):
            raise UnsupportedModelError(
                f"layer {name!r} ({type(known[name]).__name__}) cannot be binarized from data: "
                "only Conv2D (channels_last, groups=1) and Dense layers are supported"
            )
    return names


def _copy(layer):
    import tensorflow as tf

    if isinstance(layer, tf.keras.Model):
        raise UnsupportedModelError(
            f"nested model {layer.name!r} is not supported by data-driven binarization"
        )
    return layer.__class__.from_config(layer.get_config())


def rebuild(model, replacements: dict[str, Replacement]):
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
                f"layer {layer.name!r} is used {len(nodes)} times; shared layers are not "
                "supported by data-driven binarization"
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
