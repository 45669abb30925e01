"""A named, ordered registry: the single source of truth for a kind of thing.

    from bnnkit.registry import Registry

    TARGETS = Registry("target", [Target("lce", ...), Target("int8", ...)])
    TARGETS.get("lce")        # the entry
    TARGETS.get("tpu")        # UnsupportedModelError: unknown target 'tpu'; choose one of: ...
    TARGETS.names()           # ("lce", "int8"): CLI choices, error messages, test parameters

Entries are objects with a ``name``; the registry keeps them in the order they were added,
and that order means something where the kind needs one (e.g. the runtimes' preference
order). Adding an entry is the only change needed to make a new name known everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Generic, Protocol, TypeVar

from bnnkit.errors import UnsupportedModelError

__all__ = ["Named", "Registry"]


class Named(Protocol):
    """What a registry entry needs: a unique name."""

    @property
    def name(self) -> str: ...


T = TypeVar("T", bound=Named)


class Registry(Generic[T]):
    """Entries of one ``kind`` (``"target"``, ``"runtime"``...), by name, in order.

    # Arguments
        kind: what the entries are, for error messages.
        entries: the initial entries, in order.
    """

    def __init__(self, kind: str, entries: Iterable[T] = ()) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}
        for entry in entries:
            self.add(entry)

    def add(self, entry: T) -> T:
        """Append ``entry``; a name already registered is a programming error."""
        if entry.name in self._entries:
            raise ValueError(f"{self.kind} {entry.name!r} is already registered")
        self._entries[entry.name] = entry
        return entry

    def remove(self, name: str) -> T:
        """Take the entry called ``name`` out (e.g. a plug-in unloading); return it."""
        entry = self.get(name)
        del self._entries[name]
        return entry

    def get(self, name: str) -> T:
        """The entry called ``name``.

        # Raises
            UnsupportedModelError: no such entry; the message lists the registered names.
        """
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            raise UnsupportedModelError(
                f"unknown {self.kind} {name!r}; choose one of: {', '.join(self._entries)}"
            ) from None

    def names(self) -> tuple[str, ...]:
        """The registered names, in order."""
        return tuple(self._entries)

    def __iter__(self) -> Iterator[T]:
        return iter(tuple(self._entries.values()))

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {list(self._entries)})"
