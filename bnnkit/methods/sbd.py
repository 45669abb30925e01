"""SBD as a training method: train float, decompose semi-binarily, fine-tune.

    bnnkit train --method sbd --dataset mnist --option bit_budget=0.5

Each hidden conv becomes conv_v (K binary kernels) -> scale (K values) -> conv_u (binary
1x1), with K from the bit budget; see :mod:`bnnkit.binarize.sbd` for the objective and the
updates. Hidden conv blocks are built as the float baseline's (the method starts from a
float network); first and last layers stay real-valued.

# References
- Hu, Li, Wang, Cheng. Training Binary Weight Networks via Semi-Binary Decomposition.
  ECCV 2018.
"""

from __future__ import annotations

from bnnkit.methods._data_driven import COMMON_OPTIONS, DataDrivenMethod
from bnnkit.methods.base import register_method

__all__ = ["SBD"]


@register_method
class SBD(DataDrivenMethod):
    name = "sbd"
    title = "SBD (semi-binary decomposition)"
    reference = (
        "Hu, Li, Wang, Cheng. Training Binary Weight Networks via Semi-Binary "
        "Decomposition. ECCV 2018"
    )

    @classmethod
    def option_defaults(cls) -> dict:
        return {**COMMON_OPTIONS, "bit_budget": 1.0, "components": None}

    def binarize(self, model, images):
        from bnnkit.binarize import binarize_sbd

        return binarize_sbd(
            model,
            images,
            bit_budget=self.options["bit_budget"],
            components=self.options["components"],
            **self.binarize_options(),
        )
