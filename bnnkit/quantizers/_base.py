"""Shared helpers of bnnkit's quantizers (not a paper: see the per-paper modules)."""

from __future__ import annotations

import larq as lq
import tensorflow as tf

#: Larq's quantizer base class (adds Larq's training metrics such as ``flip_ratio``).
#: Larq 0.14 does not export it under a public name; every bnnkit quantizer derives from it.
BaseQuantizer = lq.quantizers._BaseQuantizer


def channel_mean_abs(w: tf.Tensor) -> tf.Tensor:
    """``alpha_c = mean |W_c|`` over every axis but the last (one value per output filter)."""
    return tf.reduce_mean(tf.abs(w), axis=list(range(len(w.shape) - 1)))


def clipped_ste_sign(x: tf.Tensor, clip_value: float | None = 1.0) -> tf.Tensor:
    """``sign(x)`` (never 0) with gradient ``1_{|x| <= clip_value}``; Larq's ``ste_sign``.

    Larq's own function is reused on purpose: LCE recognizes its forward graph as the
    input binarization of a binary convolution.
    """
    return lq.quantizers.ste_sign(x, clip_value=clip_value)
