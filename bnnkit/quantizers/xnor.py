r"""XNOR-Net: binary inputs and binary weights, with real scales applied after the conv.

Rastegari et al. binarize both operands of a convolution (paper, Sec. 3.2, Eq. 11):

\[ I * W \approx \big(\operatorname{sign}(I) \circledast \operatorname{sign}(W)\big)
   \odot K \alpha \]

* weights: \(B = \operatorname{sign}(W)\), \(\alpha = \operatorname{mean}|W|\) per output
  filter, exactly as BWN (:class:`bnnkit.quantizers.BWNWeightQuantizer`);
* inputs: \(H = \operatorname{sign}(I)\) with the clipped straight-through gradient
  \(\partial C/\partial I = \partial C/\partial H \, 1_{|I| \le 1}\) (Sec. 3.2,
  "Binarizing input"), :class:`XnorInputQuantizer`;
* the input scale map \(K = A * k\): \(A = \sum_c |I_{:,:,c}| / c\) (mean over channels),
  \(k\) a \(w \times h\) box filter of \(1/(wh)\), with the convolution's own size,
  strides, dilation and (zero) padding (Fig. 2), :func:`xnor_k_map`. It multiplies the
  *output* of the binary conv, so the conv itself stays a pure XNOR-popcount one
  (``LceBconv2d``) when deployed.

The two extensions of Sec. 4.3 are here as options:

* k-bit inputs (:func:`quantize_k`):
  \(Q_k(x) = 2\big(\operatorname{round}((2^k-1)\frac{x+1}{2}) / (2^k-1) - \tfrac12\big)\)
  in place of sign (the result is then no longer binary: LCE keeps a float conv);
* binary gradients (:func:`binarize_gradient`): in the backward pass the gradient with
  respect to the conv output is replaced by \(\max_i|g_i| \cdot \operatorname{sign}(g)\),
  "the maximum of the absolute values in each gradient as the scale".

The convolution that combines these is :class:`bnnkit.layers.XnorConv2D`.

# References
- Rastegari, Ordonez, Redmon, Farhadi. XNOR-Net: ImageNet Classification Using Binary
  Convolutional Neural Networks. ECCV 2016. https://arxiv.org/abs/1603.05279
"""

from __future__ import annotations

import larq as lq
import tensorflow as tf

from bnnkit.quantizers._base import BaseQuantizer, clipped_ste_sign
from bnnkit.shapes import pair

__all__ = [
    "XnorInputQuantizer",
    "binarize_gradient",
    "quantize_k",
    "receptive_field_mean",
    "xnor_k_map",
]


def quantize_k(x: tf.Tensor, bits: int, clip_value: float | None = 1.0) -> tf.Tensor:
    r"""XNOR-Net's k-bit quantizer \(Q_k\) (Sec. 4.3), straight-through gradient.

    \[ Q_k(x) = 2\left(\frac{\operatorname{round}\big((2^k-1)\frac{x+1}{2}\big)}{2^k-1}
       - \frac12\right), \qquad
       \frac{\partial Q_k}{\partial x} = 1_{|x| \le 1} \]

    \(Q_k\) maps \([-1, 1]\) onto \(2^k\) evenly spaced levels; inputs are clipped to that
    range first (outside it the formula would leave the level set). Rounding is half-up,
    so \(Q_1\) equals ``sign`` (with \(\operatorname{sign}(0) = +1\)).
    """
    if bits < 1 or int(bits) != bits:
        raise ValueError(f"bits must be a positive integer, got {bits!r}")
    levels = float(2 ** int(bits) - 1)

    @tf.custom_gradient
    def _call(x):
        xc = tf.clip_by_value(x, -1.0, 1.0)
        q = 2.0 * (tf.floor(levels * (xc + 1.0) / 2.0 + 0.5) / levels - 0.5)

        def grad(dy):
            if clip_value is None:
                return dy
            return tf.where(tf.abs(x) <= clip_value, dy, tf.zeros_like(dy))

        return q, grad

    return _call(x)


