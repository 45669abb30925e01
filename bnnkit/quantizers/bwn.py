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

__all__ = ["GRADIENTS", "BWNWeightQuantizer", "bwn_weight"]

#: The two backward passes of :func:`bwn_weight`.
GRADIENTS = ("paper", "exact")


def bwn_weight(w: tf.Tensor, clip_value: float | None = 1.0, gradient: str = "paper") -> tf.Tensor:
    r"""\(\tilde W = \alpha \operatorname{sign}(W)\), \(\alpha_c = \operatorname{mean}|W_c|\).

    Two backward passes, applied with ``tf.custom_gradient`` (\(g = \partial C/\partial
    \tilde W\), \(n\) the number of weights of the filter \(W_i\) belongs to, and
    \(1_{|W_i| \le 1}\) the straight-through estimate of \(\partial\operatorname{sign}/
    \partial W\), with ``clip_value`` in place of 1; ``None``: no window):

    * ``gradient="paper"``: the formula as printed in the paper (Sec. 3.2, "Training
      Binary-Weights-Networks"),
      \[ \frac{\partial C}{\partial W_i} = g_i \left( \frac{1}{n} + \alpha \,
         1_{|W_i| \le 1} \right). \]
      It is a known erratum: the \(1/n\) term should carry the sign and the whole filter's
      gradient, not \(g_i\) alone. (The official Torch code multiplies this expression by
      \(n(1 - 1/c)\) as well.)
    * ``gradient="exact"``: the derivative of \(\alpha(W)\operatorname{sign}(W)\) through
      \(\alpha = \frac1n\sum_j |W_j|\), with the straight-through window on the sign,
      \[ \frac{\partial C}{\partial W_i} = \operatorname{sign}(W_i) \cdot
         \frac{1}{n}\sum_j \operatorname{sign}(W_j)\, g_j \;+\; \alpha\, g_i\,
         1_{|W_i| \le 1}. \]

    The two differ only in the first term. The report trains both (rows ``bwn`` and
    ``bwn-exact`` of ``results/REPORT.md``); ``python -m bnnkit.bench.ablations`` compares
    them (``bwn-gradient``).
    """
    if gradient not in GRADIENTS:
        raise ValueError(f"BWN gradient must be one of {', '.join(GRADIENTS)}, got {gradient!r}")

    @tf.custom_gradient
    def _call(w):
        alpha = channel_mean_abs(w)
        sign = lq.math.sign(w)
        n = tf.cast(tf.reduce_prod(tf.shape(w)[:-1]), w.dtype)
        axes = list(range(len(w.shape) - 1))

        def grad(dy):
            if clip_value is None:
                window = tf.ones_like(w)
            else:
                window = tf.cast(tf.abs(w) <= clip_value, w.dtype)
            if gradient == "exact":
                return sign * tf.reduce_mean(sign * dy, axis=axes) + alpha * dy * window
            return dy * (1.0 / n + alpha * window)

        return alpha * sign, grad

    return _call(w)


@lq.utils.register_alias("bwn_weight")
@lq.utils.register_keras_custom_object
class BWNWeightQuantizer(BaseQuantizer):
    r"""BWN / XNOR-Net weight quantizer: \(\tilde W = \alpha \operatorname{sign}(W)\).

    \[ \alpha_c = \tfrac{1}{n} \sum_{i \in c} |W_i| \quad \text{(one per output filter,
       the last axis of the kernel)} \]

    Pseudo-gradient (:func:`bwn_weight`): the paper's printed
    \(\partial C / \partial W_i = \partial C / \partial \tilde W_i \,
    (1/n + \alpha_c 1_{|W_i| \le 1})\) (``gradient="paper"``), or the exact derivative
    through \(\alpha\) with a straight-through sign (``gradient="exact"``).

    # Arguments
        clip_value: half-width of the straight-through window of
            \(\partial \operatorname{sign} / \partial W\); ``None`` disables the window.
        gradient: ``"paper"`` or ``"exact"`` (see :func:`bwn_weight`).
        metrics: Larq training metrics to add (e.g. ``["flip_ratio"]``).

    # References
    - Rastegari et al. XNOR-Net. ECCV 2016. https://arxiv.org/abs/1603.05279
    """

    precision = 1

    def __init__(self, clip_value: float | None = 1.0, gradient: str = "paper", **kwargs):
        if gradient not in GRADIENTS:
            raise ValueError(
                f"BWN gradient must be one of {', '.join(GRADIENTS)}, got {gradient!r}"
            )
        self.clip_value = clip_value
        self.gradient = gradient
        super().__init__(**kwargs)

    def call(self, inputs):
        return super().call(bwn_weight(inputs, clip_value=self.clip_value, gradient=self.gradient))

    def get_config(self):
        return {**super().get_config(), "clip_value": self.clip_value, "gradient": self.gradient}
