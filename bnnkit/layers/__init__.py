"""Convolutions whose scales depend on the input and are applied after the binary conv.

* :class:`XnorConv2D`: XNOR-Net, with the K map;
* :class:`HorqConv2D`: HORQ, k binary convs on residual signs.

Both take every argument of ``larq.layers.QuantConv2D`` and are registered for Keras
serialization.
"""

from bnnkit.layers.horq import HorqConv2D
from bnnkit.layers.xnor import XnorConv2D

__all__ = ["XnorConv2D", "HorqConv2D"]
