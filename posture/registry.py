"""An ordered table of named entries that code can extend: what the finding and metric registries are.

:data:`posture.findings.FINDINGS` and :data:`posture.metric_registry.METRICS` are each one
:class:`Registry`. Readers see a read-only mapping from name to entry, in the order the entries
are reported (the timeline's columns, the report's sections). The built-in entries are given when
the registry is made and stay; :meth:`Registry.register` adds one after them at run time (a test's
throwaway metric, a finding of one's own) and :meth:`Registry.unregister` removes it again.
Everything that lists the entries reads the registry when it runs, never a copy made at import,
so an entry added later is in the CSV, the report and the overlay like the built-in ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Generic, TypeVar, overload

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Mapping[str, T], Generic[T]):
    """Entries by name, in order; built-in ones fixed, others added and removed at run time.

    ``what`` names an entry in errors ("finding", "metric"); ``name_of`` gives an entry's name;
    ``check`` (optional) is called with each new entry and the registry before it is added, and
    raises ``ValueError`` to refuse it (a band name another finding already uses).
    """

    def __init__(
        self,
        what: str,
        entries: Iterable[T],
        name_of: Callable[[T], str],
        check: Callable[[T, Registry[T]], None] | None = None,
    ) -> None:
        self._what = what
        self._name_of = name_of
        self._check = check
        self._entries: dict[str, T] = {}
        self.version = 0  # counts the changes, for tables derived from the entries
        for entry in entries:
            self.register(entry)
        self._builtin = frozenset(self._entries)  # never unregistered
        self.names: Sequence[str] = _Names(self._entries)  # the names, in order, as they are now

    def __getitem__(self, name: str) -> T:
        return self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(tuple(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self._what}: {', '.join(self._entries)})"

    def register(self, entry: T) -> None:
        """Add ``entry`` after the others; ``ValueError`` when its name is taken or ``check`` refuses it."""
        name = self._name_of(entry)
        if name in self._entries:
            raise ValueError(f"there is already a {self._what} {name!r}")
        if self._check is not None:
            self._check(entry, self)
        self._entries[name] = entry
        self.version += 1

    def unregister(self, name: str) -> None:
        """Remove an entry added with :meth:`register` (a built-in one stays: ``ValueError``)."""
        if name in self._builtin:
            raise ValueError(f"the {self._what} {name!r} is built in")
        if name not in self._entries:
            raise KeyError(name)
        del self._entries[name]
        self.version += 1


class _Names(Sequence[str]):
    """A registry's names as a read-only sequence that follows the registry."""

    def __init__(self, entries: Mapping[str, object]) -> None:
        self._entries = entries

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        return tuple(self._entries)[index]

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[str]:
        return iter(tuple(self._entries))

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and not isinstance(other, str) and tuple(self) == tuple(other)

    __hash__ = None  # type: ignore[assignment]  # it changes with the registry

    def __repr__(self) -> str:
        return repr(tuple(self))
