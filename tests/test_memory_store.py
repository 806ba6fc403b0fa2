"""MemoryStore: bounded LRU of profiles and links."""

from __future__ import annotations

import pytest

from personalize_sdk import MemoryStore, Personalizer, Profile
from personalize_sdk import events as ev


def put(store: MemoryStore, key: str) -> None:
    store.update(key, lambda current: current or Profile(visitor_id=key))


def test_least_recently_used_profiles_are_evicted_at_the_cap():
    store = MemoryStore(max_profiles=3)
    for key in ("a", "b", "c"):
        put(store, key)
    put(store, "a")  # a is now the most recently used
    put(store, "d")
    assert store.load("b") is None
    assert all(store.load(k) is not None for k in ("a", "c", "d"))
    assert len(store) == 3
    assert store.evictions == 1


def test_the_cap_comes_from_settings_through_the_facade():
    pz = Personalizer({"settings": {"max_profiles": 10}})
    for i in range(25):
        pz.track(f"v{i}", ev.PAGE_VIEWED)
    assert len(pz.store) == 10
    assert pz.profile("v24").counters == {ev.PAGE_VIEWED: 1}
    assert pz.profile("v0").counters == {}


def test_links_are_bounded_and_unlinkable():
    store = MemoryStore(max_profiles=1, max_links=2)
    store.link("a", "u1")
    store.link("b", "u1")
    store.link("c", "u2")
    assert store.resolve("a") is None
    assert store.resolve("b") == "u1"
    assert store.unlink_user("u1") == ["b"]
    assert store.resolve("b") is None
    store.unlink("c")
    assert store.resolve("c") is None


def test_pop_and_close():
    store = MemoryStore()
    put(store, "a")
    assert store.pop("a") is not None
    assert store.pop("a") is None
    put(store, "b")
    store.close()
    assert len(store) == 0


def test_a_cap_below_one_is_refused():
    with pytest.raises(ValueError, match="max_profiles"):
        MemoryStore(max_profiles=0)
