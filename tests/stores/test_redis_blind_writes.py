"""`track` into RedisStore never waits on Redis: a shopper the process has no copy of gets a
blind copy (the event alone), the writer sends it as a new profile or folds it into the stored
one, and a read in this process first completes the copy from Redis. Whatever the order of
the writer and the reader, nothing is lost and nothing is counted twice."""

from __future__ import annotations

import multiprocessing
import threading
import time

import pytest

from personalize_sdk import Personalizer
from tests.helpers import view
from tests.stores.redis_helpers import count_replays, gated

pytest.importorskip("redis")

pytestmark = pytest.mark.redis


def _stored(make, visitor: str, views: int) -> None:
    """`views` Product Viewed events of `visitor` in Redis, written by another store."""
    other = Personalizer(store=make(), strict=True)
    for i in range(views):
        other.track(visitor, "Product Viewed", view(f"sku-{i}"))
    assert other.store.flush()


def _redis_calls_by_thread(store) -> list[str]:
    """The names of the threads that sent commands through `store`'s client."""
    threads: list[str] = []
    command, pipeline = store.redis.execute_command, store.redis.pipeline

    def counted_command(*args, **options):
        threads.append(threading.current_thread().name)
        return command(*args, **options)

    def counted_pipeline(*args, **options):
        pipe = pipeline(*args, **options)
        execute = pipe.execute

        def counted_execute(*a, **o):
            threads.append(threading.current_thread().name)
            return execute(*a, **o)

        pipe.execute = counted_execute
        return pipe

    store.redis.execute_command = counted_command
    store.redis.pipeline = counted_pipeline
    return threads


def test_track_sends_nothing_to_redis_from_the_callers_thread(make):
    _stored(make, "v-old", 3)
    store = make()
    threads = _redis_calls_by_thread(store)
    pz = Personalizer(store=store, strict=True)
    for shopper in ("v-old", "v-new", "v-old"):
        pz.track(shopper, "Product Viewed", view("sku-9"))
    pz.track(None, "Order Completed", {"order_id": "o1", "total": 5.0}, user_id="u-hook")
    assert threading.current_thread().name not in threads
    assert store.flush()
    fresh = make()
    assert fresh.load("v:v-old").counters == {"Product Viewed": 5}
    assert fresh.load("v:v-new").counters == {"Product Viewed": 1}
    assert fresh.load("u:u-hook").counters == {"Order Completed": 1}
    # v-old was stored: its blind copy, tried as new, was refused and folded into the stored one.
    assert store.stats()["blind_reads"] == 1
    assert "conflicts" not in store.stats()


def test_a_new_shopper_is_written_as_new_and_never_read(make):
    store = make()
    replayed = count_replays(store)
    pz = Personalizer(store=store, strict=True)
    for i in range(3):
        pz.track("v-first", "Product Viewed", view(f"sku-{i}"))
    assert store.flush()
    assert replayed == []
    assert "blind_reads" not in store.stats()
    assert make().load("v:v-first").counters == {"Product Viewed": 3}
    # The local copy is whole now: served as is, equal to what Redis holds.
    assert pz.profile("v-first") == make().load("v:v-first")


@pytest.mark.parametrize("shoppers", [40])
def test_the_page_after_a_blind_track_sees_the_history_and_the_event(make, shoppers):
    """Track then read at once, as a page does, racing the writer: every read is exact, and
    so is Redis afterwards."""
    for n in range(shoppers):
        _stored(make, f"v{n}", 2)
    store = make()
    pz = Personalizer(store=store, strict=True)
    for n in range(shoppers):
        pz.track(f"v{n}", "Product Viewed", view("sku-x"))
        assert pz.profile(f"v{n}").counters == {"Product Viewed": 3}, n
        pz.track(f"v{n}", "Product Viewed", view("sku-y"))
        assert pz.profile(f"v{n}").counters == {"Product Viewed": 4}, n
    assert store.flush()
    fresh = make()
    assert [fresh.load(f"v:v{n}").counters for n in range(shoppers)] == [
        {"Product Viewed": 4}
    ] * shoppers


def test_a_read_keeps_the_writer_off_the_shoppers_events_until_it_has_what_is_stored(make):
    """The writer is busy when the event comes; a read of the shopper starts; the writer,
    free again, leaves that shopper's event queued until the read is in, then writes the
    completed local copy as it is: no replay, no second read."""
    _stored(make, "v-old", 2)
    store = make()
    replayed = count_replays(store)
    pz = Personalizer(store=store, strict=True)
    entered, release_writer = gated(store, "_write")
    pz.track("x", "Page Viewed")  # the writer takes it and waits
    assert entered.wait(10)
    pz.track("v-old", "Product Viewed", view("sku-2"))  # queued, blind

    reading, release_read = threading.Event(), threading.Event()
    pipeline = store.redis.pipeline

    def held_pipeline(*args, **options):
        pipe = pipeline(*args, **options)
        execute = pipe.execute

        def held_execute(*a, **o):
            if threading.current_thread().name == "reader":
                reading.set()
                assert release_read.wait(10)
            return execute(*a, **o)

        pipe.execute = held_execute
        return pipe

    store.redis.pipeline = held_pipeline
    seen: list[dict] = []
    reader = threading.Thread(
        target=lambda: seen.append(pz.profile("v-old").counters), name="reader"
    )
    reader.start()
    assert reading.wait(10)
    release_writer.set()  # the writer writes "x", then finds only v-old's event: held
    deadline = time.monotonic() + 10
    while store.stats()["pending"] != 1 or store._writing:
        assert time.monotonic() < deadline, store.stats()
        time.sleep(0.005)
    time.sleep(0.05)  # the writer had time to take it, were it not held
    assert store.stats()["pending"] == 1 and not store._taken
    release_read.set()
    reader.join(10)
    assert seen == [{"Product Viewed": 3}]
    assert store.flush()
    assert replayed == []
    assert "blind_reads" not in store.stats() and "conflicts" not in store.stats()
    assert make().load("v:v-old").counters == {"Product Viewed": 3}


