r"""Bi-Real Net's quantizers: ApproxSign activations and magnitude-aware sign weights.

Liu et al. (paper, Sec. 3.2-3.3) keep \(\operatorname{sign}\) in the forward pass and
change the backward pass:

* activations, ApproxSign (Eq. 4): the derivative of the piecewise polynomial
  \(F(x) = -1\ (x < -1);\ 2x + x^2\ (-1 \le x < 0);\ 2x - x^2\ (0 \le x < 1);\ 1\ (x \ge 1)\),

  \[ \frac{\partial F}{\partial x} = \begin{cases} 2 + 2x & -1 \le x < 0 \\
     2 - 2x & 0 \le x < 1 \\ 0 & \text{otherwise} \end{cases}
     \;=\; (2 - 2|x|)\,1_{|x| \le 1}; \]

* weights, magnitude-aware sign (Eq. 6-7):
  \(W_b = \frac{\|W_r\|_1}{n} \operatorname{sign}(W_r)\), one scale per output channel,
  with \(\partial W_b/\partial W_r \approx \frac{\|W_r\|_1}{n} 1_{|W_r| \le 1}\)
  (the scale is treated as a constant in the backward pass).

Larq implements exactly these two rules (``larq.quantizers.approx_sign`` and
``MagnitudeAwareSign``); bnnkit reuses them unchanged and only gives them the Bi-Real
names, documentation and registration below. Reusing Larq's forward graphs is also what
lets LCE fuse a Bi-Real block into one ``LceBconv2d``.

The architecture-level parts of Bi-Real (a real identity shortcut around every binary
3x3 conv, the avg-pool -> real 1x1 conv -> BN downsampling shortcut, the clip
initialization and two-step training) are in :mod:`bnnkit.methods.bireal`.

# References
- Liu, Wu, Luo, Yang, Liu, Cheng. Bi-Real Net: Enhancing the Performance of 1-bit CNNs
  with Improved Representational Capability and Advanced Training Algorithm. ECCV 2018.
  https://arxiv.org/abs/1808.00278
"""

from __future__ import annotations

import larq as lq
import tensorflow as tf

__all__ = ["BiRealApproxSign", "BiRealWeightQuantizer", "approx_sign", "clip_activation"]


approx_sign = lq.quantizers.approx_sign


@lq.utils.register_alias("bireal_approx_sign")
@lq.utils.register_keras_custom_object
class BiRealApproxSign(lq.quantizers.ApproxSign):
    r"""Bi-Real ApproxSign: \(\operatorname{sign}(x)\) forward,
    \((2 - 2|x|) 1_{|x| \le 1}\) backward (Larq's ``approx_sign``).

    # Arguments
        metrics: Larq training metrics to add (e.g. ``["flip_ratio"]``).

    # References
    - Liu et al. Bi-Real Net. ECCV 2018. https://arxiv.org/abs/1808.00278
    """

    precision = 1


@lq.utils.register_alias("bireal_weight")
@lq.utils.register_keras_custom_object
class BiRealWeightQuantizer(lq.quantizers.MagnitudeAwareSign):
    r"""Bi-Real magnitude-aware sign: \(W_b = \operatorname{mean}|W_r| \cdot
    \operatorname{sign}(W_r)\) per output channel, gradient
    \(\operatorname{mean}|W_r| \cdot 1_{|W_r| \le 1}\) (Larq's ``MagnitudeAwareSign``).

    # Arguments
        clip_value: half-width of the straight-through window; ``None``: no clipping.
        metrics: Larq training metrics to add (e.g. ``["flip_ratio"]``).

    # References
    - Liu et al. Bi-Real Net. ECCV 2018. https://arxiv.org/abs/1808.00278
    """

    precision = 1


def clip_activation(x: tf.Tensor) -> tf.Tensor:
    r"""\(\operatorname{clip}(-1, x, 1)\): the activation of Bi-Real's real-valued
    initialization network (Sec. 3.4), in place of ReLU, so that the real network's
    activations already live where ``sign`` will put them."""
    return tf.clip_by_value(x, -1.0, 1.0)
