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


# -- entries to keep ----------------------------------------------------------------------------


def _keeping(maxsize: int, clock: Clock) -> LocalCache[str, list[str]]:
    """Values are lists; a non-empty one is to be kept (a copy with unwritten events)."""
    return LocalCache(maxsize, 30.0, timer=clock, keep=bool)


def test_an_entry_to_keep_outlives_its_ttl_until_released():
    clock = Clock()
    cache = _keeping(10, clock)
    cache["a"], cache["b"] = ["event"], []
    clock.now += 31
    assert cache.get("a") == ["event"]
    assert "a" in cache and "b" not in cache
    assert cache.get("b") is None
    assert list(cache.items()) == [("a", ["event"])]
    assert cache.get("a") == ["event"]  # held, asked again
    cache.release("a")
    assert cache.get("a") is None and "a" not in cache and len(cache) == 0


def test_an_entry_to_keep_is_held_when_the_cache_is_full_and_returns_when_written():
    clock = Clock()
    cache = _keeping(2, clock)
    cache["a"] = ["event"]
    cache["b"], cache["c"], cache["d"] = [], [], []
    assert cache.get("a") == ["event"]  # pushed out of the two, held
    assert cache.get("b") is None  # not to keep: gone
    assert len(cache) == 3 and [key for key, _ in cache.items()] == ["a", "c", "d"]
    cache["a"] = ["event", "another"]  # written again: back among the two, the oldest leaves
    assert cache.get("a") == ["event", "another"]
    assert cache.get("c") is None and len(cache) == 2
    cache["e"], cache["f"] = [], []
    cache.release("a")  # nothing to keep it for any more: a held entry leaves
    assert cache.get("a") is None and len(cache) == 2


def test_a_value_that_need_not_be_kept_any_more_leaves_like_any_other():
    clock = Clock()
    cache = _keeping(10, clock)
    value = ["event"]
    cache["a"] = value
    value.clear()  # its events written: the owner's predicate now says no
    clock.now += 31
    assert cache.get("a") is None and len(cache) == 0


def test_pop_and_clear_reach_held_entries():
    clock = Clock()
    cache = _keeping(1, clock)
    cache["a"], cache["b"] = ["event"], ["other"]
    assert cache.pop("a") == ["event"] and cache.get("a") is None
    clock.now += 31
    assert cache.pop("b") == ["other"]  # expired, but to keep
    cache["c"], cache["d"] = ["event"], ["other"]
    cache.clear()
    assert len(cache) == 0 and cache.get("c") is None
