r"""Bi-Real Net: a real-valued shortcut around every binary convolution.

Block (paper, Fig. 1 and Sec. 3.1):

    x ─┬─ ApproxSign -> binary conv (magnitude-aware sign weights) -> [max-pool] -> BN ─(+)─>
       └───────────────────── shortcut ───────────────────────────────────────────────┘

The shortcut is the identity when the block keeps the shape. When it changes the shape
it is the paper's downsampling shortcut: average pooling over the same window as the
conv's stride (and the block's pool) -> real 1x1 conv -> BN. (In Bi-Real-18/34 that only
happens at stage transitions; in LeNet both hidden blocks change the shape, so both get
the downsampling shortcut; the hidden "fc" block's avg-pool covers the whole map.)

Training (Sec. 3.4), :meth:`BiReal.training_stages`:

1. a real-valued network of the same architecture, with the activation
   \(\operatorname{clip}(-1, x, 1)\) in place of the sign and real weights
   (option ``real_valued=True``);
2. the binary network, initialized from it layer by layer ("clip init"), then trained.

Deployment: the ApproxSign feeds the conv directly and the weights are +-1 times one
scale per output channel, so LCE makes each binary conv an ``LceBconv2d``.

# References
- Liu, Wu, Luo, Yang, Liu, Cheng. Bi-Real Net: Enhancing the Performance of 1-bit CNNs
  with Improved Representational Capability and Advanced Training Algorithm. ECCV 2018.
  https://arxiv.org/abs/1808.00278
"""

from __future__ import annotations

import larq as lq
import tensorflow as tf

from bnnkit.methods.base import Method, Stage, register_method
from bnnkit.quantizers.bireal import BiRealApproxSign, BiRealWeightQuantizer
from bnnkit.shapes import pair

__all__ = ["BiReal", "copy_weights_by_name"]


@register_method
class BiReal(Method):
    name = "bireal"
    title = "Bi-Real Net"
    reference = (
        "Liu, Wu, Luo, Yang, Liu, Cheng. Bi-Real Net: Enhancing the Performance "
        "of 1-bit CNNs with Improved Representational Capability and Advanced "
        "Training Algorithm. ECCV 2018"
    )
    binary_activations = True
    binary_weights = True
    #: the block adds its own shortcut (architectures must not add another per conv)
    conv_shortcut = True

    @classmethod
    def option_defaults(cls):
        return {"real_valued": False, "init_fraction": 1 / 3}

    def __init__(self, **options):
        super().__init__(**options)
        if self.options["real_valued"]:
            self.binary_activations = False
            self.binary_weights = False

    def conv_block(self, x, filters, kernel_size, *, strides=1, padding="same", pool=False, name):
        shortcut = x
        real = self.options["real_valued"]
        if real:
            x = tf.keras.layers.Activation(lq.activations.hard_tanh, name=f"{name}_clip")(x)
        x = lq.layers.QuantConv2D(
            filters,
            kernel_size,
            strides=strides,
            padding=padding,
            pad_values=1.0 if padding == "same" else 0.0,
            input_quantizer=None if real else BiRealApproxSign(),
            kernel_quantizer=None if real else BiRealWeightQuantizer(),
            kernel_constraint="weight_clip",
            use_bias=False,
            name=f"{name}_conv",
        )(x)
        if pool:
            x = tf.keras.layers.MaxPool2D(2, name=f"{name}_pool")(x)
        x = tf.keras.layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
        shortcut = self.shortcut(
            shortcut, x, kernel_size, strides=strides, padding=padding, pool=pool, name=name
        )
        return tf.keras.layers.Add(name=f"{name}_add")([x, shortcut])

    @staticmethod
    def shortcut(x, block_output, kernel_size, *, strides=1, padding="same", pool=False, name):
        """Identity, or avg-pool -> real 1x1 conv -> BN when the block changes the shape."""
        s = pair(strides)
        downsampled = pool or s != (1, 1) or (padding == "valid" and pair(kernel_size) != (1, 1))
        if padding == "valid" and pair(kernel_size) != (1, 1):
            x = tf.keras.layers.AveragePooling2D(
                pair(kernel_size), strides=s, padding="valid", name=f"{name}_shortcut_pool"
            )(x)
        elif s != (1, 1):
            x = tf.keras.layers.AveragePooling2D(
                s, strides=s, padding="same", name=f"{name}_shortcut_pool"
            )(x)
        if pool:
            x = tf.keras.layers.AveragePooling2D(2, name=f"{name}_shortcut_pool2")(x)
        if x.shape[1:3] != block_output.shape[1:3]:
            from bnnkit.errors import UnsupportedModelError

            raise UnsupportedModelError(
                f"Bi-Real block {name!r}: cannot match the shortcut {tuple(x.shape[1:])} "
                f"to the block output {tuple(block_output.shape[1:])}"
            )
        if downsampled or x.shape[-1] != block_output.shape[-1]:
            x = tf.keras.layers.Conv2D(
                int(block_output.shape[-1]), 1, use_bias=False, name=f"{name}_shortcut_conv"
            )(x)
            x = tf.keras.layers.BatchNormalization(momentum=0.9, name=f"{name}_shortcut_bn")(x)
        return x

    def training_stages(self, build_model, epochs):
        """Two steps: the real-valued clip network, then the BNN initialized from it.

        The first step gets ``round(init_fraction * epochs)`` epochs (at least 1), the binary
        step the rest; with fewer than 2 epochs there is only the binary step.
        """
        if epochs < 2:
            return [Stage("binary", epochs, lambda previous, dataset: build_model(self))]
        init_epochs = min(epochs - 1, max(1, round(self.options["init_fraction"] * epochs)))
        real = type(self)(**{**self.options, "real_valued": True})

        def build_real(previous, dataset):
            return build_model(real)

        def build_binary(previous, dataset):
            model = build_model(self)
            if previous is not None:
                copy_weights_by_name(previous, model)
            return model

        return [
            Stage("real_clip", init_epochs, build_real),
            Stage("binary", epochs - init_epochs, build_binary),
        ]


def copy_weights_by_name(source, target) -> int:
    """Copy the weights of every layer of ``target`` that ``source`` has under the same
    name and with the same shapes (the clip init); returns the number of layers copied."""
    copied = 0
    by_name = {layer.name: layer for layer in source.layers}
    for layer in target.layers:
        src = by_name.get(layer.name)
        if src is None or not layer.weights:
            continue
        weights = src.get_weights()
        if [w.shape for w in weights] == [w.shape for w in layer.get_weights()]:
            layer.set_weights(weights)
            copied += 1
    return copied
