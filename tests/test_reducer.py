"""Every rule of the profile reducer (P1-P5), driven through the pure `reduce` function."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pytest

from personalize_sdk import Profile, Settings
from personalize_sdk import events as ev
from personalize_sdk._validation import validate_event
from personalize_sdk.affinity import score
from personalize_sdk.profile import MAX_AMOUNT, MAX_QUANTITY
from personalize_sdk.profile_codec import decode, encode
from personalize_sdk.reducer import MAX_COUNTERS, reduce
from tests.helpers import DAY, MINUTE, T0, view

SETTINGS = Settings()


def event(name: str, props: dict[str, Any] | None = None, at: float = T0, **kw: Any):
    return validate_event(
        "v1", name, props, timestamp=at, message_id=kw.get("message_id"), context=None, now=at
    )


def fold(
    *steps: tuple[str, dict | None, float],
    settings: Settings = SETTINGS,
    profile: Profile | None = None,
) -> Profile:
    profile = profile or Profile(visitor_id="v1")
    for name, props, at in steps:
        profile = reduce(profile, event(name, props, at), settings)
    return profile


# -- P1 recently viewed -------------------------------------------------------------------------


def test_recently_viewed_most_recent_first_and_deduplicated():
    p = fold(*[(ev.PRODUCT_VIEWED, view(pid), T0 + i) for i, pid in enumerate("abcb")])
    assert p.recently_viewed == ("b", "c", "a")


def test_recently_viewed_is_bounded_by_default_and_configurable():
    steps = [(ev.PRODUCT_VIEWED, view(f"p{i}"), T0 + i) for i in range(30)]
    assert fold(*steps).recently_viewed == tuple(f"p{i}" for i in range(29, 9, -1))
    small = Settings(recently_viewed_limit=3)
    assert fold(*steps, settings=small).recently_viewed == ("p29", "p28", "p27")


def test_integer_product_ids_become_text_and_missing_ids_change_nothing_in_the_list():
    p = fold((ev.PRODUCT_VIEWED, {"product_id": 42}, T0), (ev.PRODUCT_VIEWED, {"name": "x"}, T0))
    assert p.recently_viewed == ("42",)
    assert p.counters[ev.PRODUCT_VIEWED] == 2


# -- P2 session signals -------------------------------------------------------------------------


def test_session_counts_products_time_on_product_pages_and_price_spread():
    p = fold(
        (ev.PAGE_VIEWED, {"page_type": "home"}, T0),
        (ev.PRODUCT_VIEWED, view("a", price=50.0), T0 + 60),
        (ev.PRODUCT_VIEWED, view("b", price=200.0), T0 + 100),  # 40 s on product a
        (ev.PAGE_VIEWED, {"page_type": "category"}, T0 + 130),  # 30 s on product b
    )
    s = p.session
    assert s.products_viewed == ("a", "b")
    assert s.product_seconds == 70.0
    assert (s.price_min, s.price_max) == (50.0, 200.0)
    assert s.price_spread == pytest.approx(0.75)
    assert s.events == 4


def test_a_tab_left_open_counts_only_up_to_the_dwell_cap():
    p = fold(
        (ev.PRODUCT_VIEWED, view("a"), T0),
        (ev.PAGE_VIEWED, {"page_type": "home"}, T0 + 25 * MINUTE),
    )
    assert p.session.product_seconds == SETTINGS.product_dwell_cap_seconds


def test_new_session_after_the_timeout_resets_signals():
    p = fold((ev.PRODUCT_VIEWED, view("a"), T0), (ev.PRODUCT_VIEWED, view("b"), T0 + 10 * MINUTE))
    assert p.sessions == 1
    p = fold((ev.PAGE_VIEWED, {"page_type": "home"}, T0 + 41 * MINUTE), profile=p)
    assert p.sessions == 2
    assert p.session.products_viewed == ()
    assert p.session.product_seconds == 0.0
    assert p.session.started_at == T0 + 41 * MINUTE
    assert p.recently_viewed == ("b", "a")  # history outlives the session


def test_out_of_order_event_never_makes_time_negative():
    p = fold((ev.PRODUCT_VIEWED, view("a"), T0 + 100), (ev.PRODUCT_VIEWED, view("b"), T0 + 40))
    assert p.session.product_seconds == 0.0
    assert p.session.last_at == T0 + 100
    assert (p.first_seen, p.last_seen) == (T0 + 40, T0 + 100)


def test_deepest_funnel_stage_and_drop_off_page():
    p = fold(
        (ev.PAGE_VIEWED, {"page_type": "Home"}, T0),
        (ev.PRODUCT_LIST_VIEWED, {"category": "Shoes"}, T0 + 1),
        (ev.PRODUCT_VIEWED, view("a"), T0 + 2),
        (ev.PRODUCT_ADDED, view("a"), T0 + 3),
        (ev.PAGE_VIEWED, {"page_type": "blog"}, T0 + 4),
    )
    assert p.session.stage == "cart"
    assert p.session.page_type == "blog"  # where the shopper dropped off
    p = fold(
        (ev.CHECKOUT_STARTED, {}, T0 + 5), (ev.ORDER_COMPLETED, {"total": 1.0}, T0 + 6), profile=p
    )
    assert p.session.stage == "purchase"
    assert p.session.page_type == "confirmation"


@pytest.mark.parametrize(
    ("name", "props", "page_type", "stage"),
    [
        (ev.PAGE_VIEWED, {"page_type": "Home"}, "home", "home"),
        (ev.PAGE_VIEWED, {"type": "cart"}, "cart", "cart"),
        (ev.PAGE_VIEWED, {"page_type": "blog"}, "blog", "none"),
        (ev.PAGE_VIEWED, {}, "other", "none"),
        (ev.PRODUCT_LIST_VIEWED, {}, "category", "browse"),
        (ev.PRODUCT_LIST_FILTERED, {}, "category", "browse"),
        (ev.PRODUCTS_SEARCHED, {"query": "q"}, "search", "browse"),
        (ev.PRODUCT_VIEWED, view("a"), "product", "product"),
        (ev.PRODUCT_ADDED, view("a"), None, "cart"),
        (ev.CART_VIEWED, {}, "cart", "cart"),
        (ev.CHECKOUT_STARTED, {}, "checkout", "checkout"),
        (ev.CHECKOUT_STEP_VIEWED, {}, "checkout", "checkout"),
        (ev.CHECKOUT_STEP_COMPLETED, {}, "checkout", "checkout"),
        (ev.PAYMENT_INFO_ENTERED, {}, "checkout", "checkout"),
        (ev.ORDER_COMPLETED, {"total": 1.0}, "confirmation", "purchase"),
        ("Newsletter Signed Up", {}, None, "none"),
    ],
)
def test_each_event_sets_its_page_type_and_funnel_stage(name, props, page_type, stage):
    p = fold((name, props, T0))
    assert (p.session.page_type, p.session.stage) == (page_type, stage)


def test_category_focus_measures_many_of_one_type_vs_many_types():
    focused = fold(
        *[(ev.PRODUCT_VIEWED, view(f"p{i}", category="Watches"), T0 + i) for i in range(4)]
    )
    assert focused.session.category_focus == 1.0
    assert focused.session.top_category == "watches"
    spread = fold(
        *[
            (ev.PRODUCT_VIEWED, view(f"p{i}", category=c), T0 + i)
            for i, c in enumerate(["Watches", "Shoes", "Bags", "Watches"])
        ]
    )
    assert spread.session.category_focus == 0.5


# -- P3 affinities ------------------------------------------------------------------------------


def test_affinity_halves_every_half_life_and_keys_are_lower_cased():
    p = fold((ev.PRODUCT_VIEWED, view("a", category=" Watches ", brand="ACME"), T0))
    assert set(p.category_affinity) == {"watches"}
    assert set(p.brand_affinity) == {"acme"}
    half_life = SETTINGS.half_life
    assert score(p.category_affinity["watches"], T0, half_life) == pytest.approx(1.0)
    assert score(p.category_affinity["watches"], T0 + 7 * DAY, half_life) == pytest.approx(0.5)
    assert score(p.brand_affinity["acme"], T0 + 14 * DAY, half_life) == pytest.approx(0.25)


def test_affinity_weights_add_up_with_decay_and_half_life_is_configurable():
    p = fold((ev.PRODUCT_VIEWED, view("a"), T0), (ev.PRODUCT_ADDED, view("a"), T0 + 7 * DAY))
    # view (1) decayed one half-life + add-to-cart (3)
    assert score(p.category_affinity["watches"], T0 + 7 * DAY, SETTINGS.half_life) == pytest.approx(
        3.5
    )
    fast = Settings(affinity_half_life_days=1)
    q = fold((ev.PRODUCT_VIEWED, view("a"), T0), settings=fast)
    assert score(q.category_affinity["watches"], T0 + 2 * DAY, fast.half_life) == pytest.approx(
        0.25
    )


def test_list_views_count_towards_category_only():
    p = fold((ev.PRODUCT_LIST_VIEWED, {"category": "Shoes"}, T0))
    assert score(p.category_affinity["shoes"], T0, SETTINGS.half_life) == pytest.approx(0.5)
    assert p.brand_affinity == {}


# -- P4 purchase history ------------------------------------------------------------------------


def order(order_id: str, total: float | None, *products: dict) -> dict:
    props: dict[str, Any] = {"order_id": order_id, "products": list(products)}
    if total is not None:
        props["total"] = total
    return props


def test_purchase_history_rfm():
    p = fold(
        (ev.ORDER_COMPLETED, order("o1", 100.0, view("a", category="Shoes")), T0),
        (ev.ORDER_COMPLETED, order("o2", 50.0, view("b", category="Bags")), T0 + 3 * DAY),
    )
    o = p.orders
    assert (o.count, o.total, o.average_order_value) == (2, 150.0, 75.0)
    assert (o.first_at, o.last_at) == (T0, T0 + 3 * DAY)
    assert o.categories == ("bags", "shoes")
    assert o.product_ids == ("b", "a")


def test_a_replayed_order_is_counted_once():
    p = fold(
        (ev.ORDER_COMPLETED, order("o1", 100.0), T0),
        (ev.ORDER_COMPLETED, order("o1", 100.0), T0 + 5),
    )
    assert (p.orders.count, p.orders.total) == (1, 100.0)


def test_order_total_falls_back_to_revenue_then_products_then_cart():
    by_revenue = fold((ev.ORDER_COMPLETED, {"order_id": "o", "revenue": 80.0}, T0))
    assert by_revenue.orders.total == 80.0
    by_products = fold(
        (ev.ORDER_COMPLETED, order("o", None, {**view("a", price=20.0), "quantity": 3}), T0)
    )
    assert by_products.orders.total == 60.0
    from_cart = fold(
        (ev.PRODUCT_ADDED, {**view("a", price=15.0), "quantity": 2}, T0),
        (ev.ORDER_COMPLETED, {"order_id": "o"}, T0 + 1),
    )
    assert from_cart.orders.total == 30.0
    assert from_cart.orders.product_ids == ("a",)


def test_an_order_empties_the_cart():
    p = fold((ev.PRODUCT_ADDED, view("a"), T0), (ev.ORDER_COMPLETED, order("o", 100.0), T0 + 1))
    assert not p.cart
    assert p.cart.updated_at == T0 + 1


# -- P5 cart ------------------------------------------------------------------------------------


def test_cart_add_merge_remove_and_value():
    p = fold(
        (ev.PRODUCT_ADDED, {**view("a", price=10.0), "quantity": 2, "currency": "eur"}, T0),
        (ev.PRODUCT_ADDED, {**view("b", price=5.5)}, T0 + 1),
        (ev.PRODUCT_ADDED, {**view("a", price=10.0), "quantity": 1}, T0 + 2),
    )
    assert [(i.product_id, i.quantity) for i in p.cart.items] == [("a", 3), ("b", 1)]
    assert p.cart.value == 35.5
    assert p.cart.currency == "EUR"
    assert p.cart.updated_at == T0 + 2
    p = fold((ev.PRODUCT_REMOVED, {"product_id": "a", "quantity": 2}, T0 + 3), profile=p)
    assert [(i.product_id, i.quantity) for i in p.cart.items] == [("a", 1), ("b", 1)]
    p = fold((ev.PRODUCT_REMOVED, {"product_id": "b"}, T0 + 4), profile=p)
    assert [i.product_id for i in p.cart.items] == ["a"]
    p = fold((ev.PRODUCT_REMOVED, {"product_id": "a"}, T0 + 5), profile=p)
    assert not p.cart and p.cart.currency is None and p.cart.updated_at == T0 + 5


def test_cart_sums_past_the_floats_and_the_ints_saturate_instead_of_raising():
    # Valid events (finite prices, quantities up to 2**63-1) whose sums do not fit: before,
    # `cart.value` raised "intermediate overflow" on every segment evaluation of the shopper,
    # and a quantity past 2**64 could not be encoded for the SQLite or Redis store.
    p = fold(
        (ev.PRODUCT_ADDED, {"product_id": "a", "price": 1e308}, T0),
        (ev.PRODUCT_ADDED, {"product_id": "b", "price": 1e308}, T0 + 1),
    )
    assert p.cart.value == MAX_AMOUNT
    huge = {"product_id": "c", "price": 1.0, "quantity": 2**63 - 1}
    p = fold(*[(ev.PRODUCT_ADDED, huge, T0 + 2 + i) for i in range(3)], profile=p)
    assert p.cart.items[-1].quantity == MAX_QUANTITY == 2**63 - 1
    assert p.cart.quantity == MAX_QUANTITY
    assert p.cart.value == MAX_AMOUNT
    assert decode(encode(p)) == p  # the stores can hold it


def test_order_totals_past_the_floats_saturate():
    p = fold(
        (ev.ORDER_COMPLETED, order("o1", 1e308), T0),
        (ev.ORDER_COMPLETED, order("o2", 1e308), T0 + 1),
        (ev.ORDER_COMPLETED, {"order_id": "o3", "products": [{"price": 1e308, "quantity": 9}]},
         T0 + 2),
    )  # fmt: skip
    assert p.orders.count == 3
    assert p.orders.total == MAX_AMOUNT
    assert dict(p.orders.recent_orders)["o3"] == MAX_AMOUNT
    refunded = fold((ev.ORDER_REFUNDED, {"order_id": "o3"}, T0 + 3), profile=p)
    assert math.isfinite(refunded.orders.total)


def test_cart_viewed_with_products_replaces_the_cart():
    p = fold(
        (ev.PRODUCT_ADDED, view("a"), T0),
        (ev.CART_VIEWED, {"products": [{**view("x", price=3.0), "quantity": 4}]}, T0 + 1),
    )
    assert [(i.product_id, i.quantity, i.price) for i in p.cart.items] == [("x", 4, 3.0)]
    # Without a products list the cart is left alone.
    assert fold((ev.CART_VIEWED, {}, T0 + 2), profile=p).cart == p.cart


def test_cart_is_bounded():
    small = Settings(cart_limit=3)
    p = fold(*[(ev.PRODUCT_ADDED, view(f"p{i}"), T0 + i) for i in range(5)], settings=small)
    assert [i.product_id for i in p.cart.items] == ["p2", "p3", "p4"]


# -- shared rules -------------------------------------------------------------------------------


def test_counters_count_every_event_name_and_stay_bounded():
    p = fold(
        *[(f"Custom {i}", None, T0) for i in range(MAX_COUNTERS + 20)],
        (ev.PAGE_VIEWED, None, T0),
        (ev.PAGE_VIEWED, None, T0),
    )
    assert len(p.counters) == MAX_COUNTERS
    assert p.counters["Custom 0"] == 1


def test_a_replayed_caller_message_id_is_folded_once():
    p = Profile(visitor_id="v1")
    e = event(ev.PRODUCT_ADDED, view("a"), T0, message_id="m-1")
    once = reduce(p, e, SETTINGS)
    assert reduce(once, e, SETTINGS) is once
    assert once.cart.items[0].quantity == 1


def test_reduce_is_pure_input_profile_untouched():
    before = fold((ev.PRODUCT_VIEWED, view("a"), T0), (ev.PRODUCT_ADDED, view("a"), T0 + 1))
    snapshot = (
        dict(before.counters),
        dict(before.category_affinity),
        dict(before.session.category_views),
        before.cart,
    )
    after = fold(
        (ev.PRODUCT_VIEWED, view("b", category="Bags"), T0 + 2),
        (ev.PRODUCT_ADDED, view("b"), T0 + 3),
        profile=before,
    )
    assert after != before
    assert snapshot == (
        dict(before.counters),
        dict(before.category_affinity),
        dict(before.session.category_views),
        before.cart,
    )


def test_time_comes_from_the_event_never_the_wall_clock():
    long_ago = 1_000_000_000.0  # 2001
    p = fold((ev.PRODUCT_VIEWED, view("a"), long_ago))
    assert (p.first_seen, p.last_seen, p.last_product_view_at) == (long_ago,) * 3
    assert math.isclose(score(p.category_affinity["watches"], long_ago, SETTINGS.half_life), 1.0)


class _ReadOnly(Mapping[str, Any]):
    """A Mapping with nothing but the abstract methods (no `copy`), as a shop might build."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self):
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


def test_a_profile_made_outside_the_sdk_with_other_mappings_folds_alike():
    plain = fold((ev.PRODUCT_VIEWED, view("a", category="Shoes", brand="Acme"), T0))
    other = plain._replace(
        counters=_ReadOnly(dict(plain.counters)),
        category_affinity=_ReadOnly(dict(plain.category_affinity)),
        brand_affinity=_ReadOnly(dict(plain.brand_affinity)),
        session=plain.session._replace(
            category_views=_ReadOnly(dict(plain.session.category_views))
        ),
    )
    step = (ev.PRODUCT_VIEWED, view("b", category="Shoes", brand="Acme"), T0 + 60)
    assert fold(step, profile=other) == fold(step, profile=plain)
