"""BWNH as a training method: train float, binarize by hashing, fine-tune.

    bnnkit train --method bwnh --dataset mnist
    bnnkit train --method bwnh --option float_model=runs/float/model.keras

Options (besides :data:`bnnkit.methods._data_driven.COMMON_OPTIONS`): ``finetune_scale``
``"trainable"`` (default: the hashed per-channel scale is a trainable layer) or ``"bwn"``
(fine-tune as a BWN, which recomputes the scale from the latent weights).

The binarization itself (objective, update rules) is in :mod:`bnnkit.binarize.bwnh`.
Hidden conv blocks are the float baseline's (the method starts from a float network); the
first and last layers stay real-valued, the hidden convs become binary-weight
``QuantConv2D`` layers with real inputs.

# References
- Hu, Wang, Cheng. From Hashing to CNNs: Training Binary Weight Networks via Hashing.
  AAAI 2018. https://arxiv.org/abs/1802.02733
"""

from __future__ import annotations

from bnnkit.methods._data_driven import COMMON_OPTIONS, DataDrivenMethod
from bnnkit.methods.base import register_method

__all__ = ["BWNH"]


@register_method
class BWNH(DataDrivenMethod):
    name = "bwnh"
    title = "BWNH (binary weights via hashing)"
    reference = (
        "Hu, Wang, Cheng. From Hashing to CNNs: Training Binary Weight Networks via "
        "Hashing. AAAI 2018"
    )

    @classmethod
    def option_defaults(cls) -> dict:
        return {**COMMON_OPTIONS, "finetune_scale": "trainable"}

    def binarize(self, model, images):
        from bnnkit.binarize import binarize_bwnh

        return binarize_bwnh(
            model,
            images,
            finetune_scale=self.options["finetune_scale"],
            **self.binarize_options(),
        )
