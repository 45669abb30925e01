r"""HORQ's convolution: k binary convolutions on the residual signs, scaled after.

\[ Y = \sum_{i=1}^{k} \beta_i \odot \big(H_i \circledast \alpha B\big) \]

with \(H_i = \operatorname{sign}(R_{i-1})\) from :func:`bnnkit.quantizers.horq_terms` and
\(\alpha B\) the binary weights (BWN by default). Every term is a pure binary conv fed
directly by a sign, which LCE turns into an ``LceBconv2d``; the k terms share one weight
tensor. The scale of the i-th term (option ``beta``):

* ``"map"`` (default): \(\beta_i = A_i * k\), \(A_i = \operatorname{mean}_c|R_{i-1}|\),
  \(k\) the box filter of this conv's geometry, like XNOR-Net's \(K\): one scale per
  output position (receptive field), as the paper's per-column quantization;
* ``"sample"``: \(\beta_i = \operatorname{mean}|R_{i-1}|\), one scalar per sample: exact
  through the conv, cheaper after it, coarser than the paper (a deployment trade-off).

See :mod:`bnnkit.quantizers.horq` for the recursion, the residual identities and the
gradient.

# References
- Li, Ni, Zhang, Yang, Gao. Performance Guaranteed Network Acceleration via High-Order
  Residual Quantization. ICCV 2017 (Sec. 3.2-3.3). https://arxiv.org/abs/1708.08687
"""

from __future__ import annotations

import larq as lq

from bnnkit.layers.base import ScaledBinaryConv2D
from bnnkit.quantizers.bwn import BWNWeightQuantizer
from bnnkit.quantizers.horq import _check_order, horq_terms

__all__ = ["BETA_SCALES", "HorqConv2D"]
#: ``beta`` option -> the granularity of :func:`horq_terms`.
BETA_SCALES = {"map": "pixel", "sample": "sample"}


@lq.utils.register_keras_custom_object
class HorqConv2D(ScaledBinaryConv2D):
    r"""Order-k HORQ 2D convolution (``QuantConv2D``'s arguments, plus three).

    The inputs are expanded as \(X \approx \sum_i s_i H_i\) inside the layer, so
    ``input_quantizer`` must stay ``None``; ``kernel_quantizer`` defaults to BWN's
    \(\alpha \operatorname{sign}(W)\).

    # Arguments
        order: number k of residual binary terms.
        clip_value: half-width of the straight-through window of every sign.
        beta: ``"map"`` (one scale per output position, \(\beta_i = A_i * k\); the
            paper's granularity) or ``"sample"`` (one per sample).

    Bias and activation, if any, come after the sum. Use ``pad_values=1.0`` with
    ``padding="same"`` for LCE.

    # References
    - Li et al. HORQ. ICCV 2017. https://arxiv.org/abs/1708.08687
    """

    def __init__(
        self,
        filters,
        kernel_size,
        *args,
        order: int = 2,
        clip_value: float | None = 1.0,
        beta: str = "map",
        **kwargs,
    ):
        _check_order(order)
        if beta not in BETA_SCALES:
            raise ValueError(
                f"HorqConv2D beta must be one of {', '.join(BETA_SCALES)}, got {beta!r}"
            )
        if kwargs.get("input_quantizer") is not None:
            raise ValueError(
                "HorqConv2D binarizes its inputs itself (order-k residual "
                "signs); leave input_quantizer=None"
            )
        kwargs.setdefault("kernel_quantizer", BWNWeightQuantizer())
        self.order = order
        self.clip_value = clip_value
        self.beta = beta
        super().__init__(filters, kernel_size, *args, **kwargs)

    @classmethod
    def from_config(cls, config):
        # Models saved before the option existed used one beta per sample.
        return cls(**{"beta": "sample", **config})

    def scales_and_signs(self, inputs):
        r"""``[(beta_i, H_i)]``: the scale that multiplies the i-th conv output
        (``[N, H', W', 1]`` for ``"map"``, ``[N, 1, 1, 1]`` for ``"sample"``) and its sign."""
        terms = horq_terms(inputs, self.order, self.clip_value, BETA_SCALES[self.beta])
        if self.beta == "map":
            return [(self.field_mean(a), h) for a, h in terms]
        return terms

    def scaled_outputs(self, inputs):
        outputs = None
        for beta, h in self.scales_and_signs(inputs):
            term = beta * self.binary_conv(h)
            outputs = term if outputs is None else outputs + term
        return outputs

    def get_config(self):
        return {
            **super().get_config(),
            "order": self.order,
            "clip_value": self.clip_value,
            "beta": self.beta,
        }
