"""History that arrives late, twice, or from two places: affinities, carts, orders, merges."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from personalize_sdk import ConfigError, EventLimits, InvalidEvent, Personalizer
from personalize_sdk import events as ev
from personalize_sdk.identity import MAX_TRAITS, merge
from tests.helpers import DAY, MINUTE, view

YEAR_2000 = 946_771_200.0  # 2000-01-02


@pytest.mark.parametrize("half_life_days", [7, 1, 0.01])
def test_events_from_long_ago_keep_affinities_exact(clock, half_life_days):
    pz = Personalizer(
        {"settings": {"affinity_half_life_days": half_life_days}}, clock=clock, strict=True
    )
    pz.track("v", ev.PRODUCT_VIEWED, view("a", category="Shoes"))
    pz.track("v", ev.PRODUCT_VIEWED, view("b", category="Shoes"), timestamp=YEAR_2000)
    pz.track(
        "v",
        ev.ORDER_COMPLETED,
        {"order_id": "old", "total": 5.0, "products": [view("c", category="Bags")]},
        timestamp=YEAR_2000,
    )
    scores = pz.affinities("v")
    assert scores["category"]["shoes"] == pytest.approx(1.0)  # the old view adds ~nothing
    assert scores["category"]["bags"] == pytest.approx(0.0, abs=1e-9)


def test_login_after_a_webhook_order_keeps_the_cart_it_emptied(pz, clock):
    pz.track("anon", ev.PRODUCT_ADDED, view("p"))
    clock.advance(2 * MINUTE)
    pz.track(None, ev.ORDER_COMPLETED, {"order_id": "o1", "total": 100.0}, user_id="u1")
    clock.advance(MINUTE)
    pz.identify("anon", user_id="u1")
    profile = pz.profile("anon")
    assert not profile.cart
    assert profile.sessions == 1  # one browsing session, seen by both profiles
    clock.advance(40 * MINUTE)
    assert not {"cart_abandoner", "returning"} & pz.segments("anon")


def test_login_merges_a_cart_that_no_order_bought(pz, clock):
    pz.track(None, ev.PRODUCT_ADDED, view("old"), user_id="u1")
    clock.advance(DAY)
    pz.track("anon", ev.PRODUCT_ADDED, view("new"))
    pz.identify("anon", user_id="u1")
    assert [i.product_id for i in pz.profile("anon").cart.items] == ["new", "old"]
    assert pz.profile("anon").sessions == 2


def test_a_late_order_leaves_a_newer_cart_alone(pz, clock):
    pz.track("v", ev.PRODUCT_ADDED, view("later"))
    pz.track(
        "v", ev.ORDER_COMPLETED, {"order_id": "o1", "total": 9.0}, timestamp=clock() - 10 * MINUTE
    )
    profile = pz.profile("v")
    assert [i.product_id for i in profile.cart.items] == ["later"]
    assert profile.orders.count == 1


def test_an_add_from_before_the_last_order_does_not_refill_the_cart(pz, clock):
    pz.track("v", ev.ORDER_COMPLETED, {"order_id": "o1", "total": 9.0})
    pz.track("v", ev.PRODUCT_ADDED, view("x"), timestamp=clock() - MINUTE)  # retried, late
    assert not pz.profile("v").cart
    clock.advance(40 * MINUTE)
    assert "cart_abandoner" not in pz.segments("v")


def test_an_older_cart_snapshot_is_ignored(pz, clock):
    pz.track("v", ev.PRODUCT_ADDED, view("a"))
    pz.track("v", ev.CART_VIEWED, {"products": []}, timestamp=clock() - MINUTE)
    assert [i.product_id for i in pz.profile("v").cart.items] == ["a"]


def order(pz, order_id, total, **kw):
    pz.track("v", ev.ORDER_COMPLETED, {"order_id": order_id, "total": total}, **kw)


def test_a_cancelled_order_stays_cancelled_when_its_completion_comes_again(pz, clock):
    order(pz, "o1", 100.0)
    pz.track("v", ev.ORDER_CANCELLED, {"order_id": "o1"})
    order(pz, "o1", 100.0)  # the webhook delivers the completion again
    orders = pz.profile("v").orders
    assert (orders.count, orders.total) == (0, 0.0)


def test_a_cancellation_before_its_completion(pz, clock):
    pz.track("v", ev.ORDER_CANCELLED, {"order_id": "o1"})
    order(pz, "o1", 100.0)
    assert (pz.profile("v").orders.count, pz.profile("v").orders.total) == (0, 0.0)


def test_a_refund_never_takes_more_than_remains_of_its_order(pz):
    order(pz, "o1", 100.0)
    order(pz, "o2", 400.0)
    pz.track("v", ev.ORDER_REFUNDED, {"order_id": "o1", "total": 400.0})
    assert pz.profile("v").orders.total == 400.0
    pz.track("v", ev.ORDER_REFUNDED, {"order_id": "o2", "total": 150.0})
    pz.track("v", ev.ORDER_CANCELLED, {"order_id": "o2", "total": 400.0})  # payload's total
    orders = pz.profile("v").orders
    assert (orders.count, orders.total) == (1, 0.0)  # o1 refunded in full, o2 cancelled


def test_merging_keeps_traits_bounded_and_the_customers_win(pz):
    pz.identify("anon", traits={f"v{i}": i for i in range(150)} | {"tier": "visitor"})
    pz.identify("other", user_id="u1", traits={f"c{i}": i for i in range(150)} | {"tier": "gold"})
    pz.identify("anon", user_id="u1")
    traits = pz.profile("anon").traits
    assert len(traits) == MAX_TRAITS
    assert traits["tier"] == "gold"
    assert all(f"c{i}" in traits for i in range(150))


def test_too_many_traits_still_links_and_merges(clock):
    pz = Personalizer(clock=clock)
    pz.identify("u-device", user_id="u1", traits={f"t{i}": i for i in range(MAX_TRAITS)})
    pz.track("anon", ev.ORDER_COMPLETED, {"order_id": "o1", "total": 10.0})
    assert pz.identify("anon", user_id="u1", traits={"one_more": 1}) is None
    assert pz.stats()["invalid.too_many_traits"] == 1
    profile = pz.profile("anon")
    assert profile.user_id == "u1" and profile.orders.total == 10.0
    assert "one_more" not in profile.traits


def test_traits_are_copied(pz):
    location = {"city": "Pune", "latitude": 18.5}
    traits = {"location": location, "tags": ["a"]}
    pz.identify("v", traits=traits)
    location["latitude"] = float("nan")
    traits["tags"].append(object())
    assert pz.profile("v").traits == {"location": {"city": "Pune", "latitude": 18.5}, "tags": ["a"]}


def test_reads_never_confuse_an_int_with_a_visitor_id(clock):
    pz = Personalizer(clock=clock)
    pz.track("123", ev.PRODUCT_VIEWED, view("secret"))
    assert pz.profile(123).recently_viewed == ()  # type: ignore[arg-type]
    assert pz.stats()["invalid.type"] == 1


@pytest.mark.parametrize(
    "bad", [{"max_event_bytes": "32k"}, {"max_depth": 0}, {"max_string_length": True}]
)
def test_event_limits_are_validated(bad):
    with pytest.raises(ConfigError) as raised:
        EventLimits(**bad)
    assert raised.value.field == next(iter(bad))


class UnhashableKeys(Mapping):
    def __len__(self) -> int:
        return 1

    def __iter__(self):
        return iter([["a", "list"]])

    def __getitem__(self, key):
        return 1

    def items(self):
        return [(["a", "list"], 1)]


def test_a_mapping_with_an_unhashable_key_is_invalid_not_a_crash(pz):
    with pytest.raises(InvalidEvent) as raised:
        pz.track("v", ev.PAGE_VIEWED, UnhashableKeys())
    assert raised.value.kind == "type"


def test_relinking_a_visitor_keeps_the_link_index_right(pz):
    pz.identify("d1", user_id="alice")
    pz.identify("d2", user_id="alice")
    pz.identify("d1", user_id="bob")
    assert pz.store.unlink_user("alice") == ["d2"]
    assert pz.store.resolve("d1") == "bob"
    assert pz.store.unlink_user("bob") == ["d1"]


def test_a_cancellation_seen_only_by_the_visitor_cancels_the_customers_order(pz, clock):
    pz.track(None, ev.ORDER_COMPLETED, {"order_id": "o1", "total": 70.0}, user_id="u1")
    pz.track("anon", ev.ORDER_CANCELLED, {"order_id": "o1"})  # the visitor saw only this
    pz.identify("anon", user_id="u1")
    orders = pz.profile("anon").orders
    assert (orders.count, orders.total, orders.cancelled) == (0, 0.0, ("o1",))


def test_an_order_cancelled_already_gives_nothing_more_back(pz):
    order(pz, "keep", 200.0)
    order(pz, "x", 100.0)
    pz.track("v", ev.ORDER_CANCELLED, {"order_id": "x", "total": 100.0})
    pz.track("v", ev.ORDER_CANCELLED, {"order_id": "x", "total": 100.0})  # a webhook retried
    pz.track("v", ev.ORDER_REFUNDED, {"order_id": "x", "total": 100.0})  # after the cancel
    orders = pz.profile("v").orders
    assert (orders.count, orders.total) == (1, 200.0)


def test_a_cancellation_before_its_completion_takes_nothing_from_other_orders(pz):
    order(pz, "keep", 200.0)
    pz.track("v", ev.ORDER_CANCELLED, {"order_id": "x", "total": 100.0})
    order(pz, "x", 100.0)  # the completion arrives late: it stays cancelled
    orders = pz.profile("v").orders
    assert (orders.count, orders.total) == (1, 200.0)


def test_a_cancellation_of_an_order_whose_record_made_room_takes_its_amount(clock):
    pz = Personalizer({"settings": {"order_history_limit": 2}}, clock=clock, strict=True)
    for number in range(3):
        order(pz, f"o{number}", 100.0)
    assert len(pz.profile("v").orders.recent_orders) == 2  # o0's record made room
    pz.track("v", ev.ORDER_CANCELLED, {"order_id": "o0", "total": 100.0})
    assert pz.profile("v").orders.total == 200.0


def test_the_merge_of_an_order_refunded_on_one_side_does_not_depend_on_the_order(pz):
    pz.track("anon", ev.ORDER_COMPLETED, {"order_id": "x", "total": 100.0})
    pz.track(None, ev.ORDER_COMPLETED, {"order_id": "x", "total": 100.0}, user_id="u1")
    pz.track(None, ev.ORDER_REFUNDED, {"order_id": "x", "total": 30.0}, user_id="u1")
    anon, customer = pz.profile("anon"), pz.profile(user_id="u1")
    settings = pz.config.settings
    for merged in (merge(customer, anon, settings), merge(anon, customer, settings)):
        assert merged.orders.total == 70.0 and merged.orders.recent_orders == (("x", 70.0),)


def test_an_event_delivered_late_leaves_the_sessions_page_where_the_shopper_is(pz, clock):
    start = clock.now
    clock.advance(600)
    pz.track("v", ev.PRODUCT_VIEWED, view("a"), timestamp=start)
    pz.track("v", ev.CHECKOUT_STARTED, {}, timestamp=start + 120)
    pz.track("v", ev.PAGE_VIEWED, {"page_type": "home"}, timestamp=start + 60)  # late
    assert pz.profile("v").session.page_type == "checkout"


@pytest.mark.parametrize("new_days", [30.0, 1.0])
def test_a_new_half_life_keeps_the_scores_and_changes_only_the_decay_from_then_on(clock, new_days):
    pz = Personalizer({"settings": {"affinity_half_life_days": 7}}, clock=clock, strict=True)
    pz.track("v", ev.PRODUCT_VIEWED, view("a", category="Shoes", brand="Nike"))
    pz.apply_config({"settings": {"affinity_half_life_days": new_days}})
    assert pz.affinities("v")["category"] == {"shoes": pytest.approx(1.0)}
    assert not {"category_affine:shoes", "brand_affine:nike"} & pz.segments("v")
    clock.advance(DAY)
    pz.track("v", ev.PRODUCT_VIEWED, view("b", category="Bags"))  # rebased as of this event
    scores = pz.affinities("v")["category"]
    assert scores["bags"] == pytest.approx(1.0)
    assert scores["shoes"] == pytest.approx(2 ** (-1 / 7))  # a day at the old rate, untouched
    clock.advance(new_days * DAY)
    assert pz.affinities("v")["category"]["shoes"] == pytest.approx(2 ** (-1 / 7) / 2)


def test_a_merge_sums_affinities_written_under_two_half_lives(clock):
    pz = Personalizer({"settings": {"affinity_half_life_days": 7}}, clock=clock, strict=True)
    pz.track(None, ev.PRODUCT_VIEWED, view("a", category="Shoes"), user_id="u1")
    pz.apply_config({"settings": {"affinity_half_life_days": 14}})
    pz.track("anon", ev.PRODUCT_VIEWED, view("b", category="Shoes"))
    pz.identify("anon", user_id="u1")
    assert pz.affinities(user_id="u1")["category"] == {"shoes": pytest.approx(2.0)}


def test_a_removal_delivered_after_a_later_add_leaves_that_add(pz, clock):
    start = clock.now
    clock.advance(600)
    pz.track("v", ev.PRODUCT_ADDED, view("a"), timestamp=start)
    pz.track("v", ev.PRODUCT_ADDED, view("b"), timestamp=start + 60)
    pz.track("v", ev.PRODUCT_ADDED, view("a"), timestamp=start + 120)
    pz.track("v", ev.PRODUCT_REMOVED, {"product_id": "a"}, timestamp=start + 90)  # late
    pz.track("v", ev.PRODUCT_REMOVED, {"product_id": "b"}, timestamp=start + 90)
    cart = pz.profile("v").cart
    assert [(item.product_id, item.quantity) for item in cart.items] == [("a", 2)]


def test_removing_a_product_not_in_the_cart_changes_nothing(pz, clock):
    pz.track("v", ev.PRODUCT_ADDED, view("a"))
    before = pz.profile("v").cart
    clock.advance(3600)
    pz.track("v", ev.PRODUCT_REMOVED, {"product_id": "zzz"})
    assert pz.profile("v").cart == before  # still a cart left an hour ago
    assert "cart_abandoner" in pz.segments("v")


def test_a_line_in_another_currency_starts_the_cart_afresh(pz):
    pz.track("v", ev.PRODUCT_ADDED, {**view("a", price=100.0), "currency": "USD"})
    pz.track("v", ev.PRODUCT_ADDED, {**view("b", price=15000.0), "currency": "JPY"})
    cart = pz.profile("v").cart
    assert (cart.currency, float(cart.value)) == ("JPY", 15000.0)
    assert [item.product_id for item in cart.items] == ["b"]


def test_merging_saturated_totals_stays_a_number(pz):
    for shopper in ({"visitor_id": "anon"}, {"visitor_id": None, "user_id": "u1"}):
        visitor = shopper.pop("visitor_id")
        for order_id in ("x", "y"):
            properties = {"order_id": order_id, "total": 1.7e308}
            pz.track(visitor, ev.ORDER_COMPLETED, properties, **shopper)
    pz.identify("anon", user_id="u1")
    total = pz.profile(user_id="u1").orders.total
    assert total == pytest.approx(1.7976931348623157e308)  # saturated, never NaN
