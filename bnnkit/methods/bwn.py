"""BWN: binary weights (alpha * sign(W) per output filter), real-valued activations.

Block: BWN conv -> [max-pool] -> BN -> ReLU, the float baseline's block with the conv's
weights binarized; activations stay real, so a deployed BWN conv is a float conv whose
weights happen to be +-alpha (LCE makes no ``LceBconv2d`` from it).

# References
- Rastegari, Ordonez, Redmon, Farhadi. XNOR-Net: ImageNet Classification Using Binary
  Convolutional Neural Networks. ECCV 2016. https://arxiv.org/abs/1603.05279
"""

from __future__ import annotations

import larq as lq

from bnnkit.methods.base import Method, register_method
from bnnkit.methods.plain import pool_bn_relu
from bnnkit.quantizers.bwn import BWNWeightQuantizer

__all__ = ["BWN"]


@register_method
class BWN(Method):
    name = "bwn"
    title = "Binary-Weight-Networks"
    reference = (
        "Rastegari, Ordonez, Redmon, Farhadi. XNOR-Net: ImageNet Classification "
        "Using Binary Convolutional Neural Networks. ECCV 2016"
    )
    binary_activations = False
    binary_weights = True

    def conv_block(self, x, filters, kernel_size, *, strides=1, padding="same", pool=False, name):
        x = lq.layers.QuantConv2D(
            filters,
            kernel_size,
            strides=strides,
            padding=padding,
            kernel_quantizer=BWNWeightQuantizer(),
            kernel_constraint="weight_clip",
            use_bias=False,
            name=f"{name}_conv",
        )(x)
        return pool_bn_relu(x, pool=pool, name=name)
