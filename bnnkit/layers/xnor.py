r"""XNOR-Net's binary convolution: sign inputs, BWN weights, K map after the conv.

\[ Y = \big(\operatorname{sign}(I) \circledast \operatorname{sign}(W)\big) \odot K \alpha,
   \qquad K = \operatorname{mean}_c|I| * k \]

(paper, Sec. 3.2, Eq. 11). See :mod:`bnnkit.quantizers.xnor` for the formulas and
gradients.

# References
- Rastegari et al. XNOR-Net. ECCV 2016. https://arxiv.org/abs/1603.05279
"""

from __future__ import annotations

import larq as lq

from bnnkit.layers.base import ScaledBinaryConv2D
from bnnkit.quantizers.bwn import BWNWeightQuantizer
from bnnkit.quantizers.xnor import XnorInputQuantizer, binarize_gradient, xnor_k_map

__all__ = ["XnorConv2D"]


@lq.utils.register_keras_custom_object
class XnorConv2D(ScaledBinaryConv2D):
    r"""XNOR-Net 2D convolution: ``QuantConv2D`` plus the input scale map K.

    Takes every argument of ``larq.layers.QuantConv2D`` (and so of
    ``tf.keras.layers.Conv2D``); the defaults of ``input_quantizer`` and
    ``kernel_quantizer`` are the paper's, and two arguments are added:

    # Arguments
        input_scale: multiply the binary conv output by XNOR-Net's
            \(K = \operatorname{mean}_c|I| * k\) (the paper's configuration: True).
            ``False`` gives "XNOR without K", \((H \circledast B)\alpha\).
        binary_gradient: binarize the gradient of the conv output in the backward pass
            (\(\max|g| \operatorname{sign}(g)\), Sec. 4.3).

    Bias and activation, if any, come after the K multiplication. Use
    ``pad_values=1.0`` with ``padding="same"`` so that LCE can make the conv an
    ``LceBconv2d`` (zero is not a binary value); K always uses zero padding of
    \(A\), as the paper's convolution with \(k\).

    # References
    - Rastegari et al. XNOR-Net. ECCV 2016. https://arxiv.org/abs/1603.05279
    """

    def __init__(
        self,
        filters,
        kernel_size,
        *args,
        input_scale: bool = True,
        binary_gradient: bool = False,
        **kwargs,
    ):
        kwargs.setdefault("input_quantizer", XnorInputQuantizer())
        kwargs.setdefault("kernel_quantizer", BWNWeightQuantizer())
        self.input_scale = bool(input_scale)
        self.binary_gradient = bool(binary_gradient)
        super().__init__(filters, kernel_size, *args, **kwargs)

    def scaled_outputs(self, inputs):
        outputs = self.binary_conv(inputs)
        if self.binary_gradient:
            outputs = binarize_gradient(outputs)
        if self.input_scale:
            outputs = outputs * xnor_k_map(
                inputs, self.kernel_size, self.strides, self.padding, self.dilation_rate
            )
        return outputs

    def get_config(self):
        return {
            **super().get_config(),
            "input_scale": self.input_scale,
            "binary_gradient": self.binary_gradient,
        }
