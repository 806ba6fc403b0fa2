"""`forget` on Redis erases every key of the shopper, those it cannot read included, and
leaves other customers' links alone."""

from __future__ import annotations

import pytest

from personalize_sdk import Personalizer
from tests.stores.conftest import redis_client
from tests.stores.redis_helpers import gated, holding_the_writer

pytest.importorskip("redis")

from personalize_sdk import redis_store

pytestmark = pytest.mark.redis

NOT_A_PROFILE = b"\xc1\xc1"


def _keys_left(store) -> list[str]:
    return sorted(k.decode() for k in redis_client().scan_iter(match=f"{store.keys.prefix}*"))


def test_forget_erases_a_customer_whose_profile_it_cannot_read(make, caplog):
    store = make()
    pz = Personalizer(store=store, strict=True)
    for visitor in ("laptop", "phone"):
        pz.track(visitor, "Page Viewed")
        pz.identify(visitor, user_id="u-1")
    redis_client().hset(store.keys.profile("u:u-1"), "d", NOT_A_PROFILE)
    with caplog.at_level("WARNING", logger="personalize_sdk.redis"):
        pz.forget("u-1")  # raised half-way through the erasure before
    assert "erased the stored profile 'u:u-1'" in caplog.text
    assert _keys_left(store) == []


@pytest.mark.parametrize("linked", [True, False], ids=["linked", "anonymous"])
def test_forget_erases_a_visitor_whose_profile_it_cannot_read(make, linked):
    # "anonymous": the visitor's own profile comes with the read of its link (one round
    # trip), which raised before anything was erased.
    store = make()
    pz = Personalizer(store=store, strict=True)
    pz.track("v9", "Page Viewed")
    if linked:
        pz.track("v1", "Page Viewed")
        pz.identify("v1", user_id="u-1")
    assert store.flush()
    client = redis_client()
    client.hset(store.keys.profile("v:v9"), "d", NOT_A_PROFILE)
    if linked:
        client.set(store.keys.link("v9"), "u-1")  # linked by another flow, its profile left
    fresh = Personalizer(store=make(), strict=True)  # no copy of v9 in this process
    fresh.forget("v9")
    assert _keys_left(store) == []


def test_forget_erases_the_shoppers_events_still_queued(make, monkeypatch):
    # `forget` waits a while for the queue, not for ever: what is still queued for that
    # shopper then would be written after the erasure, as a new profile.
    monkeypatch.setattr(redis_store, "_FORGET_FLUSH", 0.2)
    store = make()
    pz = Personalizer(store=store, strict=True)
    release = holding_the_writer(store, pz)
    pz.track("gone", "Page Viewed")  # queued behind the held write
    pz.forget("gone")
    release.set()
    assert store.flush()
    assert make().load("v:gone") is None
    assert store.stats()["pending"] == 0


def test_forget_while_the_writer_holds_that_shoppers_batch(make, monkeypatch):
    # The batch lands after the erasure (a writer slower than `forget` waits): the profile it
    # writes back is erased again once it is done.
    monkeypatch.setattr(redis_store, "_FORGET_FLUSH", 0.2)
    store = make()
    pz = Personalizer(store=store, strict=True)
    entered, release = gated(store, "_write")
    pz.track("gone", "Page Viewed")  # the writer takes this batch, and is held
    assert entered.wait(10)
    pz.forget("gone")
    release.set()
    assert store.flush()
    assert make().load("v:gone") is None
    pz.track("gone", "Page Viewed")  # a new visit after the erasure is kept
    assert store.flush()
    assert make().load("v:gone").counters == {"Page Viewed": 1}