def test_a_read_while_the_writer_sends_the_blind_copy_waits_for_it(make):
    _stored(make, "v-old", 2)
    store = make()
    pz = Personalizer(store=store, strict=True)
    entered, release = gated(store, "_cas_all")
    pz.track("v-old", "Product Viewed", view("sku-2"))
    assert entered.wait(10)  # taken by the writer, not yet written
    seen: list[dict] = []
    reader = threading.Thread(target=lambda: seen.append(pz.profile("v-old").counters))
    reader.start()
    reader.join(0.1)
    assert reader.is_alive()  # waiting for the write in flight, not reading a half state
    release.set()
    reader.join(10)
    assert seen == [{"Product Viewed": 3}]
    assert store.flush()
    assert make().load("v:v-old").counters == {"Product Viewed": 3}


def test_a_visitor_linked_elsewhere_gets_its_blind_events_on_the_customer(make):
    _stored(make, "v-login", 1)
    Personalizer(store=make(), strict=True).identify("v-login", user_id="u-login")
    store = make()  # knows neither the link nor the profile
    Personalizer(store=store, strict=True).track("v-login", "Product Viewed", view("sku-3"))
    assert store.flush()
    fresh = make()
    assert fresh.load("u:u-login").counters == {"Product Viewed": 2}
    assert fresh.load("v:v-login") is None


def test_an_invalidated_copy_is_read_again_before_it_is_served_or_written(make):
    store, other = make(), make()
    replayed = count_replays(store)
    pz, elsewhere = Personalizer(store=store, strict=True), Personalizer(store=other, strict=True)
    pz.track("v1", "Page Viewed")
    assert store.flush()
    elsewhere.track("v1", "Page Viewed")  # this store's copy is stale now
    assert other.flush()
    deadline = time.monotonic() + 5
    while pz.profile("v1").counters != {"Page Viewed": 2}:
        assert time.monotonic() < deadline, "the invalidation never came"
        time.sleep(0.002)
    elsewhere.track("v1", "Page Viewed")
    assert other.flush()
    time.sleep(0.2)  # the invalidation is in: the copy is stale, not trusted as new
    pz.track("v1", "Page Viewed")
    assert store.flush()
    assert make().load("v:v1").counters == {"Page Viewed": 4}
    assert "blind_reads" not in store.stats()  # read first, never tried as new
    assert replayed == ["v:v1"]


def _forked_child(store, pipe) -> None:
    try:
        Personalizer(store=store, strict=True).track("v-child", "Page Viewed")
        pipe.send(store.flush(10))
    except BaseException as error:  # noqa: BLE001 - reported to the parent
        pipe.send(repr(error))


def test_a_child_forked_while_a_thread_held_the_pools_lock_can_use_redis(make):
    """redis-py resets a pool in a child under the pool's lock: had a thread of the parent held
    it at the fork, the child would wait forever (`ChildDeadlockedError` in its other threads).
    The fork waits for the lock instead."""
    store = make()
    Personalizer(store=store, strict=True).track("v-parent", "Page Viewed")
    assert store.flush()
    pool = store.redis.connection_pool
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with pool._lock:
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(5)
    threading.Timer(0.2, release.set).start()  # let go while the fork waits for it
    context = multiprocessing.get_context("fork")
    read, write = context.Pipe(duplex=False)
    child = context.Process(target=_forked_child, args=(store, write))
    child.start()
    holder.join(10)
    assert read.poll(30), "the child never answered"
    assert read.recv() is True
    child.join(10)
    assert make().load("v:v-child").counters == {"Page Viewed": 1}


def test_a_replayed_event_is_the_event_as_tracked_not_as_the_caller_changed_it_since(make):
    """The writer may fold a queued event again (here: a blind copy of a stored shopper) long
    after `track` returned; a shop that reuses its dict meanwhile changes nothing."""
    _stored(make, "v-old", 1)
    store = make()
    pz = Personalizer(store=store, strict=True)
    entered, release = gated(store, "_write")
    pz.track("x", "Page Viewed")  # the writer takes it and waits
    assert entered.wait(10)
    properties = view("sku-as-tracked")
    pz.track("v-old", "Product Viewed", properties)
    properties["product_id"] = "sku-changed-later"
    properties["category"] = "Changed"
    release.set()
    assert store.flush()
    assert store.stats()["blind_reads"] == 1  # it was folded again, from the queued copy
    stored = make().load("v:v-old")
    assert stored.recently_viewed[0] == "sku-as-tracked"
    assert "sku-changed-later" not in stored.recently_viewed
    assert "changed" not in stored.category_affinity


def test_a_replayed_event_with_the_callers_message_id_is_still_counted_once(make):
    _stored(make, "v-old", 1)
    store = make()
    pz = Personalizer(store=store, strict=True)
    entered, release = gated(store, "_write")
    pz.track("x", "Page Viewed")
    assert entered.wait(10)
    for _ in range(2):  # a retried request: the same message id twice
        pz.track("v-old", "Product Viewed", view("sku-2"), message_id="order-page-1")
    release.set()
    assert store.flush()
    assert store.stats()["blind_reads"] == 1
    assert make().load("v:v-old").counters == {"Product Viewed": 2}
