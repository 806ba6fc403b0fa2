"""Property tests: random event streams, merges and bounds."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from personalize_sdk import InvalidEvent, Personalizer, Profile, Settings
from personalize_sdk import events as ev
from personalize_sdk.identity import merge
from personalize_sdk.reducer import MAX_COUNTERS, MAX_MESSAGE_IDS, MAX_SESSION_PRODUCTS
from tests.helpers import DAY, T0

LIMITS = Settings(recently_viewed_limit=5, cart_limit=4, order_history_limit=6)

names = st.sampled_from(sorted(ev.STANDARD_EVENTS)) | st.text(max_size=12)
scalars = (
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=20)
)
any_value = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
product_ids = st.sampled_from(["a", "b", "c", "d", "e", "f", "g"]) | st.integers(0, 9)
product = st.fixed_dictionaries(
    {},
    optional={
        "product_id": product_ids | any_value,
        "category": st.sampled_from(["Shoes", "BAGS", "watches", " "]) | any_value,
        "brand": st.sampled_from(["Acme", "Zen"]) | any_value,
        "price": st.floats(0, 1000) | any_value,
        "quantity": st.integers(0, 5) | any_value,
        "currency": st.sampled_from(["EUR", "inr"]) | any_value,
    },
)
properties = st.one_of(
    product,
    st.fixed_dictionaries(
        {},
        optional={
            "order_id": st.sampled_from(["o1", "o2"]) | any_value,
            "total": st.floats(0, 1e6) | any_value,
            "products": st.lists(product, max_size=4) | any_value,
            "page_type": st.sampled_from(["home", "product", "cart", "blog"]) | any_value,
        },
    ),
    st.dictionaries(st.text(max_size=8), any_value, max_size=4),
    any_value,
)
timestamps = st.none() | st.floats(T0 - 30 * DAY, T0 + 30 * DAY) | any_value
events = st.tuples(names, properties, timestamps, st.none() | st.sampled_from(["m1", "m2"]))


def check_bounds(profile: Profile) -> None:
    assert len(profile.recently_viewed) <= LIMITS.recently_viewed_limit
    assert len(set(profile.recently_viewed)) == len(profile.recently_viewed)
    assert len(profile.cart.items) <= LIMITS.cart_limit
    assert len(profile.counters) <= MAX_COUNTERS
    assert len(profile.message_ids) <= MAX_MESSAGE_IDS
    assert len(profile.orders.product_ids) <= LIMITS.order_history_limit
    assert len(profile.orders.order_ids) <= LIMITS.order_history_limit
    assert math.isfinite(profile.orders.total) and profile.orders.total >= 0
    assert math.isfinite(profile.cart.value) and profile.cart.value >= 0
    assert all(item.quantity > 0 for item in profile.cart.items)
    if profile.session is not None:
        assert len(profile.session.products_viewed) <= MAX_SESSION_PRODUCTS
        assert profile.session.product_seconds >= 0
    assert all(math.isfinite(v) for v in profile.category_affinity.values())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(events, max_size=25))
def test_random_event_streams_raise_nothing_but_invalid_event(stream):
    now = [T0]
    pz = Personalizer(
        {"settings": {"recently_viewed_limit": 5, "cart_limit": 4, "order_history_limit": 6}},
        clock=lambda: now[0],
        strict=True,
    )
    for name, props, timestamp, message_id in stream:
        before = pz.profile("v")
        try:
            pz.track("v", name, props, timestamp=timestamp, message_id=message_id)
        except InvalidEvent:
            assert pz.profile("v") == before  # a rejected event changes nothing
        now[0] += 60
        check_bounds(pz.profile("v"))
        assert isinstance(pz.segments("v"), frozenset)
    explanation = pz.explain("v")
    assert 0.0 <= explanation.intent.score <= 1.0


@settings(max_examples=200, deadline=None)
@given(st.lists(events, max_size=12), st.lists(events, max_size=12))
def test_merge_is_idempotent_and_keeps_bounds(customer_events, visitor_events):
    now = [T0]
    pz = Personalizer(
        {"settings": {"recently_viewed_limit": 5, "cart_limit": 4, "order_history_limit": 6}},
        clock=lambda: now[0],
    )
    for visitor, stream in (("c", customer_events), ("v", visitor_events)):
        for name, props, timestamp, message_id in stream:
            pz.track(visitor, name, props, timestamp=timestamp, message_id=message_id)
            now[0] += 30
    customer = pz.profile("c")
    visitor = pz.profile("v")
    once = merge(customer, visitor, LIMITS)
    assert merge(once, visitor, LIMITS) == once
    check_bounds(once)
    assert once.orders.count == customer.orders.count + visitor.orders.count
    for name in set(customer.counters) | set(visitor.counters):
        assert once.counters[name] == customer.counters.get(name, 0) + visitor.counters.get(name, 0)
    # The same through the facade: identify twice counts once.
    pz.identify("c", user_id="u")
    pz.identify("v", user_id="u")
    merged = pz.profile("v")
    pz.identify("v", user_id="u")
    assert pz.profile("v") == merged
    assert merged.orders.count == once.orders.count
