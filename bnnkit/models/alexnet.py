"""AlexNet as XNOR-Net and BWN binarize it (Rastegari et al. 2016), for every method.

    conv 11x11/4, 96, real-valued -> max-pool 3/2 -> BN     (first layer stays real)
    block 5x5 256, max-pool 2
    block 3x3 384;  block 3x3 384;  block 3x3 256, max-pool 2
    block "fc6" 4096 as a valid conv over the whole map;  block "fc7" 4096 (1x1 conv)
    flatten -> dense num_classes -> softmax                 (last layer stays real)

(The hidden fully connected layers are convs so that LCE makes them binary kernels; the
pools after conv2 and conv5 are the methods' 2x2 max-pools.) For 224x224 inputs the fc6
kernel is 6x6, as in AlexNet. Built and converted here; not trained here.

# References
- Krizhevsky, Sutskever, Hinton. ImageNet Classification with Deep Convolutional Neural
  Networks. NIPS 2012.
- Rastegari et al. XNOR-Net. ECCV 2016. https://arxiv.org/abs/1603.05279
"""

from __future__ import annotations

import tensorflow as tf

from bnnkit.methods import get_method
from bnnkit.models._common import check_input, classifier, scaled

__all__ = ["alexnet"]


def alexnet(
    method="xnor",
    input_shape=(224, 224, 3),
    num_classes=1000,
    *,
    width=1.0,
    name=None,
    **method_options,
) -> tf.keras.Model:
    """Build AlexNet for ``method``; ``width`` scales every hidden width."""
    method = get_method(method, **method_options)
    check_input(input_shape, 48, "alexnet")
    inputs = tf.keras.Input(input_shape, name="image")
    x = tf.keras.layers.Conv2D(
        scaled(96, width), 11, strides=4, padding="same", use_bias=False, name="stem_conv"
    )(inputs)
    x = tf.keras.layers.MaxPool2D(3, strides=2, name="stem_pool")(x)
    x = tf.keras.layers.BatchNormalization(momentum=0.9, name="stem_bn")(x)
    x = method.conv_block(x, scaled(256, width), 5, pool=True, name="conv2")
    x = method.conv_block(x, scaled(384, width), 3, name="conv3")
    x = method.conv_block(x, scaled(384, width), 3, name="conv4")
    x = method.conv_block(x, scaled(256, width), 3, pool=True, name="conv5")
    x = method.conv_block(
        x, scaled(4096, width), tuple(int(d) for d in x.shape[1:3]), padding="valid", name="fc6"
    )
    x = method.conv_block(x, scaled(4096, width), 1, padding="valid", name="fc7")
    x = tf.keras.layers.Flatten(name="flatten")(x)
    return tf.keras.Model(inputs, classifier(x, num_classes), name=name or f"alexnet_{method.name}")
