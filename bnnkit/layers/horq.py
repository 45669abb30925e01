r"""HORQ's convolution: k binary convolutions on the residual signs, scaled after.

\[ Y = \sum_{i=1}^{k} \beta_i \, \big(H_i \circledast \alpha B\big) \]

with \(H_i, \beta_i\) from :func:`bnnkit.quantizers.horq_terms` (one \(\beta_i\) per
sample) and \(\alpha B\) the binary weights (BWN by default). Every term is a pure binary
conv fed directly by a sign, which LCE turns into an ``LceBconv2d``; the k terms share
one weight tensor.

# References
- Li et al. Performance Guaranteed Network Acceleration via High-Order Residual
  Quantization. ICCV 2017. https://arxiv.org/abs/1708.08687
"""

from __future__ import annotations

import larq as lq
import tensorflow as tf

from bnnkit.layers.xnor import _bias_and_activation, _conv_without_bias_and_activation
from bnnkit.quantizers.bwn import BWNWeightQuantizer
from bnnkit.quantizers.horq import _check_order, horq_terms

__all__ = ["HorqConv2D"]


@lq.utils.register_keras_custom_object
class HorqConv2D(lq.layers.QuantConv2D):
    r"""Order-k HORQ 2D convolution (``QuantConv2D``'s arguments, plus ``order``).

    The inputs are expanded as \(X \approx \sum_i \beta_i H_i\) inside the layer, so
    ``input_quantizer`` must stay ``None``; ``kernel_quantizer`` defaults to BWN's
    \(\alpha \operatorname{sign}(W)\).

    # Arguments
        order: number k of residual binary terms (1: XNOR-Net sign with a per-sample
            scale \(\beta_1 = \operatorname{mean}|X|\)).
        clip_value: half-width of the straight-through window of every sign.

    Bias and activation, if any, come after the sum. Use ``pad_values=1.0`` with
    ``padding="same"`` for LCE.

    # References
    - Li et al. HORQ. ICCV 2017. https://arxiv.org/abs/1708.08687
    """

    def __init__(
        self, filters, kernel_size, *args, order: int = 2, clip_value: float | None = 1.0, **kwargs
    ):
        _check_order(order)
        if kwargs.get("input_quantizer") is not None:
            raise ValueError(
                "HorqConv2D binarizes its inputs itself (order-k residual "
                "signs); leave input_quantizer=None"
            )
        kwargs.setdefault("kernel_quantizer", BWNWeightQuantizer())
        self.order = order
        self.clip_value = clip_value
        super().__init__(filters, kernel_size, *args, **kwargs)

    def call(self, inputs):
        terms = []
        for beta, h in horq_terms(inputs, self.order, self.clip_value):
            y = _conv_without_bias_and_activation(self, lq.layers.QuantConv2D, h)
            terms.append(beta * y)
        return _bias_and_activation(self, tf.add_n(terms))

    def get_config(self):
        return {**super().get_config(), "order": self.order, "clip_value": self.clip_value}
