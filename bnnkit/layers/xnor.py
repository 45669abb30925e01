r"""XNOR-Net's binary convolution: sign inputs, BWN weights, K map after the conv.

\[ Y = \big(\operatorname{sign}(I) \circledast \operatorname{sign}(W)\big) \odot K \alpha,
   \qquad K = \operatorname{mean}_c|I| * k \]

See :mod:`bnnkit.quantizers.xnor` for the formulas and gradients.

# References
- Rastegari et al. XNOR-Net. ECCV 2016. https://arxiv.org/abs/1603.05279
"""

from __future__ import annotations

import larq as lq
import tensorflow as tf

from bnnkit.quantizers.bwn import BWNWeightQuantizer
from bnnkit.quantizers.xnor import XnorInputQuantizer, binarize_gradient, xnor_k_map

__all__ = ["XnorConv2D"]


def _conv_without_bias_and_activation(layer, parent, inputs):
    """Run ``parent.call`` (Larq's quantize -> pad -> conv) with bias/activation off."""
    with (
        lq.utils.patch_object(layer, "use_bias", False),
        lq.utils.patch_object(layer, "activation", None),
    ):
        return parent.call(layer, inputs)


def _bias_and_activation(layer, outputs):
    if layer.use_bias:
        outputs = tf.nn.bias_add(outputs, layer.bias)
    if layer.activation is not None:
        outputs = layer.activation(outputs)
    return outputs


@lq.utils.register_keras_custom_object
class XnorConv2D(lq.layers.QuantConv2D):
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
        if self.data_format != "channels_last":
            raise ValueError("XnorConv2D supports data_format='channels_last' only")
        if self.groups != 1:
            raise ValueError("XnorConv2D supports groups=1 only")

    def call(self, inputs):
        outputs = _conv_without_bias_and_activation(self, lq.layers.QuantConv2D, inputs)
        if self.binary_gradient:
            outputs = binarize_gradient(outputs)
        if self.input_scale:
            outputs = outputs * xnor_k_map(
                inputs, self.kernel_size, self.strides, self.padding, self.dilation_rate
            )
        return _bias_and_activation(self, outputs)

    def get_config(self):
        return {
            **super().get_config(),
            "input_scale": self.input_scale,
            "binary_gradient": self.binary_gradient,
        }
