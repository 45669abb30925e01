r"""HORQ: high-order residual quantization of the inputs of a binary convolution.

Li et al. binarize an input \(X\) recursively on its residuals (paper, Sec. 3.2-3.3,
Eq. 6-10):

\[ H_1 = \operatorname{sign}(X),\ \beta_1 = \operatorname{mean}|X|,\
   R_1 = X - \beta_1 H_1; \qquad
   H_i = \operatorname{sign}(R_{i-1}),\ \beta_i = \operatorname{mean}|R_{i-1}|,\
   R_i = R_{i-1} - \beta_i H_i \]

so that \(X \approx \sum_{i=1}^{k} \beta_i H_i\) (order \(k\)). Each \(\beta_i\) is the
least-squares scale of its sign, and \(\|R_i\|^2 = \|R_{i-1}\|^2 - n\beta_i^2\): the
residual norm strictly decreases with the order while the residual is not zero.
A convolution with binary weights \(\alpha B\) (BWN) then becomes

\[ X * W \approx \sum_{i=1}^{k} \beta_i \, \alpha \, (H_i \circledast B), \]

\(k\) pure binary convolutions sharing one weight tensor, scaled after the conv
(:class:`bnnkit.layers.HorqConv2D`).

**Granularity of beta: one value per sample** (mean over height, width and channels of
that sample's tensor). The paper computes the scales on the im2col columns (one per
receptive field). We do not, for two reasons: (1) with one \(\beta_i\) per receptive field,
overlapping fields would give the same pixel different residuals, so \(R_i\) and \(H_{i+1}\)
would not be tensors one convolution can take; (2) only a \(\beta_i\) that is constant over
the receptive field comes out of the convolution exactly,
\(\operatorname{conv}(\beta_i H_i, B) = \beta_i \operatorname{conv}(H_i, B)\), which is
what makes every term a pure ``LceBconv2d`` when deployed. Per-sample (not per-batch)
scales keep each image's quantization independent of the rest of the batch, so training
and inference compute the same function.

Pseudo-gradient: each \(H_i\) uses the clipped straight-through estimator
\(\partial H_i/\partial R_{i-1} = 1_{|R_{i-1}| \le 1}\) and the residual recursion is an
identity on the backward pass (\(\partial R_i/\partial R_{i-1} = I\), the subtracted
\(\beta_i H_i\) is treated as a constant), so
\(\partial C/\partial X = \sum_i \partial C/\partial H_i \cdot 1_{|R_{i-1}| \le 1}\)
plus the exact gradient through the scales \(\beta_i\).

Order 1 is XNOR-Net's binarization with a per-sample scalar \(\beta_1\) in place of the
K map.

# References
- Li, Ni, Zhang, Yang, Gao. Performance Guaranteed Network Acceleration via High-Order
  Residual Quantization. ICCV 2017. https://arxiv.org/abs/1708.08687
"""

from __future__ import annotations

import larq as lq
import tensorflow as tf

from bnnkit.quantizers._base import BaseQuantizer, clipped_ste_sign

__all__ = ["HorqInputQuantizer", "horq_approximation", "horq_terms"]


def horq_terms(x: tf.Tensor, order: int, clip_value: float | None = 1.0):
    r"""Return ``[(beta_1, H_1), ..., (beta_k, H_k)]`` of the order-k residual expansion.

    ``beta_i`` has shape ``[N, 1, ..., 1]`` (one per sample, broadcastable to ``x``),
    ``H_i`` is \(\pm 1\) with the shape of ``x``. See the module docstring for the
    formulas and the gradient.
    """
    _check_order(order)
    axes = list(range(1, len(x.shape)))
    residual = x
    terms = []
    for _ in range(order):
        beta = tf.reduce_mean(tf.abs(residual), axis=axes, keepdims=True)
        h = clipped_ste_sign(residual, clip_value=clip_value)
        terms.append((beta, h))
        residual = residual - tf.stop_gradient(beta * h)
    return terms


def horq_approximation(x: tf.Tensor, order: int, clip_value: float | None = 1.0):
    r"""\(\sum_{i=1}^{k} \beta_i H_i\), the order-k approximation of ``x``."""
    return tf.add_n([beta * h for beta, h in horq_terms(x, order, clip_value)])


def _check_order(order):
    if not isinstance(order, int) or isinstance(order, bool) or order < 1:
        raise ValueError(f"HORQ order must be an integer >= 1, got {order!r}")


@lq.utils.register_alias("horq")
@lq.utils.register_keras_custom_object
class HorqInputQuantizer(BaseQuantizer):
    r"""Order-k residual quantizer: \(X \mapsto \sum_{i=1}^{k} \beta_i H_i\).

    With \(H_1 = \operatorname{sign}(X)\), \(\beta_1 = \operatorname{mean}|X|\),
    \(H_i = \operatorname{sign}(R_{i-1})\), \(\beta_i = \operatorname{mean}|R_{i-1}|\),
    \(R_i = R_{i-1} - \beta_i H_i\), scales per sample. Pseudo-gradient: clipped
    straight-through on every sign, identity through the residual recursion (see
    :mod:`bnnkit.quantizers.horq`).

    Used as the ``input_quantizer`` of a plain ``QuantConv2D`` this trains the same
    function as :class:`bnnkit.layers.HorqConv2D`, but the conv then sees a multi-level
    tensor and deploys as a float conv; ``HorqConv2D`` splits it into k binary convs.

    # Arguments
        order: the number k of binary terms (1: a scaled sign).
        clip_value: half-width of the straight-through window; ``None``: no clipping.
        metrics: Larq training metrics to add (e.g. ``["flip_ratio"]``).

    # References
    - Li et al. Performance Guaranteed Network Acceleration via High-Order Residual
      Quantization. ICCV 2017. https://arxiv.org/abs/1708.08687
    """

    def __init__(self, order: int = 2, clip_value: float | None = 1.0, **kwargs):
        _check_order(order)
        self.order = order
        self.clip_value = clip_value
        super().__init__(**kwargs)

    @property
    def precision(self):
        return self.order

    def call(self, inputs):
        return super().call(horq_approximation(inputs, self.order, self.clip_value))

    def get_config(self):
        return {**super().get_config(), "order": self.order, "clip_value": self.clip_value}
