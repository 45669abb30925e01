r"""The shape XNOR-Net's and HORQ's convolutions share: binary convs scaled after the conv.

Both papers multiply the output of a pure binary convolution by a real scale that depends
on the input (XNOR-Net's \(K\), HORQ's \(\beta_i\)). Applied *after* the conv, the scale
leaves the conv itself a sign-by-sign product, which LCE turns into an ``LceBconv2d``:

\[ Y = f\Big(\sum_i S_i(X) \odot \big(H_i(X) \circledast \alpha B\big) + b\Big) \]

:class:`ScaledBinaryConv2D` runs Larq's quantize -> pad -> conv for each term with the bias
and activation switched off, lets the subclass combine the terms, and adds the bias and
activation once at the end.
"""

from __future__ import annotations

import larq as lq
import tensorflow as tf

from bnnkit.quantizers.xnor import receptive_field_mean

__all__ = ["ScaledBinaryConv2D", "binary_pad_values"]


def binary_pad_values(padding: str) -> float:
    """The ``pad_values`` of a binary conv: +1 for "same" padding (0 is not a binary value,
    and LCE needs +-1 padding to keep the conv an ``LceBconv2d``), 0 for "valid"."""
    return 1.0 if padding == "same" else 0.0


class ScaledBinaryConv2D(lq.layers.QuantConv2D):
    """Base of the convolutions whose input-dependent scales are applied after the conv.

    Takes every argument of ``larq.layers.QuantConv2D``. Subclasses implement
    :meth:`scaled_outputs` (the sum of scaled binary conv outputs, before bias and
    activation) using :meth:`binary_conv` and :meth:`field_mean`. The base itself is never
    in a model, so it is not registered for serialization (``abstract_base``).
    """

    abstract_base = True  # read from the class's own __dict__: subclasses are concrete

    def __init__(self, filters, kernel_size, *args, **kwargs):
        super().__init__(filters, kernel_size, *args, **kwargs)
        name = type(self).__name__
        if self.data_format != "channels_last":
            raise ValueError(f"{name} supports data_format='channels_last' only")
        if self.groups != 1:
            raise ValueError(f"{name} supports groups=1 only")

    def binary_conv(self, inputs):
        """Larq's ``QuantConv2D.call`` (input quantizer -> pad -> conv with the quantized
        kernel) with the bias and activation switched off."""
        with (
            lq.utils.patch_object(self, "use_bias", False),
            lq.utils.patch_object(self, "activation", None),
        ):
            return lq.layers.QuantConv2D.call(self, inputs)

    def field_mean(self, a):
        r"""\(A * k\): the mean of the one-channel map ``a`` over each receptive field of
        this conv (its kernel size, strides, dilation and padding; zero padding)."""
        return receptive_field_mean(
            a, self.kernel_size, self.strides, self.padding, self.dilation_rate
        )

    def scaled_outputs(self, inputs):
        raise NotImplementedError

    def call(self, inputs):
        outputs = self.scaled_outputs(inputs)
        if self.use_bias:
            outputs = tf.nn.bias_add(outputs, self.bias)
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs
