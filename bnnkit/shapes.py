"""Keras' 2-D size arguments (``kernel_size``, ``strides``, ``dilation_rate``): an int or a
pair, as a pair."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["pair"]


def pair(value: int | Iterable[int]) -> tuple[int, int]:
    """``3 -> (3, 3)``, ``(1, 2) -> (1, 2)``."""
    if isinstance(value, int):
        return (value, value)
    first, second = (int(v) for v in value)
    return (first, second)
