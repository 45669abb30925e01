"""BWNH as a training method: train float, binarize by hashing, fine-tune.

    bnnkit train --method bwnh --dataset mnist
    bnnkit train --method bwnh --option float_model=runs/float/model.keras

The binarization itself (objective, update rules) is in :mod:`bnnkit.binarize.bwnh`.
Hidden conv blocks are the float baseline's (the method starts from a float network); the
first and last layers stay real-valued, the hidden convs become binary-weight
``QuantConv2D`` layers with real inputs.

# References
- Hu, Wang, Cheng. From Hashing to CNNs: Training Binary Weight Networks via Hashing.
  AAAI 2018. https://arxiv.org/abs/1802.02733
"""

from __future__ import annotations

from bnnkit.methods._data_driven import COMMON_OPTIONS, data_driven_stages, float_block
from bnnkit.methods.base import Method, register_method


@register_method
class BWNH(Method):
    name = "bwnh"
    title = "BWNH (binary weights via hashing)"
    reference = ("Hu, Wang, Cheng. From Hashing to CNNs: Training Binary Weight Networks via "
                 "Hashing. AAAI 2018")
    binary_weights = True
    binary_activations = False

    @classmethod
    def option_defaults(cls) -> dict:
        return dict(COMMON_OPTIONS)

    def conv_block(self, x, filters, kernel_size, *, strides=1, padding="same", pool=False,
                   name):
        return float_block(x, filters, kernel_size, strides=strides, padding=padding,
                           pool=pool, name=name)

    def binarize(self, model, images):
        from bnnkit.binarize import binarize_bwnh

        return binarize_bwnh(model, images, iterations=self.options["iterations"],
                             patches_per_image=self.options["patches_per_image"],
                             seed=self.options["seed"])

    def training_stages(self, build_model, epochs):
        return data_driven_stages(self, build_model, epochs, self.binarize)
