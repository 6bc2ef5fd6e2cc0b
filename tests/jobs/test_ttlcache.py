"""TTLCache: entries expire, the cache stays within its size, and short-lived entries (failed
lookups) go first."""

from __future__ import annotations

import pytest

from jobs.ttlcache import TTLCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_entries_expire_after_their_ttl():
    clock = Clock()
    cache: TTLCache[str, int] = TTLCache(4, 60.0, clock=clock)
    cache.set("a", 1)
    clock.now += 59.9
    assert cache.get("a") == 1 and "a" in cache
    clock.now += 0.1
    assert cache.get("a") is None and "a" not in cache
    assert len(cache) == 0  # an expired entry is dropped when met


def test_an_entry_can_have_its_own_shorter_ttl():
    clock = Clock()
    cache: TTLCache[str, str] = TTLCache(4, 600.0, clock=clock)
    cache.set("failed", "x", ttl=30.0)
    cache.set("ok", "y")
    clock.now += 30.0
    assert "failed" not in cache
    assert cache.get("ok") == "y"


def test_size_is_bounded_oldest_written_goes_first():
    clock = Clock()
    cache: TTLCache[int, int] = TTLCache(3, 60.0, clock=clock)
    for key in range(5):
        cache.set(key, key * 10)
        clock.now += 1
    assert len(cache) == 3
    assert [cache.get(k) for k in range(5)] == [None, None, 20, 30, 40]
    cache.set(2, 21)  # rewriting makes it the newest
    cache.set(5, 50)
    assert 3 not in cache and cache.get(2) == 21


def test_expired_entries_are_evicted_before_fresh_ones():
    clock = Clock()
    cache: TTLCache[str, int] = TTLCache(2, 60.0, clock=clock)
    cache.set("old-but-long", 1)
    cache.set("failed", 2, ttl=5.0)
    clock.now += 10
    cache.set("new", 3)
    assert cache.get("old-but-long") == 1 and cache.get("new") == 3


def test_none_values_are_told_apart_from_misses():
    cache: TTLCache[str, float | None] = TTLCache(2, 60.0, clock=Clock())
    cache.set("no balance api", None)
    assert "no balance api" in cache
    assert "never asked" not in cache
    marker = object()
    assert cache.get("no balance api", marker) is None
    assert cache.get("never asked", marker) is marker


def test_nonsense_bounds_are_refused():
    with pytest.raises(ValueError):
        TTLCache(0, 60.0)
    with pytest.raises(ValueError):
        TTLCache(10, 0.0)
