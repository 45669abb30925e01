"""ResNet-18 as XNOR-Net and BWN binarize it, for every method.

    conv 7x7/2, 64, real-valued -> BN -> ReLU -> max-pool 3/2   (first layer stays real)
    4 stages (64, 128, 256, 512 channels) x 2 basic blocks:
        y = block 3x3 (stride 2 at a stage's start) -> block 3x3;  out = y + shortcut(x)
        shortcut: identity, or a real 1x1 conv (stride 2) -> BN when the shape changes
    global average pool -> dense num_classes -> softmax          (last layer stays real)

Each "block" is the method's conv block. Methods whose block already carries its own
shortcut (Bi-Real) are better served by :func:`bnnkit.models.bireal.birealnet`; here they
get the block-level shortcut on top. Built and converted here; not trained here.

# References
- He, Zhang, Ren, Sun. Deep Residual Learning for Image Recognition. CVPR 2016.
- Rastegari et al. XNOR-Net. ECCV 2016. https://arxiv.org/abs/1603.05279
"""

from __future__ import annotations

import tensorflow as tf

from bnnkit.methods import get_method
from bnnkit.models._common import check_input, classifier, scaled

__all__ = ["imagenet_stem", "resnet18"]


def imagenet_stem(inputs, filters, *, relu: bool = True):
    """The real-valued ResNet stem: conv 7x7/2 -> BN -> [ReLU] -> max-pool 3/2."""
    x = tf.keras.layers.Conv2D(
        filters, 7, strides=2, padding="same", use_bias=False, name="stem_conv"
    )(inputs)
    x = tf.keras.layers.BatchNormalization(momentum=0.9, name="stem_bn")(x)
    if relu:
        x = tf.keras.layers.Activation("relu", name="stem_relu")(x)
    return tf.keras.layers.MaxPool2D(3, strides=2, padding="same", name="stem_pool")(x)


def resnet18(
    method="xnor",
    input_shape=(224, 224, 3),
    num_classes=1000,
    *,
    width=1.0,
    name=None,
    **method_options,
) -> tf.keras.Model:
    """Build ResNet-18 for ``method``; ``width`` scales every hidden width."""
    method = get_method(method, **method_options)
    check_input(input_shape, 32, "resnet18")
    inputs = tf.keras.Input(input_shape, name="image")
    x = imagenet_stem(inputs, scaled(64, width))
    for stage, filters in enumerate([64, 128, 256, 512], start=1):
        filters = scaled(filters, width)
        for block in (1, 2):
            strides = 2 if stage > 1 and block == 1 else 1
            prefix = f"stage{stage}_block{block}"
            y = method.conv_block(x, filters, 3, strides=strides, name=f"{prefix}_a")
            y = method.conv_block(y, filters, 3, name=f"{prefix}_b")
            shortcut = x
            if strides != 1 or int(x.shape[-1]) != filters:
                shortcut = tf.keras.layers.Conv2D(
                    filters, 1, strides=strides, use_bias=False, name=f"{prefix}_shortcut_conv"
                )(x)
                shortcut = tf.keras.layers.BatchNormalization(
                    momentum=0.9, name=f"{prefix}_shortcut_bn"
                )(shortcut)
            x = tf.keras.layers.Add(name=f"{prefix}_add")([y, shortcut])
    x = tf.keras.layers.GlobalAveragePooling2D(name="global_pool")(x)
    return tf.keras.Model(
        inputs, classifier(x, num_classes), name=name or f"resnet18_{method.name}"
    )
