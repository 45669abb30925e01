"""Binarization methods, one module per paper, all registered by name.

    from bnnkit.methods import get_method
    method = get_method("bnn")
"""

from bnnkit.methods.base import REGISTRY, Method, get_method, register_method
from bnnkit.methods import plain  # noqa: F401  (registers float and bnn)
from bnnkit.methods import bwn, xnor, horq, bireal  # noqa: F401,E401
from bnnkit.methods import bwnh, sbd  # noqa: F401,E401  (data-driven)

__all__ = ["REGISTRY", "Method", "get_method", "register_method", "available_methods"]


def available_methods() -> list[str]:
    return sorted(REGISTRY)
