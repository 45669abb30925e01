"""Rewrites applied before conversion so that more of a model runs on binary kernels.

Each rewrite returns a new model (the caller's model is never modified) and logs what it did
per layer in ``log`` (a list of ``{"layer", "rewrite", "detail"}``), which ends up in
``conversion.json``.

* ``dense_to_conv``: LCE makes binary kernels only from convolutions; a binary ``QuantDense``
  stays a float matmul over float weights (measured: an AlexNet-style Larq model with binary
  ``QuantDense`` 4096-wide layers comes out of LCE at ~170 MB, ~23 MB with those layers
  binary). The rewrite replaces each ``QuantDense`` by :class:`DenseAsConv2D`, a 1x1
  ``QuantConv2D`` on a ``1 x 1 x C`` map with the same quantizers and the kernel reshaped
  ``(C, U) -> (1, 1, C, U)``: the same function, now a binary conv.
* ``unique_names``: tfmot prefixes the layers it wraps with ``quant_``; a model whose own
  layers are named ``quant_*`` (Larq's default names ``quant_conv2d``...) collides with it,
  so such layers are renamed ``bin_*``.
* ``scales_after_conv``: XNOR-Net's K map and HORQ's betas depend on the input, so they must
  multiply the *output* of the binary conv for LCE to find a plain binary conv. bnnkit's
  ``XnorConv2D``/``HorqConv2D`` already compute them that way; the check logs it and flags a
  scale applied to the conv's input (an input quantizer whose precision is not 1).
* ``split_large_binary_convs``: LCE's converter leaves a binary conv with a per-output-channel
  scale as a float conv behind ``LceDequantize`` once its kernel is large (measured: a
  6x6x256 -> 4096 conv, 37.7M weights, the fc6 of XNOR/BWN AlexNet, stays float at 302 MB;
  the same with 2048 outputs, 18.9M weights, fuses). Such a layer is split along its output
  channels into parts of at most ``MAX_FUSED_KERNEL_WEIGHTS`` weights whose outputs are
  concatenated: the same function, every part a binary kernel.
* ``check_fast_path``: LCE packs binary channels into 32-bit words. Input channels per group
  that are not a multiple of 32 waste the padding bits (and grouped binary convs must have a
  multiple of 32 per group), and ``padding="same"`` without ``pad_values=1`` needs LCE's
  slower zero-padding correction. Each miss is a warning naming the layer.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from converters.macs import is_linear_layer, iter_layers, layer_bits

__all__ = [
    "BITPACK_WIDTH",
    "MAX_FUSED_KERNEL_WEIGHTS",
    "check_fast_path",
    "rewrite_model",
    "split_large_binary_convs",
]


BITPACK_WIDTH = 32
MAX_FUSED_KERNEL_WEIGHTS = 1 << 24  # below the largest size measured to fuse (18.9M)


def _split_parts(layer) -> int:
    """How many output-channel parts ``layer`` needs (1: no split)."""
    kernel = getattr(layer, "kernel", None)
    if kernel is None or layer_bits(layer)[:2] != (1, 1) or getattr(layer, "groups", 1) != 1:
        return 1
    size, filters, parts = int(np.prod(kernel.shape)), int(kernel.shape[-1]), 1
    while size / parts > MAX_FUSED_KERNEL_WEIGHTS and filters % (parts * 2) == 0:
        parts *= 2
    return parts


def split_large_binary_convs(model: Any, log: list) -> Any:
    """Split binary convs too large for LCE to fuse (see the module docstring)."""
    import tensorflow as tf

    from bnnkit.graph import rebuild

    plans = {layer.name: _split_parts(layer) for layer in model.layers}
    plans = {name: parts for name, parts in plans.items() if parts > 1}
    if not plans:
        return model

    def split(old, inputs):
        config, weights = old.get_config(), old.get_weights()
        channels = np.array_split(np.arange(old.filters), plans[old.name])
        outputs = []
        for index, part in enumerate(channels):
            layer = old.__class__.from_config(
                {**config, "name": f"{old.name}_part{index}", "filters": len(part)}
            )
            outputs.append(layer(inputs))
            layer.set_weights([weights[0][..., part]] + [w[part] for w in weights[1:]])
        log.append(
            {
                "layer": old.name,
                "rewrite": "split_large_binary_convs",
                "detail": f"{int(np.prod(old.kernel.shape)):,} weights -> "
                f"{len(channels)} parts of {len(channels[0])} output channels",
            }
        )
        return tf.keras.layers.Concatenate(name=f"{old.name}_concat")(outputs)

    return rebuild(model, dict.fromkeys(plans, split))


def _dense_as_conv_class():
    import larq as lq
    import tensorflow as tf

    class DenseAsConv2D(lq.layers.QuantConv2D):
        """A ``QuantDense`` computed as a 1x1 ``QuantConv2D`` (same weights, same output)."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.input_spec = tf.keras.layers.InputSpec(min_ndim=2)

        def build(self, input_shape):
            shape = tf.TensorShape(input_shape)
            if shape.rank == 2:
                shape = tf.TensorShape([shape[0], 1, 1, shape[1]])
            super().build(shape)
            self.input_spec = tf.keras.layers.InputSpec(min_ndim=2)

        def compute_output_shape(self, input_shape):
            shape = tf.TensorShape(input_shape)
            return shape[:-1].concatenate([self.filters])

        def call(self, inputs):
            if inputs.shape.rank == 2:
                outputs = super().call(inputs[:, None, None, :])
                return tf.reshape(outputs, [-1, self.filters])
            return super().call(inputs)

    return DenseAsConv2D


