"""Faults a busy shop meets: threads racing a login, late and future events, hostile sizes,
refunds, server-side events by user id, and calls after close."""

from __future__ import annotations

import threading
from collections.abc import Mapping

import pytest

from personalize_sdk import ConfigError, InvalidEvent, PersonalizeError, Personalizer, Profile
from personalize_sdk import events as ev
from personalize_sdk.identity import MAX_TRAITS
from personalize_sdk.reducer import MAX_AFFINITY_KEYS, MAX_CATEGORY_VIEWS, MAX_KEY_LENGTH
from tests.helpers import DAY, MINUTE, view

# -- threads --------------------------------------------------------------------------------


def test_segments_under_many_threads_with_a_short_ttl_never_fail(clock):
    pz = Personalizer({"settings": {"segment_cache_ttl_seconds": 0.001}})
    errors = []

    def work(n: int) -> None:
        for i in range(1_500):
            visitor = f"v{(n * 7 + i) % 40}"
            if i % 3 == 0:
                pz.track(visitor, ev.PRODUCT_VIEWED, view(f"p{i % 9}"))
            if not pz.segments(visitor):
                errors.append(visitor)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert not [k for k in pz.stats() if k.startswith("errors.")]


def test_no_event_is_lost_while_the_shopper_logs_in():
    for trial in range(30):
        pz = Personalizer()
        visitor = f"anon-{trial}"
        pz.track(visitor, ev.PAGE_VIEWED)
        start = threading.Barrier(2)

        def browse(
            visitor: str = visitor, pz: Personalizer = pz, start: threading.Barrier = start
        ) -> None:
            start.wait()
            for _ in range(200):
                pz.track(visitor, ev.PRODUCT_VIEWED, view("a"))

        thread = threading.Thread(target=browse)
        thread.start()
        start.wait()
        pz.identify(visitor, user_id=f"u-{trial}")
        thread.join()
        profile = pz.profile(visitor)
        assert profile.user_id == f"u-{trial}"
        assert profile.counters[ev.PRODUCT_VIEWED] == 200, trial
        assert pz.store.load(f"v:{visitor}") is None


def test_an_evicted_link_does_not_lose_the_events_that_followed(clock):
    pz = Personalizer(clock=clock)
    pz.store.max_links = 1
    pz.identify("phone", user_id="u1")
    pz.identify("laptop", user_id="u2")  # evicts the phone's link
    pz.track("phone", ev.ORDER_COMPLETED, {"order_id": "o1", "total": 99.0})
    assert pz.profile("phone").user_id is None  # landed on an anonymous profile
    pz.identify("phone", user_id="u1")  # logs in again: that history is merged, not dropped
    assert pz.profile("phone").orders.total == 99.0


# -- reads never break the page -------------------------------------------------------------


def test_reads_with_bad_ids_return_safe_defaults_in_production(clock):
    pz = Personalizer(clock=clock)
    assert pz.profile(["x"]) == Profile(visitor_id=["x"])  # type: ignore[arg-type]
    assert pz.segments(None) == frozenset()
    assert pz.explain(None).segments == {}
    assert pz.affinities(None) == {"category": {}, "brand": {}}
    assert pz.stats()["invalid.missing"] == 3


def test_forget_raises_on_a_bad_id_even_in_production():
    pz = Personalizer()
    for bad in ("", 123, None):
        with pytest.raises(InvalidEvent):
            pz.forget(bad)  # type: ignore[arg-type]


def test_calls_after_close_are_refused(clock, caplog):
    pz = Personalizer(clock=clock)
    pz.track("v", ev.PAGE_VIEWED)
    pz.close()
    assert pz.track("v", ev.PAGE_VIEWED) is None
    assert pz.identify("v", traits={"a": 1}) is None
    assert pz.segments("v") == frozenset()
    assert pz.stats()["errors.track.closed"] == 1
    strict = Personalizer(strict=True)
    strict.close()
    with pytest.raises(PersonalizeError, match="closed"):
        strict.track("v", ev.PAGE_VIEWED)


# -- time -----------------------------------------------------------------------------------


def test_a_late_event_never_moves_times_back(pz, clock):
    pz.track("v", ev.PRODUCT_ADDED, view("a"))
    pz.track("v", ev.PRODUCT_VIEWED, view("b"))
    now = clock()
    pz.track("v", ev.PRODUCT_ADDED, view("c"), timestamp=now - 2 * 3600)
    pz.track("v", ev.PRODUCT_VIEWED, view("d"), timestamp=now - 2 * 3600)
    profile = pz.profile("v")
    assert profile.cart.updated_at == now
    assert profile.last_cart_add_at == now
    assert profile.last_product_view_at == now
    assert profile.recently_viewed == ("b", "d")  # the late view is older than b
    assert [i.product_id for i in profile.cart.items] == ["a", "c"]  # but the cart has it
    clock.advance(10 * MINUTE)
    assert "cart_abandoner" not in pz.segments("v")


