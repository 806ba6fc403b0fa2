"""Built-in segments (S1-S4), custom segments (S6), explanations and the segment cache."""

from __future__ import annotations

import pytest

from personalize_sdk import Personalizer
from personalize_sdk import events as ev
from personalize_sdk.intent import explain_intent, intent_score
from tests.helpers import DAY, MINUTE, Clock, view


def segs(pz: Personalizer, visitor: str = "v") -> frozenset[str]:
    return pz.segments(visitor)


def order(pz: Personalizer, total: float, visitor: str = "v", **extra) -> None:
    pz.track(visitor, ev.ORDER_COMPLETED, {"order_id": f"o{pz.clock()}", "total": total, **extra})


# -- S1 browser vs buyer intent -----------------------------------------------------------------


def test_an_unknown_visitor_is_new_and_nothing_else(pz):
    assert segs(pz, "never-seen") == frozenset({"new_visitor"})


def test_window_shopper_is_a_browser(pz, clock):
    pz.track("v", ev.PAGE_VIEWED, {"page_type": "home"})
    clock.advance(30)
    pz.track("v", ev.PRODUCT_VIEWED, view("a"))
    assert "browser" in segs(pz)
    assert "buyer_intent" not in segs(pz)
    assert intent_score(pz.profile("v")) < 0.5


def test_comparing_focused_shopper_who_adds_to_cart_has_buyer_intent(pz, clock):
    for pid, price in (("a", 80.0), ("b", 150.0), ("c", 120.0)):
        pz.track("v", ev.PRODUCT_VIEWED, view(pid, price=price))
        clock.advance(70)
    pz.track("v", ev.PRODUCT_ADDED, view("b", price=150.0))
    assert "buyer_intent" in segs(pz)
    assert "browser" not in segs(pz)


def test_intent_is_explainable_factor_by_factor(pz, clock):
    for pid, price in (("a", 50.0), ("b", 100.0)):
        pz.track("v", ev.PRODUCT_VIEWED, view(pid, price=price))
        clock.advance(90)
    pz.track("v", ev.PAGE_VIEWED, {"page_type": "home"})
    explanation = explain_intent(pz.profile("v"))
    factors = {f.name: f for f in explanation.factors}
    assert set(factors) == {
        "funnel_depth",
        "products_viewed",
        "product_time",
        "category_focus",
        "price_comparison",
    }
    assert sum(f.weight for f in factors.values()) == pytest.approx(1.0)
    assert factors["products_viewed"].signal == pytest.approx(2 / 5)
    assert factors["product_time"].signal == pytest.approx(1.0)  # 180 s
    assert factors["price_comparison"].signal == 1.0  # 50 vs 100: spread 50 %
    assert factors["category_focus"].signal == 1.0
    assert explanation.score == pytest.approx(sum(f.contribution for f in factors.values()))
    assert explanation.score == pytest.approx(intent_score(pz.profile("v")))
    assert 0.0 <= explanation.score <= 1.0
    assert "180s on product pages" in str(explanation)


def test_after_the_order_the_session_is_neither_browser_nor_buyer_intent(pz):
    order(pz, 20.0)
    assert not {"browser", "buyer_intent"} & segs(pz)


# -- S2 RFM cohorts -----------------------------------------------------------------------------


def test_new_and_returning(pz, clock):
    pz.track("v", ev.PAGE_VIEWED, {"page_type": "home"})
    assert {"new_visitor"} <= segs(pz) and "returning" not in segs(pz)
    clock.advance(2 * DAY)
    pz.track("v", ev.PAGE_VIEWED, {"page_type": "home"})
    assert "returning" in segs(pz) and "new_visitor" not in segs(pz)


def test_first_time_repeat_and_high_value_buyers(pz, clock):
    order(pz, 100.0)
    assert {"first_time_buyer"} <= segs(pz)
    assert not {"repeat_buyer", "high_value", "new_visitor"} & segs(pz)
    clock.advance(DAY)
    order(pz, 450.0)
    assert {"repeat_buyer", "high_value"} <= segs(pz)
    assert "first_time_buyer" not in segs(pz)


def test_at_risk_then_dormant_with_configurable_days(clock):
    pz = Personalizer({"settings": {"at_risk_days": 30, "dormant_days": 60}}, clock=clock)
    order(pz, 10.0)
    clock.advance(29 * DAY)
    assert not {"at_risk", "dormant"} & segs(pz)
    clock.advance(2 * DAY)
    assert "at_risk" in pz.segments("v")  # the cache TTL (60 s) has long expired
    clock.advance(30 * DAY)
    assert "dormant" in segs(pz) and "at_risk" not in segs(pz)


