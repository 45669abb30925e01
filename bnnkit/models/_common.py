"""Pieces shared by the architectures: real-valued stem and classifier, widths."""

from __future__ import annotations

import tensorflow as tf

from bnnkit.errors import UnsupportedModelError


def scaled(n: int, width: float) -> int:
    """Channel count ``n`` times ``width`` (at least 8)."""
    if width <= 0:
        raise UnsupportedModelError(f"width must be > 0, got {width!r}")
    return max(8, round(n * width))


def classifier(x, num_classes: int):
    """The real-valued last layer: dense -> softmax (float32 output)."""
    x = tf.keras.layers.Dense(num_classes, name="classifier")(x)
    return tf.keras.layers.Activation("softmax", name="probabilities", dtype="float32")(x)


def check_input(input_shape, minimum: int, arch: str):
    if len(input_shape) != 3 or min(input_shape[:2]) < minimum:
        raise UnsupportedModelError(
            f"{arch} needs an input of shape (height, width, channels) with height and "
            f"width >= {minimum}; got {tuple(input_shape)}"
        )
