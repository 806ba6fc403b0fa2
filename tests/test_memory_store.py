"""MemoryStore: bounded LRU of profiles and links; atomic update and identify."""

from __future__ import annotations

import pytest

from personalize_sdk import MemoryStore, Personalizer, Profile
from personalize_sdk import events as ev


def put(store: MemoryStore, visitor_id: str) -> Profile:
    return store.update(
        visitor_id, None, lambda current, v, u: current or Profile(visitor_id=v, user_id=u)
    )


def test_least_recently_updated_profiles_are_evicted_at_the_cap():
    store = MemoryStore(max_profiles=3)
    for key in ("a", "b", "c"):
        put(store, key)
    put(store, "a")  # a is now the most recently updated
    put(store, "d")
    assert store.load("v:b") is None
    assert all(store.load(f"v:{k}") is not None for k in ("a", "c", "d"))
    assert len(store) == 3
    assert store.evictions == 1


def test_update_resolves_the_link_and_a_user_id_wins():
    store = MemoryStore()
    seen = []
    change = lambda current, v, u: seen.append((v, u)) or Profile(visitor_id=v, user_id=u)  # noqa: E731
    store.update("anon", None, change)
    assert store.load("v:anon") is not None
    store.identify("anon", "u1", lambda customer, visitor: Profile(user_id="u1"))
    store.update("anon", None, change)
    store.update(None, "u2", change)
    assert seen == [("anon", None), ("anon", "u1"), (None, "u2")]
    assert store.load("v:anon") is None  # taken by identify
    assert {store.load("u:u1").user_id, store.load("u:u2").user_id} == {"u1", "u2"}


def test_identify_hands_the_visitor_profile_to_the_change_and_loses_nothing_on_error():
    store = MemoryStore()
    put(store, "anon")

    def failing(customer, visitor):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        store.identify("anon", "u1", failing)
    assert store.load("v:anon") is not None  # still there: nothing changed
    assert store.resolve("anon") is None
    handed = []
    store.identify("anon", "u1", lambda c, v: handed.append((c, v)) or Profile(user_id="u1"))
    assert handed[0][0] is None and handed[0][1].visitor_id == "anon"
    assert store.resolve("anon") == "u1"


def test_the_cap_comes_from_settings_through_the_facade():
    pz = Personalizer({"settings": {"max_profiles": 10}})
    for i in range(25):
        pz.track(f"v{i}", ev.PAGE_VIEWED)
    assert len(pz.store) == 10
    assert pz.profile("v24").counters == {ev.PAGE_VIEWED: 1}
    assert pz.profile("v0").counters == {}


def test_links_are_bounded_and_unlinkable():
    store = MemoryStore(max_profiles=1, max_links=2)
    for visitor, user in (("a", "u1"), ("b", "u1"), ("c", "u2")):
        store.identify(visitor, user, lambda customer, v, u=user: Profile(user_id=u))
    assert store.resolve("a") is None
    assert store.resolve("b") == "u1"
    assert store.unlink_user("u1") == ["b"]
    assert store.resolve("b") is None
    store.unlink("c")
    assert store.resolve("c") is None


def test_pop_and_close():
    store = MemoryStore()
    put(store, "a")
    assert store.pop("v:a") is not None
    assert store.pop("v:a") is None
    put(store, "b")
    store.close()
    assert len(store) == 0


def test_a_cap_below_one_is_refused():
    with pytest.raises(ValueError, match="max_profiles"):
        MemoryStore(max_profiles=0)