def test_dormant_default_is_180_days_and_never_buyers_are_not_dormant(pz, clock):
    order(pz, 10.0)
    pz.track("w", ev.PAGE_VIEWED, {"page_type": "home"})
    clock.advance(179 * DAY)
    assert "dormant" not in segs(pz)
    clock.advance(2 * DAY)
    assert "dormant" in segs(pz)
    assert "dormant" not in segs(pz, "w")


def test_a_shopper_whose_only_order_was_cancelled_is_no_lapsed_buyer(pz, clock):
    pz.track("v", ev.ORDER_COMPLETED, {"order_id": "o1", "total": 50.0})
    pz.track("v", ev.ORDER_CANCELLED, {"order_id": "o1", "total": 50.0})
    clock.advance(100 * DAY)
    assert not {"at_risk", "dormant", "first_time_buyer"} & segs(pz)
    clock.advance(100 * DAY)
    assert "dormant" not in segs(pz)


def test_intent_in_a_condition_is_the_current_sessions_only(clock):
    pz = Personalizer(
        {"segments": [{"name": "hot", "condition": {"intent": {"$gte": 0.3}}}]}, clock=clock
    )
    for pid, price in (("a", 80.0), ("b", 150.0), ("c", 120.0)):
        pz.track("v", ev.PRODUCT_VIEWED, view(pid, price=price))
        clock.advance(70)
    pz.track("v", ev.PRODUCT_ADDED, view("c", price=120.0))
    assert "hot" in segs(pz)
    clock.advance(DAY)  # the session timed out long ago
    assert "hot" not in segs(pz)


# -- S3 affinities ------------------------------------------------------------------------------


def test_brand_and_category_affine_segments_are_lower_cased_and_decay(pz, clock):
    for i in range(3):
        pz.track("v", ev.PRODUCT_VIEWED, view(f"p{i}", category="Men's Shoes", brand="NIKE"))
    assert {"brand_affine:nike", "category_affine:men's shoes"} <= segs(pz)
    clock.advance(14 * DAY)  # score 3 -> 0.75, under the threshold of 3
    assert not {"brand_affine:nike", "category_affine:men's shoes"} & segs(pz)


def test_affinity_threshold_is_configurable(clock):
    pz = Personalizer({"settings": {"affinity_threshold": 1}}, clock=clock)
    pz.track("v", ev.PRODUCT_VIEWED, view("a", brand="Zen"))
    assert "brand_affine:zen" in pz.segments("v")


# -- S4 abandoners ------------------------------------------------------------------------------


def test_cart_abandoner_after_idle_time_until_the_window_closes(pz, clock):
    pz.track("v", ev.PRODUCT_ADDED, view("a"))
    clock.advance(29 * MINUTE)
    assert "cart_abandoner" not in segs(pz)
    clock.advance(2 * MINUTE)
    assert "cart_abandoner" in segs(pz)
    clock.advance(8 * DAY)
    assert "cart_abandoner" not in segs(pz)


def test_ordering_ends_cart_abandonment(pz, clock):
    pz.track("v", ev.PRODUCT_ADDED, view("a"))
    clock.advance(40 * MINUTE)
    order(pz, 100.0)
    clock.advance(40 * MINUTE)
    assert "cart_abandoner" not in segs(pz)


def test_browse_abandoner_viewed_but_added_nothing(pz, clock):
    pz.track("v", ev.PRODUCT_VIEWED, view("a"))
    pz.track("w", ev.PRODUCT_VIEWED, view("a"))
    pz.track("w", ev.PRODUCT_ADDED, view("a"))
    clock.advance(31 * MINUTE)
    assert "browse_abandoner" in segs(pz, "v")
    assert "browse_abandoner" not in segs(pz, "w")
    assert "cart_abandoner" in segs(pz, "w")


def test_browse_abandonment_ends_with_an_order_or_a_cart_add(pz, clock):
    pz.track("v", ev.PRODUCT_VIEWED, view("a"))
    pz.track("v", ev.PRODUCT_ADDED, view("a"))
    pz.track("v", ev.PRODUCT_REMOVED, {"product_id": "a"})
    clock.advance(31 * MINUTE)
    assert "browse_abandoner" not in segs(pz)
    pz.track("v", ev.PRODUCT_VIEWED, view("b"))
    clock.advance(31 * MINUTE)
    assert "browse_abandoner" in segs(pz)


# -- S6 custom segments -------------------------------------------------------------------------

