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

**Granularity of beta.** The paper quantizes every im2col column of the convolution's
input (Sec. 3.3): one \(\beta_i\) per receptive field. Overlapping fields would then give
one pixel several residuals, and \(H_{i+1}\) would no longer be a tensor a convolution can
take. bnnkit offers two granularities, both of which keep every term a pure binary
convolution (``LceBconv2d`` when deployed):

* ``scale="pixel"`` (the layer's ``beta="map"``, the default of
  :class:`bnnkit.layers.HorqConv2D`): the residual recursion runs per pixel with the
  least-squares scale of the pixel's channel vector,
  \(A_i = \operatorname{mean}_c |R_{i-1}|\) (shape ``[N, H, W, 1]``),
  \(R_i = R_{i-1} - A_i \odot H_i\), so \(\|R_i(p)\|^2 = \|R_{i-1}(p)\|^2 - c\,A_i(p)^2\)
  at every pixel \(p\). The layer then scales the i-th binary conv's *output* by
  \(\beta_i = A_i * k\), the box filter of the conv's own geometry, exactly as XNOR-Net's
  \(K = A * k\) (:func:`bnnkit.quantizers.receptive_field_mean`). For order 1, \(\beta_1\)
  at an output position is the mean of \(|X|\) over that im2col column: the paper's scale.
  For order \(\ge 2\) the residual is the per-pixel one, not the paper's per-column one
  (which is not a tensor), and \(\beta_i \odot (H_i \circledast B)\) approximates
  \((A_i \odot H_i) \circledast B\) as XNOR-Net's K does.
* ``scale="sample"`` (``beta="sample"``): one \(\beta_i = \operatorname{mean}|R_{i-1}|\)
  per sample (mean over height, width and channels), which comes out of the convolution
  exactly, \(\operatorname{conv}(\beta_i H_i, B) = \beta_i \operatorname{conv}(H_i, B)\), and
  costs nothing after the conv but a scalar multiply. A deployment trade-off: coarser than
  the paper. \(\|R_i\|^2 = \|R_{i-1}\|^2 - n\,\beta_i^2\) per sample.

Per-sample and per-pixel (not per-batch) scales keep each image's quantization independent
of the rest of the batch, so training and inference compute the same function.

Pseudo-gradient: each \(H_i\) uses the clipped straight-through estimator
\(\partial H_i/\partial R_{i-1} = 1_{|R_{i-1}| \le 1}\) and the residual recursion is an
identity on the backward pass (\(\partial R_i/\partial R_{i-1} = I\), the subtracted
\(\beta_i H_i\) is treated as a constant), so
\(\partial C/\partial X = \sum_i \partial C/\partial H_i \cdot 1_{|R_{i-1}| \le 1}\)
plus the exact gradient through the scales \(\beta_i\).

Order 1 with ``scale="pixel"`` is XNOR-Net's binarization (the layer applies the same K
map); with ``scale="sample"`` it is XNOR-Net with a per-sample scalar in place of K.

# References
- Li, Ni, Zhang, Yang, Gao. Performance Guaranteed Network Acceleration via High-Order
  Residual Quantization. ICCV 2017. https://arxiv.org/abs/1708.08687