def _dense_as_conv(layer):
    config = layer.get_config()
    conv_config = {
        key: config[key]
        for key in (
            "name",
            "trainable",
            "dtype",
            "activation",
            "use_bias",
            "kernel_initializer",
            "bias_initializer",
            "kernel_regularizer",
            "bias_regularizer",
            "activity_regularizer",
            "kernel_constraint",
            "bias_constraint",
            "input_quantizer",
            "kernel_quantizer",
            "metrics",
        )
        if key in config
    }
    conv_config.update(filters=config["units"], kernel_size=1, padding="valid")
    return _dense_as_conv_class().from_config(conv_config)


def rewrite_model(model: Any, *, dense_to_conv: bool = True) -> tuple[Any, list, list]:
    """Apply the rewrites; return ``(new_model, log, warnings)``.

    The new model computes the same function as ``model`` (checked by the conversion's
    agreement test); layers that need no rewrite are cloned unchanged.
    """
    import larq as lq
    import tensorflow as tf

    log: list = []
    replaced: dict = {}

    def clone(layer):
        new_name = layer.name
        if layer.name.startswith("quant_"):
            new_name = "bin_" + layer.name[len("quant_") :]
            log.append(
                {
                    "layer": layer.name,
                    "rewrite": "unique_names",
                    "detail": f"renamed to {new_name} (tfmot's quant_ prefix)",
                }
            )
        if (
            dense_to_conv
            and isinstance(layer, lq.layers.QuantDense)
            and layer_bits(layer)[:2] == (1, 1)
        ):
            new = _dense_as_conv(layer)
            log.append(
                {
                    "layer": layer.name,
                    "rewrite": "dense_to_conv",
                    "detail": f"QuantDense({layer.units}) -> 1x1 QuantConv2D",
                }
            )
        else:
            new = layer.__class__.from_config(layer.get_config())
        if new_name != layer.name:
            new._name = new_name
        replaced[layer.name] = new
        return new

    if not _needs_rewrite(model, dense_to_conv):
        model = split_large_binary_convs(model, log)
        return model, log, check_fast_path(model, log)
    new_model = tf.keras.models.clone_model(model, clone_function=clone)
    for layer in model.layers:
        new = replaced.get(layer.name)
        if new is None or not layer.weights:
            continue
        weights = layer.get_weights()
        if isinstance(layer, lq.layers.QuantDense) and not isinstance(new, lq.layers.QuantDense):
            weights = [weights[0].reshape((1, 1) + weights[0].shape)] + weights[1:]
        new.set_weights(weights)
    new_model = split_large_binary_convs(new_model, log)
    return new_model, log, check_fast_path(new_model, log)


def _needs_rewrite(model, dense_to_conv) -> bool:
    import larq as lq

    for layer in model.layers:
        if layer.name.startswith("quant_"):
            return True
        if (
            dense_to_conv
            and isinstance(layer, lq.layers.QuantDense)
            and layer_bits(layer)[:2] == (1, 1)
        ):
            return True
    return False


def check_fast_path(model: Any, log: list) -> list:
    """Check binary layers against LCE's fast-path rules; return the warning messages."""
    messages = []
    for layer in iter_layers(model):
        if not is_linear_layer(layer):
            continue
        input_bits, kernel_bits, _ = layer_bits(layer)
        kind = type(layer).__name__
        if kind in ("XnorConv2D", "HorqConv2D"):
            log.append(
                {
                    "layer": layer.name,
                    "rewrite": "scales_after_conv",
                    "detail": f"{kind} applies its input-dependent scale after the binary conv",
                }
            )
        if (input_bits, kernel_bits) != (1, 1):
            continue
        kernel = getattr(layer, "kernel", None)
        if kernel is None:
            continue
        groups = int(getattr(layer, "groups", 1) or 1)
        channels = int(kernel.shape[-2])  # per group
        problems = []
        if channels % BITPACK_WIDTH:
            waste = 1 - channels / (BITPACK_WIDTH * int(np.ceil(channels / BITPACK_WIDTH)))
            problems.append(
                f"{channels} input channels{' per group' if groups > 1 else ''} "
                f"is not a multiple of {BITPACK_WIDTH} ({waste:.0%} of the packed "
                "bits are padding)"
            )
        if (
            getattr(layer, "padding", "valid") == "same"
            and float(getattr(layer, "pad_values", 0.0)) != 1.0
            and max(kernel.shape[:2]) > 1
        ):
            problems.append(
                'padding="same" with pad_values=0 needs LCE\'s slower '
                "zero-padding correction; use pad_values=1.0"
            )
        for problem in problems:
            message = f"layer {layer.name!r} misses LCE's fast path: {problem}"
            messages.append(message)
            log.append({"layer": layer.name, "rewrite": "check_fast_path", "detail": problem})
            warnings.warn(message, stacklevel=2)
    return messages
