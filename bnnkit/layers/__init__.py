"""Convolutions whose scales depend on the input and are applied after the binary conv.

* :class:`XnorConv2D`: XNOR-Net, with the K map;
* :class:`HorqConv2D`: HORQ, k binary convs on residual signs;

and :class:`ChannelScale`, SBD's non-negative scale per channel between two binary layers.
The convolutions take every argument of ``larq.layers.QuantConv2D``. Every layer here is
registered for Keras serialization: importing this package is what lets a saved model reload
(:mod:`bnnkit.serialization` does).
"""

from bnnkit.layers.horq import HorqConv2D
from bnnkit.layers.scale import ChannelScale
from bnnkit.layers.xnor import XnorConv2D

__all__ = ["ChannelScale", "HorqConv2D", "XnorConv2D"]
