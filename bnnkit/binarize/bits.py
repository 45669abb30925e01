"""The binary weights of a model and how many of them flip during fine-tuning.

A binary kernel's bits are the signs of its latent weights (Larq's ``sign``: +1 for 0).
Fine-tuning a data-driven binarization can only improve on the binarization's bits if
some of them move, so bnnkit counts them:

    before = binary_kernel_signs(model)
    model.fit(...)
    flipped = count_flips(before, binary_kernel_signs(model))   # {"flipped_bits": ..., ...}
"""

from __future__ import annotations

import numpy as np

__all__ = ["binary_kernel_signs", "count_flips"]


def binary_kernel_signs(model) -> dict[str, np.ndarray]:
    """``{layer name: sign of its latent kernel}`` for every layer whose kernel quantizer
    has precision 1 (BWN, ``ste_sign``, ...), as booleans (True: +1)."""
    signs = {}
    for layer in model.layers:
        quantizer = getattr(layer, "kernel_quantizer", None)
        if quantizer is None or getattr(quantizer, "precision", None) != 1:
            continue
        kernel = layer.kernel
        latent = getattr(kernel, "latent_variable", kernel)
        signs[layer.name] = np.asarray(latent.numpy()) >= 0
    return signs


def count_flips(before: dict[str, np.ndarray], after: dict[str, np.ndarray]) -> dict:
    """Bits that differ between two :func:`binary_kernel_signs`, in total and per layer."""
    per_layer = {name: int(np.sum(before[name] != after[name])) for name in before if name in after}
    total = int(sum(before[name].size for name in per_layer))
    flipped = sum(per_layer.values())
    return {
        "flipped_bits": flipped,
        "binary_weights": total,
        "flipped_fraction": flipped / total if total else 0.0,
        "per_layer": per_layer,
    }
