"""Which function words which refusal: each sentence module registers its own with ``@words``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

Wording = TypeVar("Wording", bound=Callable[[Any], str])

WORDERS: dict[type[BaseException], Callable[[Any], str]] = {}


def words(*classes: type[BaseException]) -> Callable[[Wording], Wording]:
    """Register the decorated function as the sentence of ``classes`` (and their subclasses
    that have none of their own)."""

    def register(function: Wording) -> Wording:
        for cls in classes:
            if cls in WORDERS:
                raise ValueError(f"{cls.__name__} is worded twice")
            WORDERS[cls] = function
        return function

    return register


def worder(error: BaseException) -> Callable[[Any], str] | None:
    """The most specific wording registered for ``error``'s class."""
    for cls in type(error).__mro__:
        if cls in WORDERS:
            return WORDERS[cls]
    return None
