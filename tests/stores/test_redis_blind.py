"""RedisStore's blind copies: `track` of a shopper this process has no copy of reads nothing
from Redis; the page that follows, the writer, a login elsewhere and the asyncio prefetch each
find what Redis holds and the tracked events together, counted once."""

from __future__ import annotations

import asyncio
import threading

import pytest

from personalize_sdk import Personalizer
from tests.helpers import view
from tests.stores.redis_helpers import (
    count_replays,
    gated,
    holding_the_writer,
    listening,
    sent_commands,
    stored_elsewhere,
)

redis = pytest.importorskip("redis")

pytestmark = pytest.mark.redis


def test_a_track_of_a_shopper_unknown_here_sends_nothing_and_the_writer_folds_it_in(make):
    stored_elsewhere(make, "v-old", 2)
    store = make()
    replayed = count_replays(store)
    pz = Personalizer(store=store, strict=True)
    listening(store)  # threads started: what follows is the tracks' own
    sent = sent_commands(store)
    pz.track("v-old", "Product Viewed", view("sku-9"))
    pz.track("v-new", "Page Viewed")
    pz.track(None, "Order Completed", {"order_id": "o1", "total": 5.0}, user_id="u-new")
    assert sent == []
    assert store.flush()
    # Nothing stored for the new ones: their blind copies went out as they were.
    assert sorted(replayed) == ["v:v-old"]
    fresh = make()
    assert fresh.load("v:v-old").counters == {"Product Viewed": 3}
    assert fresh.load("v:v-old").recently_viewed == ("sku-9", "sku-1", "sku-0")
    assert fresh.load("v:v-new").counters == {"Page Viewed": 1}
    assert fresh.load("u:u-new").orders.count == 1
    assert pz.profile("v-old") == fresh.load("v:v-old")


def test_the_page_after_a_blind_track_shows_the_stored_history_and_the_event(make):
    stored_elsewhere(make, "v-old", 2)
    store = make()
    listening(store)  # a read in flight while the listener subscribes is not kept
    pz = Personalizer(store=store, strict=True)
    release = holding_the_writer(store, pz)  # nothing else is written meanwhile
    pz.track("v-old", "Product Viewed", view("sku-9"))
    try:
        profile = pz.profile("v-old")
        assert profile.counters == {"Product Viewed": 3}
        assert profile.recently_viewed == ("sku-9", "sku-1", "sku-0")
        pz.track("v-old", "Page Viewed")  # into the merged copy
        assert pz.profile("v-old").counters == {"Product Viewed": 3, "Page Viewed": 1}
    finally:
        release.set()
    assert store.flush()
    assert store.stats().get("conflicts", 0) == 0  # the merged copy was built on the stored one
    assert make().load("v:v-old").counters == {"Product Viewed": 3, "Page Viewed": 1}


def test_a_visitor_linked_elsewhere_and_tracked_blind_here_counts_on_the_customer_once(make):
    Personalizer(store=make(), strict=True).identify("v1", user_id="u-1", traits={"tier": "gold"})
    store = make()
    listening(store)  # a read in flight while the listener subscribes is not kept
    pz = Personalizer(store=store, strict=True)
    release = holding_the_writer(store, pz)
    pz.track("v1", "Product Viewed", view("sku-1"))  # into the visitor's blind copy
    try:
        profile = pz.profile("v1")  # reads the link: the event is the customer's now
        assert profile.user_id == "u-1"
        assert profile.traits == {"tier": "gold"}
        assert profile.counters == {"Product Viewed": 1}
    finally:
        release.set()
    assert store.flush()
    assert make().load("u:u-1").counters == {"Product Viewed": 1}
    assert make().load("v:v1") is None
    assert pz.profile("v1").counters == {"Product Viewed": 1}


def test_a_blind_track_the_writer_finds_linked_moves_to_the_customer_copy(make):
    Personalizer(store=make(), strict=True).identify("v1", user_id="u-1")
    store = make()
    listening(store)  # a read in flight while the listener subscribes is not kept
    pz = Personalizer(store=store, strict=True)
    assert pz.profile("v1").user_id == "u-1"  # the customer's copy is here ...
    with store._lock:
        store._links.clear()  # ... the link is not (its time to live ran out, say)
    moved, go_on = threading.Event(), threading.Event()
    relink = store._relink

    def relinked_then_held(ops):
        relink(ops)
        moved.set()
        assert go_on.wait(10)

    store._relink = relinked_then_held
    pz.track("v1", "Product Viewed", view("sku-1"))
    try:
        assert moved.wait(10)  # the writer was refused the visitor's profile: linked
        # Not written yet, and the page shows it already: folded into the customer's copy.
        assert pz.profile("v1").counters == {"Product Viewed": 1}
    finally:
        go_on.set()
    assert store.flush()
    assert store.load("u:u-1").counters == {"Product Viewed": 1}
    assert make().load("u:u-1").counters == {"Product Viewed": 1}
    assert make().load("v:v1") is None


def test_a_link_read_while_the_writer_holds_the_visitors_events_counts_them_once(make):
    Personalizer(store=make(), strict=True).identify("v1", user_id="u-1")
    store = make()
    listening(store)  # a read in flight while the listener subscribes is not kept
    pz = Personalizer(store=store, strict=True)
    entered, release = gated(store, "_cas_all")
    pz.track("v1", "Product Viewed", view("sku-1"))  # taken by the writer, held before its write
    assert entered.wait(10)
    pz.track("v1", "Product Viewed", view("sku-2"))  # queued
    try:
        # The queued one moves to the customer's copy now; the one the writer holds comes
        # back refused as linked when it is let go, and moves then.
        profile = pz.profile("v1")
        assert profile.user_id == "u-1"
        assert profile.recently_viewed == ("sku-2",)
    finally:
        release.set()
    assert store.flush()
    assert make().load("u:u-1").counters == {"Product Viewed": 2}
    assert pz.profile("v1").counters == {"Product Viewed": 2}
    assert store.stats()["pending"] == 0


def test_the_asyncio_prefetch_reads_a_blind_copy_in(make):
    stored_elsewhere(make, "v-old", 2)
    store = make()
    listening(store)  # a read in flight while the listener subscribes is not kept
    pz = Personalizer(store=store, strict=True)
    release = holding_the_writer(store, pz)
    pz.track("v-old", "Page Viewed")
    try:
        asyncio.run(store.aprefetch("v-old"))
        sent = sent_commands(store)
        assert pz.profile("v-old").counters == {"Product Viewed": 2, "Page Viewed": 1}
        assert sent == []  # the prefetch brought it in: the page reads nothing
    finally:
        release.set()
    assert store.flush()


def test_identify_traits_for_a_customer_tracked_blind_hold_the_stored_profile(make):
    # `update` answers with the profile: a blind copy is read and merged before the change.
    other = Personalizer(store=make(), strict=True)
    other.identify(None, user_id="u-1", traits={"tier": "gold"})
    store = make()
    listening(store)  # a read in flight while the listener subscribes is not kept
    pz = Personalizer(store=store, strict=True)
    pz.track(None, "Page Viewed", user_id="u-1")
    profile = pz.identify(None, user_id="u-1", traits={"first_name": "Asha"})
    assert profile.traits == {"tier": "gold", "first_name": "Asha"}
    assert profile.counters == {"Page Viewed": 1}
    assert store.flush()
    stored = make().load("u:u-1")
    assert stored.traits == {"tier": "gold", "first_name": "Asha"}
    assert stored.counters == {"Page Viewed": 1}
