"""`LocalCache`: entries expire `ttl` seconds after their last write; a full cache drops the
entry written longest ago; expired entries answer nothing, whichever way they are asked for."""

from __future__ import annotations

import pytest

from personalize_sdk.local_cache import LocalCache
from tests.helpers import Clock


def test_an_entry_lives_ttl_seconds_from_its_last_write():
    clock = Clock()
    cache: LocalCache[str, str] = LocalCache(10, 30.0, timer=clock)
    cache["a"] = "1"
    clock.now += 20
    assert cache.get("a") == "1"
    cache["a"] = "2"  # written again: thirty seconds from now
    clock.now += 29.8
    assert cache.get("a") == "2"
    assert "a" in cache
    clock.now += 0.2
    assert "a" not in cache
    assert cache.get("a") is None
    assert cache.get("a", "default") == "default"
    assert len(cache) == 0  # the expired entry left when it was looked up


def test_falsy_values_are_values():
    cache: LocalCache[str, str] = LocalCache(10, 30.0, timer=Clock())
    cache["linked-to-nobody"] = ""
    assert cache.get("linked-to-nobody") == ""
    assert cache.get("unknown") is None


def test_a_full_cache_drops_the_entry_written_longest_ago():
    cache: LocalCache[str, int] = LocalCache(2, 30.0, timer=Clock())
    cache["a"] = 1
    cache["b"] = 2
    assert cache.get("a") == 1  # a read does not keep it
    cache["b"] = 3  # a write does: b is now the newest
    cache["c"] = 4
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (None, 3, 4)
    assert len(cache) == 2


def test_setdefault_pop_items_and_clear_ignore_expired_entries():
    clock = Clock()
    cache: LocalCache[str, int] = LocalCache(10, 30.0, timer=clock)
    cache["old"] = 1
    clock.now += 15
    cache["new"] = 2
    assert cache.setdefault("new", 5) == 2
    assert cache.setdefault("other", 3) == 3
    assert [key for key, _ in cache.items()] == ["old", "new", "other"]
    clock.now += 15  # "old" expires
    assert [key for key, _ in cache.items()] == ["new", "other"]
    assert cache.setdefault("old", 7) == 7  # expired: written afresh
    assert cache.pop("new") == 2
    assert cache.pop("new", -1) == -1
    clock.now += 30
    assert cache.pop("other", -1) == -1  # there, but expired
    cache.clear()
    assert len(cache) == 0 and list(cache.items()) == []


def test_items_is_a_snapshot_the_cache_may_change_under():
    cache: LocalCache[str, int] = LocalCache(10, 30.0, timer=Clock())
    for name in "abc":
        cache[name] = 0
    for key, _ in cache.items():
        cache.pop(key)
    assert len(cache) == 0


@pytest.mark.parametrize("maxsize, ttl", [(0, 30.0), (10, 0.0), (10, -1.0)])
def test_bad_bounds_are_refused(maxsize, ttl):
    with pytest.raises(ValueError, match="expected maxsize"):
        LocalCache(maxsize, ttl)
