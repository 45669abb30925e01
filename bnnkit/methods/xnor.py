"""XNOR-Net: binary inputs and weights, block BN -> BinActiv -> BinConv -> Pool.

The paper's block (Fig. 3): batch normalization first, so that the sign sees zero-mean
inputs, then the binary activation and the binary convolution (with the K map and
alpha applied after it), then pooling. Options (paper's defaults):

* ``input_scale`` (True): the K map; False gives "XNOR without K".
* ``bits`` (1): k-bit inputs Q_k instead of sign (then the conv is no longer binary);
* ``binary_gradient`` (False): binarized backward gradients, scaled by max|g|.

# References
- Rastegari, Ordonez, Redmon, Farhadi. XNOR-Net: ImageNet Classification Using Binary
  Convolutional Neural Networks. ECCV 2016. https://arxiv.org/abs/1603.05279
"""

from __future__ import annotations

import tensorflow as tf

from bnnkit.layers import XnorConv2D, binary_pad_values
from bnnkit.methods.base import Method, register_method
from bnnkit.quantizers.bwn import BWNWeightQuantizer
from bnnkit.quantizers.xnor import XnorInputQuantizer
from bnnkit.recipes import BUDGET, XNOR_PAPER

__all__ = ["XNORNet"]


@register_method
class XNORNet(Method):
    name = "xnor"
    title = "XNOR-Net"
    reference = (
        "Rastegari, Ordonez, Redmon, Farhadi. XNOR-Net: ImageNet Classification "
        "Using Binary Convolutional Neural Networks. ECCV 2016"
    )
    binary_activations = True
    binary_weights = True
    recipes = (BUDGET, XNOR_PAPER)

    @classmethod
    def option_defaults(cls):
        return {"input_scale": True, "bits": 1, "binary_gradient": False}

    def __init__(self, **options):
        super().__init__(**options)
        bits = self.options["bits"]
        if not isinstance(bits, int) or isinstance(bits, bool) or bits < 1:
            from bnnkit.errors import InvalidConfigError

            raise InvalidConfigError(f"xnor: bits must be an integer >= 1, got {bits!r}")
        # k-bit inputs (k > 1) are not binary: LCE keeps those convs in float.
        self.binary_activations = bits == 1

    def conv_block(self, x, filters, kernel_size, *, strides=1, padding="same", pool=False, name):
        x = tf.keras.layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
        x = XnorConv2D(
            filters,
            kernel_size,
            strides=strides,
            padding=padding,
            pad_values=binary_pad_values(padding),
            input_quantizer=XnorInputQuantizer(bits=self.options["bits"]),
            kernel_quantizer=BWNWeightQuantizer(),
            kernel_constraint="weight_clip",
            input_scale=self.options["input_scale"],
            binary_gradient=self.options["binary_gradient"],
            use_bias=False,
            name=f"{name}_conv",
        )(x)
        if pool:
            x = tf.keras.layers.MaxPool2D(2, name=f"{name}_pool")(x)
        return x
