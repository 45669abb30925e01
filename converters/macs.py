"""Per-layer multiply-accumulates, split into binary and float, from the Keras model.

A conv/dense layer runs on binary kernels (``LceBconv2d``: XNOR + popcount) only when *both*
its inputs and its weights are 1-bit. Layers with binary weights but real inputs (BWN, BWNH,
SBD) still multiply real numbers: they deploy as float or int8 convs, and are counted as
float MACs here (with their ``kind`` saying ``binary_weight``).

    MACs(conv) = H_out * W_out * C_out * k_h * k_w * C_in / groups      (per image)
    MACs(dense) = (positions) * units * C_in

HORQ's order-k layer is k binary convs, so its binary MACs are k times a conv's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = ["LayerMacs", "is_linear_layer", "iter_layers", "layer_bits", "layer_macs", "model_macs"]


@dataclass
class LayerMacs:
    name: str
    class_name: str
    kind: str  # "binary", "binary_weight" or "float"
    input_bits: int
    kernel_bits: int
    binary_terms: int  # binary convs the layer executes (HORQ: its order)
    macs: int  # MACs of one evaluation of the layer's linear map, per image
    binary_macs: int
    float_macs: int
    params: int

    def as_dict(self) -> dict:
        return asdict(self)


def _precision(quantizer) -> int:
    if quantizer is None:
        return 32
    precision = getattr(quantizer, "precision", None)
    if precision is None:
        return 32
    try:
        return int(precision)
    except (TypeError, ValueError):
        return 32


def is_linear_layer(layer: Any) -> bool:
    import tensorflow as tf

    return isinstance(
        layer,
        (
            tf.keras.layers.Conv2D,
            tf.keras.layers.Dense,
            tf.keras.layers.DepthwiseConv2D,
            tf.keras.layers.Conv1D,
            tf.keras.layers.Conv3D,
        ),
    )


def layer_bits(layer: Any) -> tuple[int, int, int]:
    """``(input_bits, kernel_bits, binary_terms)`` of a conv/dense layer."""
    order = getattr(layer, "order", None)
    kernel_bits = _precision(getattr(layer, "kernel_quantizer", None))
    if type(layer).__name__ == "HorqConv2D" and order:
        return 1, kernel_bits, int(order)
    return _precision(getattr(layer, "input_quantizer", None)), kernel_bits, 1


def layer_macs(layer: Any) -> LayerMacs:
    """MACs of one conv/dense layer (its output shape must be known)."""
    import tensorflow as tf

    input_bits, kernel_bits, terms = layer_bits(layer)
    output_shape = layer.output_shape
    if isinstance(output_shape, list):
        output_shape = output_shape[0]
    kernel = getattr(layer, "kernel", None)
    if kernel is None:
        kernel = getattr(layer, "depthwise_kernel", None)
    kernel_shape = [int(d) for d in kernel.shape] if kernel is not None else []
    positions = int(np.prod([d for d in output_shape[1:-1] if d is not None] or [1]))
    if isinstance(layer, tf.keras.layers.DepthwiseConv2D):
        macs = positions * int(output_shape[-1]) * int(np.prod(kernel_shape[:-2]))
    else:
        # conv kernel (..., C_in/groups, C_out); dense kernel (C_in, units)
        macs = positions * int(np.prod(kernel_shape))
    if input_bits == 1 and kernel_bits == 1:
        kind = "binary"
        binary, floating = macs * terms, 0
    else:
        kind = "binary_weight" if kernel_bits == 1 else "float"
        binary, floating = 0, macs
    return LayerMacs(
        name=layer.name,
        class_name=type(layer).__name__,
        kind=kind,
        input_bits=input_bits,
        kernel_bits=kernel_bits,
        binary_terms=terms,
        macs=macs * terms,
        binary_macs=binary,
        float_macs=floating,
        params=int(np.prod(kernel_shape)) if kernel_shape else 0,
    )


def iter_layers(model: Any) -> Iterator[Any]:
    """All layers, descending into nested models."""
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers:
            yield from iter_layers(layer)
        else:
            yield layer


def model_macs(model: Any) -> dict:
    """``{"layers": [...], "binary_macs", "float_macs", "total_macs", "binary_fraction"}``."""
    layers = [layer_macs(layer) for layer in iter_layers(model) if is_linear_layer(layer)]
    binary = sum(layer.binary_macs for layer in layers)
    floating = sum(layer.float_macs for layer in layers)
    total = binary + floating
    return {
        "layers": [layer.as_dict() for layer in layers],
        "binary_macs": binary,
        "float_macs": floating,
        "total_macs": total,
        "binary_fraction": binary / total if total else 0.0,
    }