"""

from __future__ import annotations

import larq as lq
import tensorflow as tf

from bnnkit.quantizers._base import BaseQuantizer, clipped_ste_sign

__all__ = ["SCALES", "HorqInputQuantizer", "horq_approximation", "horq_terms"]

#: The granularities of HORQ's scales (see the module docstring).
SCALES = ("pixel", "sample")


def horq_terms(x: tf.Tensor, order: int, clip_value: float | None = 1.0, scale: str = "sample"):
    r"""Return ``[(s_1, H_1), ..., (s_k, H_k)]`` of the order-k residual expansion.

    ``H_i`` is \(\pm 1\) with the shape of ``x``; ``s_i`` is the least-squares scale of
    \(H_i\) against \(R_{i-1}\) (\(R_0 = X\)) and \(R_i = R_{i-1} - s_i H_i\):

    * ``scale="sample"``: \(s_i = \operatorname{mean}|R_{i-1}|\) over every axis but the
      batch, shape ``[N, 1, ..., 1]``;
    * ``scale="pixel"``: \(s_i = A_i = \operatorname{mean}_c|R_{i-1}|\) over the last
      (channel) axis, shape ``[N, H, W, 1]``.

    See the module docstring for the formulas and the gradient.
    """
    _check_order(order)
    _check_scale(scale)
    axes = [-1] if scale == "pixel" else list(range(1, len(x.shape)))
    residual = x
    terms = []
    for _ in range(order):
        beta = tf.reduce_mean(tf.abs(residual), axis=axes, keepdims=True)
        h = clipped_ste_sign(residual, clip_value=clip_value)
        terms.append((beta, h))
        residual = residual - tf.stop_gradient(beta * h)
    return terms


def horq_approximation(
    x: tf.Tensor, order: int, clip_value: float | None = 1.0, scale: str = "sample"
):
    r"""\(\sum_{i=1}^{k} s_i H_i\), the order-k approximation of ``x`` in input space."""
    return tf.add_n([beta * h for beta, h in horq_terms(x, order, clip_value, scale)])


def _check_scale(scale):
    if scale not in SCALES:
        raise ValueError(f"HORQ scale must be one of {', '.join(SCALES)}, got {scale!r}")


def _check_order(order):
    if not isinstance(order, int) or isinstance(order, bool) or order < 1:
        raise ValueError(f"HORQ order must be an integer >= 1, got {order!r}")


@lq.utils.register_alias("horq")
@lq.utils.register_keras_custom_object
class HorqInputQuantizer(BaseQuantizer):
    r"""Order-k residual quantizer: \(X \mapsto \sum_{i=1}^{k} \beta_i H_i\).

    With \(H_1 = \operatorname{sign}(X)\), \(\beta_1 = \operatorname{mean}|X|\),
    \(H_i = \operatorname{sign}(R_{i-1})\), \(\beta_i = \operatorname{mean}|R_{i-1}|\),
    \(R_i = R_{i-1} - \beta_i H_i\), means per sample or per pixel. Pseudo-gradient: clipped
    straight-through on every sign, identity through the residual recursion (see
    :mod:`bnnkit.quantizers.horq`).

    Used as the ``input_quantizer`` of a plain ``QuantConv2D`` this trains the same
    function as :class:`bnnkit.layers.HorqConv2D`, but the conv then sees a multi-level
    tensor and deploys as a float conv; ``HorqConv2D`` splits it into k binary convs.

    # Arguments
        order: the number k of binary terms (1: a scaled sign).
        clip_value: half-width of the straight-through window; ``None``: no clipping.
        scale: ``"sample"`` (one scale per sample) or ``"pixel"`` (one per pixel, the
            channel mean; the input-space side of ``HorqConv2D(beta="map")``).
        metrics: Larq training metrics to add (e.g. ``["flip_ratio"]``).

    # References
    - Li et al. Performance Guaranteed Network Acceleration via High-Order Residual
      Quantization. ICCV 2017. https://arxiv.org/abs/1708.08687
    """

    def __init__(
        self, order: int = 2, clip_value: float | None = 1.0, scale: str = "sample", **kwargs
    ):
        _check_order(order)
        _check_scale(scale)
        self.order = order
        self.clip_value = clip_value
        self.scale = scale
        super().__init__(**kwargs)

    @property
    def precision(self):
        return self.order

    def call(self, inputs):
        return super().call(horq_approximation(inputs, self.order, self.clip_value, self.scale))

    def get_config(self):
        return {
            **super().get_config(),
            "order": self.order,
            "clip_value": self.clip_value,
            "scale": self.scale,
        }
