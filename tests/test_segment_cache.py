"""The per-process segment cache: answers only for the profile it was computed from, until its
time to live is over; bounded, dropping the entry computed longest ago first."""

from __future__ import annotations

from personalize_sdk.profile import Profile
from personalize_sdk.segment_cache import SegmentCache
from tests.helpers import Clock


def test_an_entry_answers_for_its_own_profile_until_it_expires():
    clock = Clock()
    cache = SegmentCache(maxsize=10, ttl=60.0, timer=clock)
    profile, changed = Profile(visitor_id="v"), Profile(visitor_id="v")
    cache.put("v:v", profile, frozenset({"browser"}))
    assert cache.get("v:v", profile) == frozenset({"browser"})
    assert cache.get("v:v", changed) is None  # an equal profile, but another object
    assert cache.get("v:w", profile) is None
    clock.now += 59.9
    assert cache.get("v:v", profile) == frozenset({"browser"})
    clock.now += 0.1
    assert cache.get("v:v", profile) is None


def test_a_full_cache_drops_the_entry_computed_longest_ago():
    cache = SegmentCache(maxsize=2, ttl=60.0, timer=Clock())
    a, b, c = (Profile(visitor_id=name) for name in "abc")
    cache.put("a", a, frozenset({"a"}))
    cache.put("b", b, frozenset({"b"}))
    cache.put("a", a, frozenset({"a2"}))  # computed again: now the newest
    cache.put("c", c, frozenset({"c"}))
    assert cache.get("b", b) is None
    assert (cache.get("a", a), cache.get("c", c)) == (frozenset({"a2"}), frozenset({"c"}))


def test_discard_and_a_ttl_of_zero():
    cache = SegmentCache(maxsize=10, ttl=60.0, timer=Clock())
    profile = Profile(visitor_id="v")
    cache.put("v:v", profile, frozenset())
    cache.discard("v:v", "v:never-there")
    assert cache.get("v:v", profile) is None
    off = SegmentCache(maxsize=10, ttl=0, timer=Clock())
    off.put("v:v", profile, frozenset())
    assert off.get("v:v", profile) is None


def test_lookups_without_the_lock_stay_right_while_other_threads_put():
    import threading

    cache = SegmentCache(maxsize=50, ttl=60.0, timer=Clock())
    profiles = [Profile(visitor_id=str(n)) for n in range(200)]
    wrong: list[object] = []
    stop = threading.Event()

    def put() -> None:
        while not stop.is_set():
            for n, profile in enumerate(profiles):
                cache.put(str(n), profile, frozenset({str(n)}))

    def get() -> None:
        for _ in range(200):
            for n, profile in enumerate(profiles):
                found = cache.get(str(n), profile)
                if found is not None and found != frozenset({str(n)}):
                    wrong.append(found)

    writers = [threading.Thread(target=put) for _ in range(2)]
    for writer in writers:
        writer.start()
    try:
        get()
    finally:
        stop.set()
        for writer in writers:
            writer.join()
    assert wrong == []
