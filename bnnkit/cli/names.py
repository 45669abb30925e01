"""Registry names for ``--help`` and argparse ``choices``, looked up only when needed.

The method, architecture and strategy registries live in modules that import TensorFlow.
Building the parser must not: ``bnnkit --help`` and ``bnnkit predict`` stay fast and work
without it. A :class:`RegistryNames` loads the names on first use (printing help, checking
a value), so the registry stays the single source of truth.

    parser.add_argument("--strategy", choices=RegistryNames(load_strategies))
    add_listed_argument(parser, "--method", RegistryNames(load_methods), default="bnn")
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, overload

__all__ = ["RegistryNames", "add_listed_argument"]


class RegistryNames(Sequence[str]):
    """The names ``load()`` returns, loaded once, on first use."""

    def __init__(self, load: Callable[[], Iterable[str]]) -> None:
        self._load = load
        self._names: tuple[str, ...] | None = None

    def names(self) -> tuple[str, ...]:
        if self._names is None:
            self._names = tuple(self._load())
        return self._names

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        return self.names()[index]

    def __len__(self) -> int:
        return len(self.names())

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __contains__(self, name: object) -> bool:
        return name in self.names()

    def __str__(self) -> str:
        return ", ".join(self.names())


def add_listed_argument(
    parser: argparse.ArgumentParser, flag: str, names: RegistryNames, **kwargs: Any
) -> argparse.Action:
    """An option whose help lists ``names`` (when help is printed), without ``choices``:
    the value is checked where it is used, whose error lists the names too."""
    help_text = kwargs.pop("help", "")
    action = parser.add_argument(flag, help=f"one of: %(names)s{help_text}", **kwargs)
    action.names = names  # type: ignore[attr-defined]  # argparse expands %(names)s from vars(action)
    return action
