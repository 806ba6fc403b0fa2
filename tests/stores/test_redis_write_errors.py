"""One shopper whose profile cannot be written loses its own events alone: the rest of the
writer's batch is written, and no local copy stays held with events that never reach Redis."""

from __future__ import annotations

import pytest

from personalize_sdk import Personalizer, Profile
from tests.stores.conftest import redis_client
from tests.stores.redis_helpers import holding_the_writer, listening

redis = pytest.importorskip("redis")

pytestmark = pytest.mark.redis

GOOD = [f"good-{n}" for n in range(20)]


def _held(store) -> list[str]:
    """Keys of the local copies still holding events not yet written."""
    return [key for key, entry in store._cache.items() if entry.pending]


def _batch_with(store, pz, bad) -> None:
    """One batch of the writer: `bad()`, which queues the bad shopper's update, then an event
    of each of `GOOD`; written, and checked: the good ones all in Redis."""
    release = holding_the_writer(store, pz)
    bad()
    for visitor in GOOD:
        pz.track(visitor, "Page Viewed")
    release.set()
    assert store.flush(), store.stats()
    client = redis_client()
    written = [v for v in GOOD if client.exists(store.keys.profile(f"v:{v}"))]
    assert written == GOOD, store.stats()


@pytest.mark.parametrize("copy", ["read back", "local copy"])
def test_a_profile_key_of_another_type_loses_its_own_events_alone(make, caplog, copy):
    # "read back": the writer reads the stored profile first (WRONGTYPE from the read);
    # "local copy": it writes this process's copy as it is (WRONGTYPE from the script).
    store = make()
    pz = Personalizer(store=store, strict=True)
    if copy == "local copy":
        listening(store)
        assert pz.profile("bad").counters == {}  # read: nothing stored, its version known
    redis_client().set(store.keys.profile("v:bad"), b"tampered")
    with caplog.at_level("ERROR", logger="personalize_sdk.redis"):
        _batch_with(store, pz, lambda: pz.track("bad", "Page Viewed"))
    assert "cannot write to the stored profile 'v:bad'" in caplog.text
    assert store.stats()["write_errors"] == 1
    assert store.stats()["pending"] == 0 and _held(store) == []
    assert make().load("v:good-0").counters == {"Page Viewed": 1}


def _unencodable(profile: Profile | None, visitor_id: str, user_id: str | None) -> Profile:
    """A profile msgpack cannot hold (an int past 64 bits)."""
    return (profile or Profile(visitor_id=visitor_id))._replace(traits={"points": 2**70})


def test_a_profile_that_cannot_be_encoded_loses_its_own_events_alone(make):
    store = make()
    pz = Personalizer(store=store, strict=True)
    _batch_with(store, pz, lambda: store.update("odd", None, _unencodable))
    assert store.stats()["write_errors"] == 1
    assert _held(store) == []
    assert make().load("v:odd") is None


def test_a_link_key_of_another_type_loses_that_visitors_events_alone(make):
    # The write is refused as "linked" (the link key exists); reading the link to move the
    # events to the customer then fails (WRONGTYPE), after the others were written.
    store = make()
    pz = Personalizer(store=store, strict=True)
    redis_client().hset(store.keys.link("bad"), "not", "a link")
    _batch_with(store, pz, lambda: pz.track("bad", "Page Viewed"))
    assert store.stats()["write_errors"] == 1
    assert _held(store) == []


def test_a_batch_lost_to_a_bug_releases_the_local_copies_of_what_it_lost(make, caplog):
    # Whatever fails a whole batch (here a stand-in for a bug of ours, raised once): its
    # events are counted as lost and their local copies dropped, not held as unwritten for
    # good (they would show events that never reach Redis, and never leave the cache).
    store = make()
    pz = Personalizer(store=store, strict=True)
    release = holding_the_writer(store, pz)  # "x", taken and held before it is written
    inner, raised = store._cas_all, []

    def failing_once(attempt):
        if not raised:
            raised.append(True)
            raise RuntimeError("a bug")
        return inner(attempt)

    store._cas_all = failing_once
    with caplog.at_level("ERROR", logger="personalize_sdk.redis"):
        release.set()
        assert store.flush()
    assert "could not write 1 profile updates" in caplog.text
    assert store.stats()["write_errors"] == 1
    assert _held(store) == []
    assert pz.profile("x").counters == {}  # what Redis has: this process shows no lost event
    pz.track("later", "Page Viewed")  # the writer goes on
    assert store.flush()
    assert make().load("v:later").counters == {"Page Viewed": 1}
