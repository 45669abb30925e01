r"""SBD's diagonal \(D\): a learnt non-negative scale per channel, between two binary layers.

\[ y_{\dots k} = d_k\, x_{\dots k}, \qquad d_k \ge 0 \]

Semi-binary decomposition writes a layer's weights as \(U D V^\top\) with binary \(U, V\);
this layer is the \(D\) between the binary conv of \(V\) and the binary 1x1 conv of \(U\)
(see :mod:`bnnkit.binarize.sbd` for the decomposition).

# References
- Hu, Li, Wang, Cheng. Training Binary Weight Networks via Semi-Binary Decomposition.
  ECCV 2018.
"""

from __future__ import annotations

import larq as lq
import tensorflow as tf

__all__ = ["ChannelScale"]


@lq.utils.register_keras_custom_object
class ChannelScale(tf.keras.layers.Layer):
    r"""Multiply each channel by a learnt non-negative scale: \(y_{\dots k} = d_k x_{\dots k}\).

    SBD's \(D\) between its two binary layers. The scales are kept \(\ge 0\) by a
    ``NonNeg`` constraint during fine-tuning.

    # Arguments
        scale_initializer: initializer of the \(K\) scales.
    """

    def __init__(self, scale_initializer="ones", **kwargs):
        super().__init__(**kwargs)
        self.scale_initializer = tf.keras.initializers.get(scale_initializer)

    def build(self, input_shape):
        self.scale = self.add_weight(
            name="scale",
            shape=(int(input_shape[-1]),),
            initializer=self.scale_initializer,
            constraint=tf.keras.constraints.NonNeg(),
            trainable=True,
        )
        super().build(input_shape)

    def call(self, inputs):
        return inputs * tf.cast(self.scale, inputs.dtype)

    def get_config(self):
        return {
            **super().get_config(),
            "scale_initializer": tf.keras.initializers.serialize(self.scale_initializer),
        }
