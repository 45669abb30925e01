"""Which layers data-driven binarization replaces (not a paper: shared plumbing).

BWNH replaces a float conv by a binary one; SBD replaces it by three layers. Both go layer
by layer, and after each step rebuild the model with :func:`bnnkit.graph.rebuild`.
"""

from __future__ import annotations

from bnnkit.binarize.calibration import supported_layer
from bnnkit.errors import UnsupportedModelError


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


def like(old, **overrides):
    """A Larq ``QuantConv2D``/``QuantDense`` with ``old``'s geometry, bias, activation and
    name, binary-kernel defaults (``weight_clip``), and ``overrides`` (e.g. the kernel
    quantizer, ``activation=None``)."""
    import larq as lq
    import tensorflow as tf

    config = old.get_config()
    common = dict(
        activation=config["activation"],
        use_bias=config["use_bias"],
        kernel_constraint="weight_clip",
        name=old.name,
    )
    common.update(overrides)
    if isinstance(old, tf.keras.layers.Dense):
        return lq.layers.QuantDense(config["units"], **common)
    return lq.layers.QuantConv2D(
        config["filters"],
        config["kernel_size"],
        strides=config["strides"],
        padding=config["padding"],
        dilation_rate=config["dilation_rate"],
        **common,
    )


def activation_after(old, output):
    """Apply ``old``'s activation to ``output`` as its own layer (none when linear)."""
    import tensorflow as tf

    activation = old.get_config()["activation"]
    if activation in (None, "linear"):
        return output
    return tf.keras.layers.Activation(activation, name=f"{old.name}_activation")(output)
