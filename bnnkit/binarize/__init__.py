"""Data-driven binarization of a trained float model: BWNH (hashing) and SBD (decomposition).

Both papers start from a trained real-valued network, replace its hidden layers one by one
with binary-weight layers fitted to the layers' *real inputs* (calibration images), and
then fine-tune the result with ``model.fit``.

    import bnnkit
    from bnnkit.binarize import binarize_bwnh, binarize_sbd, calibration_images

    images = calibration_images(dataset, count=1024)
    bwnh = binarize_bwnh(float_model, images)           # one binary conv per layer
    sbd = binarize_sbd(float_model, images, bit_budget=0.5)   # conv_v -> scale -> conv_u
    bwnh.model.compile(...); bwnh.model.fit(...)        # fine-tune
    [r.relative_error for r in bwnh.layers]             # measured output error per layer

The replaced layers have binary weights but real inputs: LCE keeps them as float convs, and
they deploy as int8 per-channel weights (``+-alpha`` is exact in int8).
"""

from bnnkit.binarize.bits import binary_kernel_signs, count_flips
from bnnkit.binarize.bwnh import (
    BinarizedModel,
    HashingResult,
    binarize_bwnh,
    bwn_codes,
    bwnh_hash,
    inner_product_error,
)
from bnnkit.binarize.calibration import LayerGram, calibration_images, layer_gram, layer_inputs
from bnnkit.binarize.sbd import (
    ChannelScale,
    DecompositionResult,
    binarize_sbd,
    components_for_budget,
    sbd_decompose,
)

__all__ = [
    "BinarizedModel",
    "ChannelScale",
    "DecompositionResult",
    "HashingResult",
    "LayerGram",
    "binarize_bwnh",
    "binarize_sbd",
    "binary_kernel_signs",
    "bwn_codes",
    "bwnh_hash",
    "calibration_images",
    "components_for_budget",
    "count_flips",
    "inner_product_error",
    "layer_gram",
    "layer_inputs",
    "sbd_decompose",
]
