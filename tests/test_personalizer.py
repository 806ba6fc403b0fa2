"""The facade: the contract of DESIGN.md, fault isolation, forget, threads."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone

import pytest

from personalize_sdk import (
    MemoryStore,
    Page,
    PersonalizeError,
    Personalizer,
    Profile,
    Store,
    StoreUnavailable,
)
from personalize_sdk import events as ev
from personalize_sdk.delivery_config import DeliverySettings
from personalize_sdk.forwarders import FileForwarder
from tests.helpers import T0, view


def test_track_folds_the_event_before_returning_and_returns_a_message_id(pz):
    message_id = pz.track("v", ev.PRODUCT_VIEWED, view("sku-1"))
    assert isinstance(message_id, str) and len(message_id) == 32
    assert pz.profile("v").recently_viewed == ("sku-1",)
    assert pz.track("v", ev.PRODUCT_VIEWED, view("sku-1")) != message_id


def test_track_keeps_the_callers_message_id_and_timestamp(pz):
    at = datetime(2026, 9, 1, 0, 0, tzinfo=timezone.utc)  # before the test clock's now
    assert pz.track("v", ev.PRODUCT_VIEWED, view("a"), timestamp=at, message_id="m-1") == "m-1"
    assert pz.profile("v").last_seen == at.timestamp()
    pz.track("v", ev.PRODUCT_VIEWED, view("a"), timestamp="2026-09-01T00:05:00Z")
    assert pz.profile("v").last_seen == at.timestamp() + 300


def test_a_timestamp_in_the_future_is_taken_as_now(pz, clock):
    pz.track("v", ev.PRODUCT_ADDED, view("a"), timestamp=clock() + 3 * 3600)
    profile = pz.profile("v")
    assert profile.last_seen == profile.cart.updated_at == profile.last_cart_add_at == clock()
    clock.advance(31 * 60)
    assert "cart_abandoner" in pz.segments("v")


def test_a_replayed_message_id_is_accepted_but_counted_once(pz):
    for _ in range(3):
        assert pz.track("v", ev.PRODUCT_ADDED, view("a"), message_id="retry-1") == "retry-1"
    assert pz.profile("v").cart.items[0].quantity == 1
    assert pz.profile("v").counters[ev.PRODUCT_ADDED] == 1


def test_profile_of_an_unknown_visitor_is_empty_and_not_stored(pz):
    assert pz.profile("nobody") == Profile(visitor_id="nobody")
    assert pz.segments("nobody") == frozenset({"new_visitor"})
    assert len(pz.store) == 0


def test_widgets_and_render_without_campaigns(pz):
    page = Page(type="product", path="/p/sku-1")
    assert pz.widgets("v", page) == []
    assert pz.render("v", page, slot="top") == ""


def test_forget_a_customer_erases_profile_links_and_every_merged_visitor(pz):
    pz.track("laptop", ev.PRODUCT_VIEWED, view("a"))
    pz.identify("laptop", user_id="u-1", traits={"email": "a@example.com"})
    pz.identify("phone", user_id="u-1")
    pz.track("other", ev.PRODUCT_VIEWED, view("b"))
    pz.forget("u-1")
    assert pz.store.load("u:u-1") is None
    for visitor in ("laptop", "phone"):
        assert pz.store.resolve(visitor) is None
        assert pz.profile(visitor) == Profile(visitor_id=visitor)
    assert pz.profile("other").recently_viewed == ("b",)  # nobody else is touched


def test_forget_by_a_linked_visitor_id_erases_the_customer(pz):
    pz.identify("laptop", user_id="u-1", traits={"first_name": "A"})
    pz.forget("laptop")
    assert pz.store.load("u:u-1") is None
    assert pz.store.resolve("laptop") is None


def test_forget_an_anonymous_visitor(pz):
    pz.track("anon", ev.PRODUCT_VIEWED, view("a"))
    pz.segments("anon")
    pz.forget("anon")
    assert pz.store.load("v:anon") is None
    assert pz.segments("anon") == frozenset({"new_visitor"})


class BrokenStore(MemoryStore):
    """A store whose writes fail, as a store outage looks to the facade."""

    def update(self, key, change, *args):
        raise StoreUnavailable("store is down")

    def load(self, key):
        raise ConnectionError("connection refused")


def test_a_store_fault_never_reaches_the_page_and_is_logged_once(caplog):
    pz = Personalizer(store=BrokenStore())
    with caplog.at_level(logging.ERROR, logger="personalize_sdk"):
        assert pz.track("v", ev.PAGE_VIEWED) is None
        assert pz.track("v", ev.PAGE_VIEWED) is None
        assert pz.segments("v") == frozenset()
        assert pz.identify("v", traits={"a": 1}) is None
    assert pz.stats() == {
        "errors.track.store": 2,
        "errors.segments.internal": 1,
        "errors.identify.store": 1,
    }
    assert [r.getMessage().split(" ")[0] for r in caplog.records] == [
        "track",
        "segments",
        "identify",
    ]


def test_strict_mode_raises_store_faults():
    pz = Personalizer(store=BrokenStore(), strict=True)
    with pytest.raises(PersonalizeError, match="store is down"):
        pz.track("v", ev.PAGE_VIEWED)


def test_memory_store_implements_the_store_protocol():
    assert isinstance(MemoryStore(), Store)


def test_concurrent_tracking_of_one_shopper_loses_no_update():
    pz = Personalizer()
    per_thread = 2_000

    def work(n: int) -> None:
        for i in range(per_thread):
            pz.track("shared", ev.PRODUCT_ADDED, {"product_id": f"p{n}", "price": 1.0})
            if i % 100 == 0:
                pz.segments("shared")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    profile = pz.profile("shared")
    assert profile.counters[ev.PRODUCT_ADDED] == 4 * per_thread
    assert sorted((i.product_id, i.quantity) for i in profile.cart.items) == [
        (f"p{n}", per_thread) for n in range(4)
    ]


def test_close_is_idempotent_and_works_as_a_context_manager(clock):
    with Personalizer(clock=clock) as pz:
        pz.track("v", ev.PAGE_VIEWED)
        pz.flush()
    pz.close()
    assert pz.clock() == T0


class StoreOfTheOlderProtocol(MemoryStore):
    """A shop's store written when `flush` and `close` took no timeout."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def flush(self) -> None:  # type: ignore[override]
        self.calls.append("flush")

    def close(self) -> None:  # type: ignore[override]
        self.calls.append("close")
        super().close()


class TimedStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.timeouts: list[tuple[str, float]] = []

    def flush(self, timeout: float = 5.0) -> bool:
        self.timeouts.append(("flush", timeout))
        return True

    def close(self, timeout: float = 5.0) -> None:
        self.timeouts.append(("close", timeout))
        super().close(timeout)


def test_a_store_of_the_older_protocol_is_flushed_and_closed_without_a_timeout():
    store = StoreOfTheOlderProtocol()
    pz = Personalizer(store=store)
    pz.track("v1", ev.PAGE_VIEWED)
    assert pz.flush(timeout=1.0) is True
    pz.close()
    assert store.calls == ["flush", "flush", "close"]


def test_the_store_is_flushed_within_the_drain_timeout_before_it_is_closed(tmp_path):
    store = TimedStore()
    delivery = DeliverySettings(spool_dir=tmp_path / "spool", drain_timeout=3.0)
    forwarder = FileForwarder(tmp_path / "events")
    pz = Personalizer(store=store, forwarders=[forwarder], delivery=delivery)
    assert pz.flush() is True
    pz.close()
    assert store.timeouts == [("flush", 3.0), ("flush", 3.0), ("close", 0.0)]
