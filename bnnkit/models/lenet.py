"""A LeNet-5-style network for 28x28 digits and clothes, for every method.

    input 28x28x1
    conv 5x5, 32, real-valued -> max-pool 2 -> BN           (first layer stays real)
    method block: conv 5x5, 64, max-pool 2                  (binary for binary methods)
    method block: "fc" 512 as a conv over the whole 7x7 map (binary; LCE needs a conv)
    BN -> dense num_classes, real-valued -> softmax         (last layer stays real)

LeNet-5's two conv + two fc layers (LeCun et al. 1998), with widths large enough for
binary layers. The hidden fully connected layer is written as a "valid" conv whose kernel
covers the whole feature map: mathematically the same as a dense layer on the flattened
map, but LCE turns a binary conv into an ``LceBconv2d`` while a binary ``QuantDense``
stays a float matmul.
"""

from __future__ import annotations

import tensorflow as tf

from bnnkit.methods import get_method
from bnnkit.models._common import check_input, classifier, scaled

__all__ = ["lenet"]


def lenet(
    method="bnn", input_shape=(28, 28, 1), num_classes=10, *, width=1.0, name=None, **method_options
) -> tf.keras.Model:
    """Build the LeNet-5-style model for ``method`` (a name or a Method instance)."""
    method = get_method(method, **method_options)
    check_input(input_shape, 4, "lenet")
    c1, c2, fc = (scaled(n, width) for n in (32, 64, 512))
    inputs = tf.keras.Input(input_shape, name="image")
    x = tf.keras.layers.Conv2D(c1, 5, padding="same", use_bias=False, name="stem_conv")(inputs)
    x = tf.keras.layers.MaxPool2D(2, name="stem_pool")(x)
    x = tf.keras.layers.BatchNormalization(momentum=0.9, name="stem_bn")(x)
    x = method.conv_block(x, c2, 5, pool=True, name="block1")
    x = method.conv_block(x, fc, tuple(int(d) for d in x.shape[1:3]), padding="valid", name="fc")
    # XNOR-Net and HORQ blocks end with the scaled binary conv (BN comes first in their
    # block order), so the classifier gets a BN in front of it, as in XNOR-Net's AlexNet.
    x = tf.keras.layers.BatchNormalization(momentum=0.9, name="head_bn")(x)
    x = tf.keras.layers.Flatten(name="flatten")(x)
    return tf.keras.Model(inputs, classifier(x, num_classes), name=name or f"lenet_{method.name}")
