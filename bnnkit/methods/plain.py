"""The two baselines every method is compared with, on the same architectures.

* ``float``: full precision; conv -> pool -> BN -> ReLU.
* ``bnn``: the plain binarized network of Courbariaux, Hubara et al. as Larq implements it:
  binary inputs and weights with the straight-through sign,
  ``x_b = sign(x)``, ``d x_b / d x = 1_{|x| <= 1}``, latent weights clipped to [-1, 1];
  block order binary conv -> pool -> BN.

# References
- Courbariaux, Hubara, Soudry, El-Yaniv, Bengio. Binarized Neural Networks: Training Deep
  Neural Networks with Weights and Activations Constrained to +1 or -1. arXiv:1602.02830, 2016.
"""

from __future__ import annotations

import larq as lq
import tensorflow as tf

from bnnkit.layers import binary_pad_values
from bnnkit.methods.base import Method, register_method
from bnnkit.recipes import BUDGET, FLOAT_BUDGET, no_paper_recipe

__all__ = ["FloatBaseline", "PlainBNN", "pool_bn_relu"]


def pool_bn_relu(x, *, pool: bool, name: str):
    """The real-valued tail of a block: [max-pool 2] -> BN -> ReLU."""
    if pool:
        x = tf.keras.layers.MaxPool2D(2, name=f"{name}_pool")(x)
    x = tf.keras.layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
    return tf.keras.layers.Activation("relu", name=f"{name}_relu")(x)


@register_method
class FloatBaseline(Method):
    name = "float"
    title = "Full precision"
    reference = "real-valued baseline"
    recipes = (
        FLOAT_BUDGET,
        no_paper_recipe(FLOAT_BUDGET, "a baseline, not a paper's method"),
    )

    def conv_block(self, x, filters, kernel_size, *, strides=1, padding="same", pool=False, name):
        x = tf.keras.layers.Conv2D(
            filters,
            kernel_size,
            strides=strides,
            padding=padding,
            use_bias=False,
            name=f"{name}_conv",
        )(x)
        return pool_bn_relu(x, pool=pool, name=name)


@register_method
class PlainBNN(Method):
    name = "bnn"
    title = "BNN (ste_sign)"
    reference = (
        "Courbariaux, Hubara, Soudry, El-Yaniv, Bengio. Binarized Neural Networks. "
        "arXiv:1602.02830, 2016"
    )
    binary_activations = True
    binary_weights = True
    recipes = (
        BUDGET,
        no_paper_recipe(
            BUDGET,
            "Courbariaux et al. train MNIST for hundreds "
            "of epochs with Adam and a decaying rate; "
            "not reproduced",
        ),
    )

    def conv_block(self, x, filters, kernel_size, *, strides=1, padding="same", pool=False, name):
        x = lq.layers.QuantConv2D(
            filters,
            kernel_size,
            strides=strides,
            padding=padding,
            pad_values=binary_pad_values(padding),
            input_quantizer="ste_sign",
            kernel_quantizer="ste_sign",
            kernel_constraint="weight_clip",
            use_bias=False,
            name=f"{name}_conv",
        )(x)
        if pool:
            x = tf.keras.layers.MaxPool2D(2, name=f"{name}_pool")(x)
        return tf.keras.layers.BatchNormalization(momentum=0.9, scale=False, name=f"{name}_bn")(x)
