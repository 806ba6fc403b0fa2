"""RedisStore's writer folding queued events again (a profile another process changed), the
reads that follow a `track` in the same process, and a fork while a thread of the parent holds
a lock of redis-py's connection pool."""

from __future__ import annotations

import multiprocessing
import threading
import time

import pytest

from personalize_sdk import Personalizer
from tests.helpers import view
from tests.stores.conftest import redis_client
from tests.stores.redis_helpers import (
    count_replays,
    hearing,
    holding_the_writer,
    listening,
    stored_elsewhere,
    wait_to_hear,
)

redis = pytest.importorskip("redis")

pytestmark = pytest.mark.redis


def _written_elsewhere_while_queued(make, store, pz, track) -> threading.Event:
    """Queue `track(pz)` in `store` behind a write the writer holds, and meanwhile let another
    process write the same shopper ("v-old"): the queued events must be folded again."""
    release = holding_the_writer(store, pz)
    track(pz)
    stored_elsewhere(make, "v-old", 1)  # another process writes v-old meanwhile
    return release


def test_the_page_after_a_track_sees_the_history_and_the_event(make):
    shoppers = 30
    for n in range(shoppers):
        stored_elsewhere(make, f"v{n}", 2)
    store = make()
    listening(store)  # subscribed first: a first subscription drops the copies held
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


def test_a_replayed_event_is_the_event_as_tracked_not_as_the_caller_changed_it_since(make):
    """The writer may fold a queued event again long after `track` returned; a shop that
    reuses its dict meanwhile changes nothing."""
    stored_elsewhere(make, "v-old", 1)
    store = make()
    replayed = count_replays(store)
    pz = Personalizer(store=store, strict=True)
    properties = view("sku-as-tracked")
    release = _written_elsewhere_while_queued(
        make, store, pz, lambda p: p.track("v-old", "Product Viewed", properties)
    )
    properties["product_id"] = "sku-changed-later"
    properties["category"] = "Changed"
    release.set()
    assert store.flush()
    assert "v:v-old" in replayed  # folded again, from the queued copy
    stored = make().load("v:v-old")
    assert stored.counters == {"Product Viewed": 3}
    assert "sku-as-tracked" in stored.recently_viewed
    assert "sku-changed-later" not in stored.recently_viewed
    assert "changed" not in stored.category_affinity


def test_a_replayed_event_with_the_callers_message_id_is_still_counted_once(make):
    stored_elsewhere(make, "v-old", 1)
    store = make()
    replayed = count_replays(store)
    pz = Personalizer(store=store, strict=True)

    def retried(p: Personalizer) -> None:  # a retried request: the same message id twice
        for _ in range(2):
            p.track("v-old", "Product Viewed", view("sku-2"), message_id="order-page-1")

    release = _written_elsewhere_while_queued(make, store, pz, retried)
    release.set()
    assert store.flush()
    assert "v:v-old" in replayed
    assert make().load("v:v-old").counters == {"Product Viewed": 3}


def test_an_invalidated_copy_is_read_again_before_it_is_served_or_written(make):
    store, other = make(), make()
    replayed = count_replays(store)
    listening(store)
    heard = hearing(store)
    pz, elsewhere = Personalizer(store=store, strict=True), Personalizer(store=other, strict=True)
    pz.track("v1", "Page Viewed")
    assert store.flush()
    elsewhere.track("v1", "Page Viewed")  # this store's copy is stale now
    assert other.flush()
    # Once told (a notice that came during a read would make the writer read again, rightly).
    wait_to_hear(heard, "v:v1")
    deadline = time.monotonic() + 5
    while pz.profile("v1").counters != {"Page Viewed": 2}:
        assert time.monotonic() < deadline, "the invalidation never came"
        time.sleep(0.002)
    pz.track("v1", "Page Viewed")
    assert store.flush()
    assert make().load("v:v1").counters == {"Page Viewed": 3}
    assert replayed == []  # read again first: written from the local copy


def _forked_child(store, pipe) -> None:
    try:
        Personalizer(store=store, strict=True).track("v-child", "Page Viewed")
        pipe.send(store.flush(10))
    except BaseException as error:  # noqa: BLE001 - reported to the parent
        pipe.send(repr(error))


@pytest.mark.parametrize("lock", ["_lock", "_fork_lock"])
def test_a_child_forked_while_a_thread_held_a_pool_lock_can_use_redis(make, lock):
    """redis-py resets a pool in a child under the pool's locks: had a thread of the parent
    held one at the fork, the child would wait forever (`ChildDeadlockedError` in its other
    threads). The fork waits for the lock instead."""
    store = make()
    Personalizer(store=store, strict=True).track("v-parent", "Page Viewed")
    assert store.flush()
    pool = store.redis.connection_pool
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with getattr(pool, lock):
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


def _two_in_one_batch(make, store, pz) -> threading.Event:
    """A batch of two shoppers: "v-new" written from the local copy in the first round, and
    "v-old" refused (another process wrote it since this one read it, and this process did
    not hear of it) and folded again in a second round. Returns the writer's release."""
    stored_elsewhere(make, "v-old", 1)
    listening(store)  # subscribed first: the copies read next are kept
    # Read first, so that their versions are known (not blind copies, read by the writer).
    assert pz.profile("v-new").counters == {}
    assert pz.profile("v-old").counters == {"Product Viewed": 1}
    release = holding_the_writer(store, pz)
    pz.track("v-new", "Product Viewed", view("sku-1"))
    pz.track("v-old", "Product Viewed", view("sku-2"))
    store._invalidate = lambda data: None  # deaf to the other process's write
    stored_elsewhere(make, "v-old", 1)
    return release


def test_a_fault_in_a_later_round_of_a_write_sends_again_only_what_was_not_written(make):
    store = make()
    pz = Personalizer(store=store, strict=True)
    release = _two_in_one_batch(make, store, pz)
    inner, faults = store._replayed, []

    def failing_once(keys, *args):
        if not faults:
            faults.append(keys)  # the second round, v-new written in the first already
            raise redis.ConnectionError("the connection dropped")
        return inner(keys, *args)

    store._replayed = failing_once
    release.set()
    assert store.flush()
    assert faults == [["v:v-old"]]
    assert store.stats()["faults.write"] == 1
    fresh = make()
    assert fresh.load("v:v-new").counters == {"Product Viewed": 1}  # written once, not twice
    assert fresh.load("v:v-old").counters == {"Product Viewed": 3}


def test_a_stored_profile_that_cannot_be_read_back_loses_its_own_events_alone(make, caplog):
    store = make()
    pz = Personalizer(store=store, strict=True)
    release = _two_in_one_batch(make, store, pz)
    client = redis_client()
    redis_key = store.keys.profile("v:v-old")
    client.hset(redis_key, mapping={"d": b"\\xc1 not msgpack", "v": 99})  # a newer release's
    with caplog.at_level("ERROR", logger="personalize_sdk.redis"):
        release.set()
        assert store.flush()
    assert store.stats()["write_errors"] == 1
    assert "cannot write to the stored profile 'v:v-old'" in caplog.text
    assert make().load("v:v-new").counters == {"Product Viewed": 1}
    assert client.hget(redis_key, "d") == b"\\xc1 not msgpack"  # left as it was
    pz.track("v-later", "Page Viewed")  # the writer goes on
    assert store.flush()
    assert make().load("v:v-later").counters == {"Page Viewed": 1}
