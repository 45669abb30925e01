"""Convolutions whose scales depend on the input and are applied after the binary conv.

* :class:`XnorConv2D`: XNOR-Net, with the K map;
* :class:`HorqConv2D`: HORQ, k binary convs on residual signs, one scale map (or scalar)
  per term;
* :class:`ScaledBinaryConv2D`: their shared base; :func:`binary_pad_values`: the padding
  value every binary conv of bnnkit uses;

and :class:`ChannelScale`, a non-negative scale per channel (SBD's D between two binary
layers, BWNH's trainable hashed scale).
The convolutions take every argument of ``larq.layers.QuantConv2D``. Every layer here is
registered for Keras serialization: importing this package is what lets a saved model reload
(:mod:`bnnkit.serialization` does).
"""

from bnnkit.layers.base import ScaledBinaryConv2D, binary_pad_values
from bnnkit.layers.horq import HorqConv2D
from bnnkit.layers.scale import ChannelScale
from bnnkit.layers.xnor import XnorConv2D

__all__ = ["ChannelScale", "HorqConv2D", "ScaledBinaryConv2D", "XnorConv2D", "binary_pad_values"]