def binarize_gradient(x: tf.Tensor) -> tf.Tensor:
    r"""Identity forward; backward the gradient is binarized (Sec. 4.3, binary gradient).

    \[ \tilde g = \max_i |g_i| \cdot \operatorname{sign}(g) \]

    with one max over the whole gradient tensor (the paper: "the maximum of the absolute
    values in each gradient"). Placed on the output of a binary conv, it makes both
    backward convolutions (w.r.t. inputs and w.r.t. weights) binary as well.
    """

    @tf.custom_gradient
    def _call(x):
        def grad(dy):
            return tf.reduce_max(tf.abs(dy)) * lq.math.sign(dy)

        return tf.identity(x), grad

    return _call(x)


def xnor_k_map(
    inputs: tf.Tensor, kernel_size, strides=(1, 1), padding: str = "same", dilation_rate=(1, 1)
) -> tf.Tensor:
    r"""The input scale map \(K = A * k\) of XNOR-Net (Sec. 3.2, Fig. 2), NHWC.

    \[ A = \frac{1}{c} \sum_{j=1}^{c} |I_{:,:,j}|, \qquad
       k_{ij} = \frac{1}{w h}, \qquad K = A * k \]

    ``*`` is the convolution of the layer the map belongs to (same kernel size, strides,
    dilation, padding; "same" pads \(A\) with zeros). Returns shape ``[N, H', W', 1]``,
    which broadcasts over the conv's output channels.
    """
    a = tf.reduce_mean(tf.abs(inputs), axis=-1, keepdims=True)
    return receptive_field_mean(a, kernel_size, strides, padding, dilation_rate)


def receptive_field_mean(
    a: tf.Tensor, kernel_size, strides=(1, 1), padding: str = "same", dilation_rate=(1, 1)
) -> tf.Tensor:
    r"""\(A * k\): the mean of a one-channel map ``a`` (``[N, H, W, 1]``) over every
    receptive field of a convolution with this geometry (zero padding for "same").

    With \(A\) the channel mean of \(|I|\) this is the mean of \(|I|\) over each im2col
    column, because every column holds \(c\,w\,h\) values (padded ones count as 0).
    """
    kh, kw = pair(kernel_size)
    box = tf.fill([kh, kw, 1, 1], tf.constant(1.0 / (kh * kw), dtype=a.dtype))
    return tf.nn.conv2d(
        a,
        box,
        strides=[1, *pair(strides), 1],
        padding=padding.upper(),
        dilations=[1, *pair(dilation_rate), 1],
    )


@lq.utils.register_alias("xnor_sign")
@lq.utils.register_keras_custom_object
class XnorInputQuantizer(BaseQuantizer):
    r"""XNOR-Net input quantizer: \(H = \operatorname{sign}(I)\), or \(Q_k(I)\) for k bits.

    Forward: \(\operatorname{sign}(I) \in \{-1, +1\}\) (``bits=1``, the paper's
    XNOR-Net) or \(Q_k(I)\) (:func:`quantize_k`).

    Pseudo-gradient (clipped straight-through, Sec. 3.2):
    \(\partial C / \partial I = \partial C / \partial H \cdot 1_{|I| \le 1}\).

    With ``bits=1`` the forward is Larq's ``ste_sign`` graph, which LCE recognizes as the
    input binarization of an ``LceBconv2d``.

    # Arguments
        bits: input precision k; 1 is the binary XNOR-Net.
        clip_value: half-width of the straight-through window; ``None``: no clipping.
        metrics: Larq training metrics to add (e.g. ``["flip_ratio"]``).

    # References
    - Rastegari et al. XNOR-Net. ECCV 2016. https://arxiv.org/abs/1603.05279
    """

    def __init__(self, bits: int = 1, clip_value: float | None = 1.0, **kwargs):
        if not isinstance(bits, int) or bits < 1:
            raise ValueError(f"bits must be a positive integer, got {bits!r}")
        self.bits = bits
        self.clip_value = clip_value
        super().__init__(**kwargs)

    @property
    def precision(self):
        return self.bits

    def call(self, inputs):
        if self.bits == 1:
            outputs = clipped_ste_sign(inputs, clip_value=self.clip_value)
        else:
            outputs = quantize_k(inputs, self.bits, clip_value=self.clip_value)
        return super().call(outputs)

    def get_config(self):
        return {**super().get_config(), "bits": self.bits, "clip_value": self.clip_value}
