"""Bi-Real-18 and Bi-Real-34 (Liu et al. 2018), for every method.

    conv 7x7/2, 64, real-valued -> BN -> max-pool 3/2           (first layer stays real;
                                                                no ReLU, as the official model)
    4 stages (64, 128, 256, 512 channels) of 3x3 conv blocks, [4, 4, 4, 4] (18) or
    [6, 8, 12, 6] (34) convs, the first of each stage after the first with stride 2;
    a real-valued shortcut around EVERY conv: identity, or avg-pool 2 -> real 1x1 conv
    -> BN where the shape changes (the paper's downsampling shortcut)
    global average pool -> dense num_classes -> softmax          (last layer stays real)

With ``method="bireal"`` the per-conv shortcut is the method's own block; with any other
method the architecture adds the same shortcut around its block, so every method is
compared on the same Bi-Real topology. Built and converted here; not trained here.

The stem has no ReLU: in the official Bi-Real-18/34 (``Bi-Real-net-18-train.prototxt``:
conv1 -> BatchNorm -> Scale -> pool1) the first binary block's sign sees the batch-normed
conv output directly.

# References
- Liu, Wu, Luo, Yang, Liu, Cheng. Bi-Real Net. ECCV 2018. https://arxiv.org/abs/1808.00278
"""

from __future__ import annotations

import tensorflow as tf

from bnnkit.errors import UnsupportedModelError
from bnnkit.methods import get_method
from bnnkit.methods.bireal import BiReal
from bnnkit.models._common import check_input, classifier, scaled
from bnnkit.models.resnet import imagenet_stem

__all__ = ["CONVS_PER_STAGE", "bireal18", "bireal34", "birealnet"]


CONVS_PER_STAGE = {18: [4, 4, 4, 4], 34: [6, 8, 12, 6]}


def birealnet(
    method="bireal",
    input_shape=(224, 224, 3),
    num_classes=1000,
    *,
    depth=18,
    width=1.0,
    name=None,
    **method_options,
) -> tf.keras.Model:
    """Build Bi-Real-``depth`` (18 or 34) for ``method``; ``width`` scales the widths."""
    if depth not in CONVS_PER_STAGE:
        raise UnsupportedModelError(f"Bi-Real depth must be 18 or 34, got {depth!r}")
    method = get_method(method, **method_options)
    check_input(input_shape, 32, f"bireal{depth}")
    own_shortcut = method.conv_shortcut
    inputs = tf.keras.Input(input_shape, name="image")
    x = imagenet_stem(inputs, scaled(64, width), relu=False)
    for stage, (filters, convs) in enumerate(
        zip([64, 128, 256, 512], CONVS_PER_STAGE[depth], strict=True), start=1
    ):
        filters = scaled(filters, width)
        for i in range(1, convs + 1):
            strides = 2 if stage > 1 and i == 1 else 1
            block = f"stage{stage}_conv{i}"
            y = method.conv_block(x, filters, 3, strides=strides, name=block)
            if not own_shortcut:
                shortcut = BiReal.shortcut(x, y, 3, strides=strides, padding="same", name=block)
                y = tf.keras.layers.Add(name=f"{block}_add")([y, shortcut])
            x = y
    x = tf.keras.layers.GlobalAveragePooling2D(name="global_pool")(x)
    return tf.keras.Model(
        inputs, classifier(x, num_classes), name=name or f"bireal{depth}_{method.name}"
    )


def bireal18(method="bireal", input_shape=(224, 224, 3), num_classes=1000, **options):
    """Bi-Real-18: :func:`birealnet` with ``depth=18``."""
    return birealnet(method, input_shape, num_classes, depth=18, **options)


def bireal34(method="bireal", input_shape=(224, 224, 3), num_classes=1000, **options):
    """Bi-Real-34: :func:`birealnet` with ``depth=34``."""
    return birealnet(method, input_shape, num_classes, depth=34, **options)
