"""bnnkit's quantizers, one module per paper, all Larq quantizers registered by name.

Three ways to use one, as with Larq's own quantizers:

```python
import bnnkit  # first: selects Keras 2
import larq as lq
from bnnkit import quantizers

# 1. an instance (preferred: its options are explicit and it serializes with them)
lq.layers.QuantConv2D(64, 3, input_quantizer=quantizers.XnorInputQuantizer(),
                      kernel_quantizer=quantizers.BWNWeightQuantizer(), use_bias=False)
# 2. by registered name (defaults only): "xnor_sign", "bwn_weight", "horq",
#    "bireal_approx_sign", "bireal_weight"
lq.layers.QuantConv2D(64, 3, input_quantizer="xnor_sign", kernel_quantizer="bwn_weight")
# 3. the plain functions, in your own code
y = quantizers.horq_approximation(x, order=2)
```

Scales that depend on the input (XNOR-Net's K map, HORQ's betas) cannot live in an
element-wise quantizer if the conv is to stay binary; they are applied after the conv by
the layers in :mod:`bnnkit.layers`.
"""

from bnnkit.quantizers._base import BaseQuantizer
from bnnkit.quantizers.bireal import (
    BiRealApproxSign,
    BiRealWeightQuantizer,
    approx_sign,
    clip_activation,
)
from bnnkit.quantizers.bwn import BWNWeightQuantizer, bwn_weight
from bnnkit.quantizers.horq import HorqInputQuantizer, horq_approximation, horq_terms
from bnnkit.quantizers.xnor import (
    XnorInputQuantizer,
    binarize_gradient,
    quantize_k,
    receptive_field_mean,
    xnor_k_map,
)

__all__ = [
    "BWNWeightQuantizer",
    "BaseQuantizer",
    "BiRealApproxSign",
    "BiRealWeightQuantizer",
    "HorqInputQuantizer",
    "XnorInputQuantizer",
    "approx_sign",
    "binarize_gradient",
    "bwn_weight",
    "clip_activation",
    "horq_approximation",
    "horq_terms",
    "quantize_k",
    "receptive_field_mean",
    "xnor_k_map",
]
