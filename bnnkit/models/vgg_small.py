"""VGG-small for CIFAR-10-shaped inputs (32x32x3), for every method.

    conv 3x3, 128, real-valued -> BN                       (first layer stays real)
    block 3x3 128, max-pool 2
    block 3x3 256;  block 3x3 256, max-pool 2
    block 3x3 512;  block 3x3 512, max-pool 2
    flatten -> dense num_classes -> softmax                 (last layer stays real)

The VGG-small of the binary/low-bit literature (e.g. Zhang et al., LQ-Nets, ECCV 2018;
Rastegari et al. report a similar CIFAR net), six 3x3 convs of widths
128-128-256-256-512-512 and one classifier.
"""

from __future__ import annotations

import tensorflow as tf

from bnnkit.methods import get_method
from bnnkit.models._common import check_input, classifier, scaled

__all__ = ["vgg_small"]


def vgg_small(
    method="bnn", input_shape=(32, 32, 3), num_classes=10, *, width=1.0, name=None, **method_options
) -> tf.keras.Model:
    """Build VGG-small for ``method``; ``width`` scales every hidden width."""
    method = get_method(method, **method_options)
    check_input(input_shape, 8, "vgg_small")
    inputs = tf.keras.Input(input_shape, name="image")
    x = tf.keras.layers.Conv2D(
        scaled(128, width), 3, padding="same", use_bias=False, name="stem_conv"
    )(inputs)
    x = tf.keras.layers.BatchNormalization(momentum=0.9, name="stem_bn")(x)
    for i, (filters, pool) in enumerate(
        [(128, True), (256, False), (256, True), (512, False), (512, True)], start=1
    ):
        x = method.conv_block(x, scaled(filters, width), 3, pool=pool, name=f"block{i}")
    x = tf.keras.layers.Flatten(name="flatten")(x)
    return tf.keras.Model(
        inputs, classifier(x, num_classes), name=name or f"vgg_small_{method.name}"
    )