CUSTOM = {
    "segments": [
        {
            "name": "gold_india",
            "condition": {"traits.tier": "gold", "traits.country": {"$in": ["IN", "LK"]}},
        },
        {"name": "big_cart", "condition": {"cart.value": {"$gte": 200}}},
        {"name": "watch_fan", "condition": {"affinities.category.watches": {"$gte": 2}}},
        {
            "name": "loyal",
            "condition": {
                "$or": [{"orders.count": {"$gte": 3}}, {"segments": {"$in": ["high_value"]}}]
            },
        },
        {"name": "searcher", "condition": {"counters.Products Searched": {"$gte": 2}}},
        {
            "name": "lapsed_watch_buyer",
            "condition": {
                "orders.categories": {"$elemMatch": {"$eq": "watches"}},
                "orders.days_ago": {"$gt": 30},
            },
        },
    ]
}


@pytest.fixture
def custom(clock: Clock) -> Personalizer:
    return Personalizer(CUSTOM, clock=clock, strict=True)


def test_custom_segments_over_traits_cart_affinities_counters_and_builtins(custom, clock):
    custom.identify("v", user_id="u", traits={"tier": "gold", "country": "IN"})
    custom.track("v", ev.PRODUCT_ADDED, {**view("a", price=150.0), "quantity": 2})
    custom.track("v", ev.PRODUCT_VIEWED, view("b"))
    custom.track("v", ev.PRODUCTS_SEARCHED, {"query": "watch"})
    assert {"gold_india", "big_cart", "watch_fan"} <= custom.segments("v")
    assert "searcher" not in custom.segments("v")
    custom.track("v", ev.PRODUCTS_SEARCHED, {"query": "strap"})
    assert "searcher" in custom.segments("v")
    custom.identify("v", user_id="u", traits={"country": "US"})
    assert "gold_india" not in custom.segments("v")


def test_custom_segments_can_use_built_in_segments_and_order_history(custom, clock):
    custom.track(
        "v",
        ev.ORDER_COMPLETED,
        {"order_id": "o", "total": 900.0, "products": [view("w", category="Watches")]},
    )
    assert "loyal" in custom.segments("v")
    assert "lapsed_watch_buyer" not in custom.segments("v")
    clock.advance(31 * DAY)
    assert "lapsed_watch_buyer" in custom.segments("v")


def test_explain_gives_a_reason_for_every_segment(custom, clock):
    custom.track("v", ev.PRODUCT_ADDED, {**view("a", price=300.0)})
    clock.advance(31 * MINUTE)
    explanation = custom.explain("v")
    assert set(explanation.segments) == custom.segments("v")
    assert explanation.segments["cart_abandoner"] == "1 items left in cart 31 minutes ago"
    assert explanation.segments["big_cart"] == "matches its condition"
    assert all(explanation.segments.values())
    assert "cart_abandoner: 1 items left" in str(explanation)


# -- the per-process cache ----------------------------------------------------------------------


def test_the_cache_serves_repeat_calls_and_is_invalidated_by_a_profile_change(pz, clock):
    pz.track("v", ev.PRODUCT_VIEWED, view("a"))
    first = pz.segments("v")
    assert pz.segments("v") is first  # served from the cache
    pz.track("v", ev.PRODUCT_VIEWED, view("b"))
    pz.track("v", ev.PRODUCT_VIEWED, view("c"))
    assert "category_affine:watches" in pz.segments("v")  # seen at once, no wait
    assert "category_affine:watches" not in first


def test_time_based_segments_refresh_when_the_cache_ttl_expires(clock):
    pz = Personalizer({"settings": {"segment_cache_ttl_seconds": 120}}, clock=clock)
    pz.track("v", ev.PRODUCT_ADDED, view("a"))
    clock.advance(29 * MINUTE)
    assert "cart_abandoner" not in pz.segments("v")
    clock.advance(90)
    assert "cart_abandoner" not in pz.segments("v")  # cached for up to the TTL
    clock.advance(31)
    assert "cart_abandoner" in pz.segments("v")


def test_caching_can_be_turned_off(clock):
    pz = Personalizer({"settings": {"segment_cache_ttl_seconds": 0}}, clock=clock)
    pz.track("v", ev.PRODUCT_ADDED, view("a"))
    clock.advance(30 * MINUTE)
    assert "cart_abandoner" in pz.segments("v")


def test_identify_and_forget_invalidate_the_cache(custom):
    custom.track("v", ev.PAGE_VIEWED, {"page_type": "home"})
    assert "gold_india" not in custom.segments("v")
    custom.identify("v", user_id="u", traits={"tier": "gold", "country": "LK"})
    assert "gold_india" in custom.segments("v")
    custom.forget("u")
    assert custom.segments("v") == frozenset({"new_visitor"})
