r"""Binary-Weight-Networks (BWN): binary weights with one real scale per output filter.

Rastegari et al. approximate every real filter \(W \in \mathbb{R}^n\) (\(n = c\,w\,h\)) by
\(W \approx \alpha B\) with \(B \in \{-1, +1\}^n\), \(\alpha > 0\). Minimizing
\(J(B, \alpha) = \|W - \alpha B\|^2\) gives (paper, Eq. 4 and 6)

\[ B^* = \operatorname{sign}(W), \qquad \alpha^* = \tfrac{1}{n} \|W\|_{\ell 1}
   = \operatorname{mean} |W|. \]

Inputs stay real-valued: a BWN convolution is \(I * W \approx (I \oplus B)\,\alpha\).

Use it as the kernel quantizer of any Larq layer:

```python
import bnnkit  # first: selects Keras 2
import larq as lq
from bnnkit.quantizers import BWNWeightQuantizer

layer = lq.layers.QuantConv2D(64, 3, kernel_quantizer=BWNWeightQuantizer(),
                              kernel_constraint="weight_clip", use_bias=False)
# or by name, as a saved model refers to it:
layer = lq.layers.QuantConv2D(64, 3, kernel_quantizer="bwn_weight", use_bias=False)
```

Because the scale is one value per output channel, LCE folds \(\alpha\) into the output
multiplier of the convolution when its inputs are binary too (XNOR-Net).

# References
- Rastegari, Ordonez, Redmon, Farhadi. XNOR-Net: ImageNet Classification Using Binary
  Convolutional Neural Networks. ECCV 2016. https://arxiv.org/abs/1603.05279
"""

from __future__ import annotations

import larq as lq
import tensorflow as tf

from bnnkit.quantizers._base import BaseQuantizer, channel_mean_abs

__all__ = ["BWNWeightQuantizer", "bwn_weight"]


def bwn_weight(w: tf.Tensor, clip_value: float | None = 1.0) -> tf.Tensor:
    r"""\(\tilde W = \alpha \operatorname{sign}(W)\), \(\alpha_c = \operatorname{mean}|W_c|\).

    The gradient is the paper's (Sec. 3.2, "Training Binary-Weights-Networks"), applied
    with ``tf.custom_gradient``:

    \[ \frac{\partial C}{\partial W_i} = \frac{\partial C}{\partial \tilde W_i}
       \left( \frac{1}{n} + \alpha \, 1_{|W_i| \le 1} \right) \]

    where \(n\) is the number of weights of the filter \(W_i\) belongs to and the
    window \(1_{|W_i| \le 1}\) is the straight-through estimate of
    \(\partial \operatorname{sign}/\partial W\) (with ``clip_value`` in place of 1;
    ``None``: no window, i.e. \(1/n + \alpha\)).
    """

    @tf.custom_gradient
    def _call(w):
        alpha = channel_mean_abs(w)
        n = tf.cast(tf.reduce_prod(tf.shape(w)[:-1]), w.dtype)

        def grad(dy):
            if clip_value is None:
                window = tf.ones_like(w)
            else:
                window = tf.cast(tf.abs(w) <= clip_value, w.dtype)
            return dy * (1.0 / n + alpha * window)

        return alpha * lq.math.sign(w), grad

    return _call(w)


@lq.utils.register_alias("bwn_weight")
@lq.utils.register_keras_custom_object
class BWNWeightQuantizer(BaseQuantizer):
    r"""BWN / XNOR-Net weight quantizer: \(\tilde W = \alpha \operatorname{sign}(W)\).

    \[ \alpha_c = \tfrac{1}{n} \sum_{i \in c} |W_i| \quad \text{(one per output filter,
       the last axis of the kernel)} \]

    Pseudo-gradient (the paper's, see :func:`bwn_weight`):
    \(\partial C / \partial W_i = \partial C / \partial \tilde W_i \,
    (1/n + \alpha_c 1_{|W_i| \le 1})\).

    # Arguments
        clip_value: half-width of the straight-through window of
            \(\partial \operatorname{sign} / \partial W\); ``None`` disables the window.
        metrics: Larq training metrics to add (e.g. ``["flip_ratio"]``).

    # References
    - Rastegari et al. XNOR-Net. ECCV 2016. https://arxiv.org/abs/1603.05279
    """

    precision = 1

    def __init__(self, clip_value: float | None = 1.0, **kwargs):
        self.clip_value = clip_value
        super().__init__(**kwargs)

    def call(self, inputs):
        return super().call(bwn_weight(inputs, clip_value=self.clip_value))

    def get_config(self):
        return {**super().get_config(), "clip_value": self.clip_value}
