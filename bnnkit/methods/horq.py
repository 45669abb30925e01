"""HORQ: order-k residual binarization of the inputs, XNOR-Net's block order.

Block: BN -> HORQ conv (k binary convs on the residual signs, betas and alpha after the
conv) -> [max-pool]. Option ``order`` (default 2, the paper's main configuration).

# References
- Li, Ni, Zhang, Yang, Gao. Performance Guaranteed Network Acceleration via High-Order
  Residual Quantization. ICCV 2017. https://arxiv.org/abs/1708.08687
"""

from __future__ import annotations

import tensorflow as tf

from bnnkit.layers.horq import HorqConv2D
from bnnkit.methods.base import Method, register_method
from bnnkit.quantizers.bwn import BWNWeightQuantizer

__all__ = ["HORQ"]


@register_method
class HORQ(Method):
    name = "horq"
    title = "HORQ"
    reference = (
        "Li, Ni, Zhang, Yang, Gao. Performance Guaranteed Network Acceleration "
        "via High-Order Residual Quantization. ICCV 2017"
    )
    binary_activations = True
    binary_weights = True

    @classmethod
    def option_defaults(cls):
        return {"order": 2}

    def __init__(self, **options):
        super().__init__(**options)
        order = self.options["order"]
        if not isinstance(order, int) or isinstance(order, bool) or order < 1:
            from bnnkit.errors import InvalidConfigError

            raise InvalidConfigError(f"horq: order must be an integer >= 1, got {order!r}")

    def conv_block(self, x, filters, kernel_size, *, strides=1, padding="same", pool=False, name):
        x = tf.keras.layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
        x = HorqConv2D(
            filters,
            kernel_size,
            strides=strides,
            padding=padding,
            pad_values=1.0 if padding == "same" else 0.0,
            order=self.options["order"],
            kernel_quantizer=BWNWeightQuantizer(),
            kernel_constraint="weight_clip",
            use_bias=False,
            name=f"{name}_conv",
        )(x)
        if pool:
            x = tf.keras.layers.MaxPool2D(2, name=f"{name}_pool")(x)
        return x
