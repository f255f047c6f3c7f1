"""Named registries (objectives, generators, ...) with helpful errors.

Modelled on timm's registry: an explicit ``@REG.register("name")`` decorator, ``get(name)`` that
fails listing every valid name, and ``names()`` in registration order.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from tsdividend.errors import InputError

T = TypeVar("T")


class UnknownNameError(KeyError, InputError):
    """A name no registry entry has. A ``KeyError`` (a failed lookup) and a ``ValueError`` (bad
    user input: the CLI prints it as one line); ``str()`` is the message, without quotes."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class Registry(Generic[T]):
    """A mapping from names to objects, filled by a decorator.

    Args:
        kind: what the registry holds, used in error messages (e.g. ``"objective"``).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator registering ``obj`` under ``name``; a duplicate name is an error."""

        def deco(obj: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._items[name] = obj
            return obj

        return deco

    def get(self, name: str) -> T:
        """Return the object registered as ``name``.

        Raises:
            UnknownNameError: naming the unknown value and listing the valid ones.
        """
        try:
            return self._items[name]
        except KeyError:
            valid = ", ".join(self._items) or "(none registered)"
            raise UnknownNameError(f"unknown {self.kind} {name!r}; valid: {valid}") from None

    def names(self) -> list[str]:
        """Registered names in registration order."""
        return list(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


def lazy_exports(
    package: str, table: dict[str, str], exported: list[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module ``__getattr__`` / ``__dir__`` (PEP 562) that import a name from its submodule on
    first use, so a package can re-export torch-using functions while its import stays light.

    Args:
        package: the package's ``__name__``.
        table: exported name -> submodule of ``package`` that defines it.
        exported: the package's ``__all__``.
    """

    def getattr_(name: str) -> Any:
        if name in table:
            return getattr(importlib.import_module(f"{package}.{table[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def dir_() -> list[str]:
        return sorted(exported)

    return getattr_, dir_
