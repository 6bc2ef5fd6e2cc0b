"""A small bounded cache whose entries expire: for answers that are slow to get from a
provider (cost previews, account balances) and fine to reuse for a while.

Bounded both ways, because keys come from what members type: at most ``max_entries`` entries
(the oldest written goes first) and none older than its time to live. The clock is injected so
tests can step over a TTL without sleeping.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
D = TypeVar("D")


class TTLCache(Generic[K, V]):
    """``max_entries`` values at most, each fresh for ``ttl`` seconds (or its own ``ttl``)."""

    def __init__(
        self,
        max_entries: int,
        ttl: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1 or ttl <= 0:
            raise ValueError("a TTLCache needs max_entries >= 1 and ttl > 0")
        self.max_entries = max_entries
        self.ttl = ttl
        self._clock = clock
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()  # key -> (expires, value)

    def get(self, key: K, default: D = None) -> V | D:  # type: ignore[assignment]
        """The fresh value for ``key``, or ``default`` when absent or expired (then dropped)."""
        entry = self._entries.get(key)
        if entry is None:
            return default
        expires, value = entry
        if self._clock() >= expires:
            del self._entries[key]
            return default
        return value

    def __contains__(self, key: object) -> bool:
        marker = object()
        return self.get(key, marker) is not marker  # type: ignore[arg-type]

    def set(self, key: K, value: V, *, ttl: float | None = None) -> None:
        """Store ``value``, fresh for ``ttl`` seconds (default: the cache's). Writing makes the
        entry the newest; past ``max_entries`` the expired go first, then the oldest."""
        self._entries.pop(key, None)
        self._entries[key] = (self._clock() + (self.ttl if ttl is None else ttl), value)
        if len(self._entries) > self.max_entries:
            self._drop_expired()
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def discard(self, key: K) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        """Entries held, expired ones not yet dropped included."""
        return len(self._entries)

    def _drop_expired(self) -> None:
        now = self._clock()
        for key in [k for k, (expires, _v) in self._entries.items() if now >= expires]:
            del self._entries[key]
