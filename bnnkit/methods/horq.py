r"""HORQ: order-k residual binarization of the inputs, XNOR-Net's block order.

Block: BN -> HORQ conv (k binary convs on the residual signs, betas and alpha after the
conv) -> [max-pool]. Options:

* ``order`` (default 2, the paper's main configuration);
* ``beta``: ``"map"`` (default: one scale per output position, \(\beta_i = A_i * k\),
  the paper's per-receptive-field granularity) or ``"sample"`` (one scalar per sample,
  a cheaper deployment trade-off); see :class:`bnnkit.layers.HorqConv2D`.

The paper gives no training recipe we could check, so ``--recipe paper`` is the budget one.

# References
- Li, Ni, Zhang, Yang, Gao. Performance Guaranteed Network Acceleration via High-Order
  Residual Quantization. ICCV 2017. https://arxiv.org/abs/1708.08687
"""

from __future__ import annotations

import tensorflow as tf

from bnnkit.layers import HorqConv2D, binary_pad_values
from bnnkit.layers.horq import BETA_SCALES
from bnnkit.methods.base import Method, register_method
from bnnkit.quantizers.bwn import BWNWeightQuantizer
from bnnkit.recipes import BUDGET, no_paper_recipe

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
    recipes = (
        BUDGET,
        no_paper_recipe(BUDGET, "the HORQ paper states no recipe we could check"),
    )

    @classmethod
    def option_defaults(cls):
        return {"order": 2, "beta": "map"}

    def __init__(self, **options):
        super().__init__(**options)
        from bnnkit.errors import InvalidConfigError

        order = self.options["order"]
        if not isinstance(order, int) or isinstance(order, bool) or order < 1:
            raise InvalidConfigError(f"horq: order must be an integer >= 1, got {order!r}")
        if self.options["beta"] not in BETA_SCALES:
            raise InvalidConfigError(
                f"horq: beta must be one of {', '.join(BETA_SCALES)}, got {self.options['beta']!r}"
            )

    def conv_block(self, x, filters, kernel_size, *, strides=1, padding="same", pool=False, name):
        x = tf.keras.layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
        x = HorqConv2D(
            filters,
            kernel_size,
            strides=strides,
            padding=padding,
            pad_values=binary_pad_values(padding),
            order=self.options["order"],
            beta=self.options["beta"],
            kernel_quantizer=BWNWeightQuantizer(),
            kernel_constraint="weight_clip",
            use_bias=False,
            name=f"{name}_conv",
        )(x)
        if pool:
            x = tf.keras.layers.MaxPool2D(2, name=f"{name}_pool")(x)
        return x