def test_an_event_from_an_earlier_session_leaves_the_current_session_alone(pz, clock):
    pz.track("v", ev.PRODUCT_VIEWED, view("a"))
    session = pz.profile("v").session
    pz.track("v", ev.PRODUCT_VIEWED, view("old"), timestamp=clock() - DAY)
    profile = pz.profile("v")
    assert profile.session == session
    assert profile.sessions == 1
    assert profile.counters[ev.PRODUCT_VIEWED] == 2


def test_intent_segments_only_judge_a_current_session(pz, clock):
    for pid, price in (("a", 80.0), ("b", 150.0), ("c", 120.0)):
        pz.track("v", ev.PRODUCT_VIEWED, view(pid, price=price))
        clock.advance(70)
    pz.track("v", ev.PRODUCT_ADDED, view("b", price=150.0))
    assert "buyer_intent" in pz.segments("v")
    clock.advance(31 * MINUTE)
    assert not {"buyer_intent", "browser"} & pz.segments("v")


# -- bounded profiles -----------------------------------------------------------------------


def test_affinities_keep_only_the_strongest_keys(pz, clock):
    pz.track("v", ev.PRODUCT_ADDED, view("fav", category="Favourite", brand="Fav"))
    for i in range(MAX_AFFINITY_KEYS + 30):
        pz.track("v", ev.PRODUCT_VIEWED, view(f"p{i}", category=f"Cat {i}", brand=f"B{i}"))
        clock.advance(1)
    profile = pz.profile("v")
    assert len(profile.category_affinity) == MAX_AFFINITY_KEYS
    assert len(profile.brand_affinity) == MAX_AFFINITY_KEYS
    assert "favourite" in profile.category_affinity and "fav" in profile.brand_affinity
    assert len(profile.session.category_views) == MAX_CATEGORY_VIEWS


def test_long_category_names_are_cut(pz):
    pz.track("v", ev.PRODUCT_ADDED, view("a", category="Shoes " + "x" * 8000))
    [category] = pz.profile("v").category_affinity
    assert len(category) == MAX_KEY_LENGTH
    assert any(s.startswith("category_affine:shoes x") and len(s) < 130 for s in pz.segments("v"))


def test_traits_are_bounded_and_a_call_past_the_bound_changes_nothing(pz):
    pz.identify("v", traits={f"t{i}": i for i in range(MAX_TRAITS)})
    before = pz.profile("v")
    with pytest.raises(InvalidEvent, match="at most") as raised:
        pz.identify("v", traits={"one_more": 1})
    assert raised.value.kind == "too_many_traits"
    assert pz.profile("v") == before
    pz.identify("v", traits={"t0": None, "one_more": 1})  # replacing one is fine
    assert "one_more" in pz.profile("v").traits


# -- orders ---------------------------------------------------------------------------------


def test_quantity_zero_adds_nothing(pz):
    pz.track("v", ev.PRODUCT_ADDED, {**view("a"), "quantity": 0})
    assert not pz.profile("v").cart
    pz.track(
        "v",
        ev.CART_VIEWED,
        {"products": [{**view("a"), "quantity": 0}, {**view("b"), "quantity": 2}]},
    )
    assert [(i.product_id, i.quantity) for i in pz.profile("v").cart.items] == [("b", 2)]


def test_refunds_and_cancellations_take_money_back(clock):
    pz = Personalizer({"settings": {"high_value_total": 500}}, clock=clock, strict=True)
    pz.track("v", ev.ORDER_COMPLETED, {"order_id": "o1", "total": 400.0})
    pz.track("v", ev.ORDER_COMPLETED, {"order_id": "o2", "total": 200.0})
    assert "high_value" in pz.segments("v")
    pz.track("v", ev.ORDER_REFUNDED, {"order_id": "o1", "total": 150.0})  # partial refund
    orders = pz.profile("v").orders
    assert (orders.count, orders.total) == (2, 450.0)
    assert "high_value" not in pz.segments("v")
    pz.track("v", ev.ORDER_CANCELLED, {"order_id": "o2"})  # the whole order
    orders = pz.profile("v").orders
    assert (orders.count, orders.total, orders.order_ids) == (1, 250.0, ("o1",))
    pz.track("v", ev.ORDER_REFUNDED, {"order_id": "o1"})  # the rest of o1
    assert pz.profile("v").orders.total == 0.0
    pz.track("v", ev.ORDER_REFUNDED, {"order_id": "unknown"})  # nothing known, nothing given
    assert pz.profile("v").orders.total == 0.0


