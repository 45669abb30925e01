"""BWN: binary weights (alpha * sign(W) per output filter), real-valued activations.

Block: BWN conv -> [max-pool] -> BN -> ReLU, the float baseline's block with the conv's
weights binarized; activations stay real, so a deployed BWN conv is a float conv whose
weights happen to be +-alpha (LCE makes no ``LceBconv2d`` from it).

Option ``gradient``: the backward pass of the weight quantizer, ``"paper"`` (the formula
as printed, a known erratum) or ``"exact"`` (the derivative through alpha); see
:func:`bnnkit.quantizers.bwn_weight`. The default stays the paper's: measured side by side
(comparison ``bwn-gradient`` of ``results/ABLATIONS.md``, 3 seeds on MNIST and
Fashion-MNIST), the exact gradient does not train better beyond one standard deviation.

# References
- Rastegari, Ordonez, Redmon, Farhadi. XNOR-Net: ImageNet Classification Using Binary
  Convolutional Neural Networks. ECCV 2016. https://arxiv.org/abs/1603.05279
"""

from __future__ import annotations

import larq as lq

from bnnkit.methods.base import Method, register_method
from bnnkit.methods.plain import pool_bn_relu
from bnnkit.quantizers.bwn import GRADIENTS, BWNWeightQuantizer
from bnnkit.recipes import BUDGET, BWN_PAPER

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
    recipes = (BUDGET, BWN_PAPER)

    @classmethod
    def option_defaults(cls):
        return {"gradient": "paper"}

    def __init__(self, **options):
        super().__init__(**options)
        if self.options["gradient"] not in GRADIENTS:
            from bnnkit.errors import InvalidConfigError

            raise InvalidConfigError(
                f"bwn: gradient must be one of {', '.join(GRADIENTS)}, "
                f"got {self.options['gradient']!r}"
            )

    def conv_block(self, x, filters, kernel_size, *, strides=1, padding="same", pool=False, name):
        x = lq.layers.QuantConv2D(
            filters,
            kernel_size,
            strides=strides,
            padding=padding,
            kernel_quantizer=BWNWeightQuantizer(gradient=self.options["gradient"]),
            kernel_constraint="weight_clip",
            use_bias=False,
            name=f"{name}_conv",
        )(x)
        return pool_bn_relu(x, pool=pool, name=name)
