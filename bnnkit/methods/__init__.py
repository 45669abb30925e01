"""Binarization methods, one module per paper, all registered by name.

    from bnnkit.methods import get_method
    method = get_method("bnn")

A method is registered when its module is imported, below.
"""

from bnnkit.methods.base import REGISTRY, Method, get_method, register_method

# Importing a method's module registers it; the registry keeps this order (the report's).
# isort: off
from bnnkit.methods import plain  # noqa: F401  (float and bnn)
from bnnkit.methods import bwn, xnor, horq, bireal  # noqa: F401
from bnnkit.methods import bwnh, sbd  # noqa: F401  (data-driven)
# isort: on

__all__ = ["REGISTRY", "Method", "available_methods", "get_method", "register_method"]


def available_methods() -> list[str]:
    return sorted(REGISTRY)