# -- server-side events by user id ----------------------------------------------------------


def test_server_side_events_reach_the_customer_and_count_once_after_login(pz, clock):
    # The browser tracks the order on the anonymous visitor; the order webhook by user id.
    pz.track("anon", ev.ORDER_COMPLETED, {"order_id": "o1", "total": 80.0})
    assert (
        pz.track(None, ev.ORDER_COMPLETED, {"order_id": "o1", "total": 80.0}, user_id="u1")
        is not None
    )
    assert pz.profile(user_id="u1").orders.total == 80.0
    assert "first_time_buyer" in pz.segments(user_id="u1")
    pz.identify("anon", user_id="u1")
    orders = pz.profile("anon").orders
    assert (orders.count, orders.total) == (1, 80.0)


def test_track_needs_a_visitor_or_a_user(pz):
    with pytest.raises(InvalidEvent) as raised:
        pz.track(None, ev.PAGE_VIEWED)
    assert raised.value.field == "visitor_id"
    with pytest.raises(InvalidEvent) as raised:
        pz.track(None, ev.PAGE_VIEWED, user_id="")
    assert raised.value.field == "user_id"


def test_forget_on_a_shared_device_leaves_the_other_customer_linked(pz):
    pz.track("shared", ev.PRODUCT_VIEWED, view("a"))
    pz.identify("shared", user_id="alice")
    pz.identify("shared", user_id="bob")
    pz.track("shared", ev.PRODUCT_VIEWED, view("b"))
    pz.forget("alice")
    assert pz.store.load("u:alice") is None
    assert pz.store.resolve("shared") == "bob"
    assert pz.profile("shared").recently_viewed == ("b",)


# -- config ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"buyer_intent_threshold": 7}, "settings.buyer_intent_threshold"),
        ({"at_risk_days": 200}, "settings.at_risk_days"),
        ({"at_risk_days": 30, "dormant_days": 30}, "settings.at_risk_days"),
    ],
)
def test_settings_that_would_silently_disable_segments_are_refused(settings, field):
    with pytest.raises(ConfigError) as raised:
        Personalizer({"settings": settings})
    assert raised.value.field == field


def test_a_config_error_inside_a_call_is_counted_as_internal_not_store(clock):
    pz = Personalizer(clock=clock)
    pz._live.evaluator.evaluate = lambda *a: (_ for _ in ()).throw(ConfigError("bad"))  # type: ignore[method-assign]
    assert pz.segments("v") == frozenset()
    assert pz.stats() == {"errors.segments.internal": 1}


# -- hostile sizes --------------------------------------------------------------------------


class Enormous(Mapping):
    """Claims a million keys and fails the test if anyone walks it."""

    def __len__(self) -> int:
        return 1_000_000

    def __iter__(self):
        raise AssertionError("walked a mapping that cannot fit")

    def __getitem__(self, key):
        raise AssertionError("walked a mapping that cannot fit")


@pytest.mark.parametrize(
    ("properties", "field"),
    [
        (Enormous(), "properties"),
        ({"nested": {"deep": [Enormous()]}}, "properties.nested.deep.0"),
        ({f"k{i}": 0 for i in range(200_000)}, "properties"),
        ({"tags": list(range(1_000_000))}, "properties.tags"),
    ],
    ids=["enormous-mapping", "nested-enormous-mapping", "200k-keys", "1m-items"],
)
def test_payloads_that_cannot_fit_are_refused_before_walking(pz, properties, field):
    with pytest.raises(InvalidEvent) as raised:
        pz.track("v", ev.PAGE_VIEWED, properties)
    assert (raised.value.field, raised.value.kind) == (field, "too_large")
    assert pz.profile("v") == Profile(visitor_id="v")


class Counted(Mapping):
    """Ten small entries; counts how many times it is walked."""

    walked = 0

    def __len__(self) -> int:
        return 10

    def __iter__(self):
        Counted.walked += 1
        return iter(f"k{i}" for i in range(10))

    def __getitem__(self, key):
        return 0


def test_the_size_budget_spans_the_whole_event_not_each_container(pz):
    Counted.walked = 0
    shared = Counted()
    with pytest.raises(InvalidEvent) as raised:
        pz.track("v", ev.PAGE_VIEWED, {"many": [shared] * 3_000})
    assert raised.value.kind == "too_large"
    # 3,000 mappings of ten entries need 180 KB: the walk stops after ~550 of them.
    assert Counted.walked < 600
    with pytest.raises(InvalidEvent, match="cannot fit"):
        pz.track("v", ev.PAGE_VIEWED, {"a": [[0] * 16_000] * 300})
