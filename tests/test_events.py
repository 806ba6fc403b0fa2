"""Event names, the `Event` value object, and how the facade treats bad input.

`Personalizer(strict=True)` raises `InvalidEvent` naming the field and the kind of problem; the
default production mode returns None, never raises, counts the rejection in `stats()`, logs one
warning per kind and leaves the shopper's profile exactly as it was.
"""

from __future__ import annotations

import logging
import math
import re
from typing import Any

import pytest

from personalize_sdk import EventLimits, InvalidEvent, PersonalizeError, Personalizer, Profile
from personalize_sdk import events as ev
from personalize_sdk._validation import validate_event
from personalize_sdk.events import STANDARD_EVENTS, Event

T0 = 1_790_000_000.0
HEX32 = re.compile(r"[0-9a-f]{32}")
VISITOR = "v-1"
VIEW = {"product_id": "sku-1", "category": "Watches", "brand": "Acme", "price": 120.0}

# Segment e-commerce spec v2, exact spelling and capitalisation.
SEGMENT_V2 = {
    "PRODUCTS_SEARCHED": "Products Searched",
    "PRODUCT_LIST_VIEWED": "Product List Viewed",
    "PRODUCT_LIST_FILTERED": "Product List Filtered",
    "PROMOTION_VIEWED": "Promotion Viewed",
    "PROMOTION_CLICKED": "Promotion Clicked",
    "PRODUCT_CLICKED": "Product Clicked",
    "PRODUCT_VIEWED": "Product Viewed",
    "PRODUCT_ADDED": "Product Added",
    "PRODUCT_REMOVED": "Product Removed",
    "CART_VIEWED": "Cart Viewed",
    "CHECKOUT_STARTED": "Checkout Started",
    "CHECKOUT_STEP_VIEWED": "Checkout Step Viewed",
    "CHECKOUT_STEP_COMPLETED": "Checkout Step Completed",
    "PAYMENT_INFO_ENTERED": "Payment Info Entered",
    "ORDER_UPDATED": "Order Updated",
    "ORDER_COMPLETED": "Order Completed",
    "ORDER_REFUNDED": "Order Refunded",
    "ORDER_CANCELLED": "Order Cancelled",
    "COUPON_ENTERED": "Coupon Entered",
    "COUPON_APPLIED": "Coupon Applied",
    "COUPON_DENIED": "Coupon Denied",
    "COUPON_REMOVED": "Coupon Removed",
    "PRODUCT_ADDED_TO_WISHLIST": "Product Added to Wishlist",
    "PRODUCT_REMOVED_FROM_WISHLIST": "Product Removed from Wishlist",
    "WISHLIST_PRODUCT_ADDED_TO_CART": "Wishlist Product Added to Cart",
    "PRODUCT_SHARED": "Product Shared",
    "CART_SHARED": "Cart Shared",
    "PRODUCT_REVIEWED": "Product Reviewed",
}
# Segment's spec-wide names the SDK also uses (semantic events outside e-commerce).
SEGMENT_OTHER = {
    "PAGE_VIEWED": "Page Viewed",
    "SIGNED_UP": "Signed Up",
    "SIGNED_IN": "Signed In",
}


def fixed_clock() -> float:
    return T0


def production() -> Personalizer:
    pz = Personalizer(clock=fixed_clock)
    assert pz.track(VISITOR, ev.PRODUCT_VIEWED, VIEW) is not None
    return pz


def strict() -> Personalizer:
    pz = Personalizer(clock=fixed_clock, strict=True)
    pz.track(VISITOR, ev.PRODUCT_VIEWED, VIEW)
    return pz


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        record
        for record in caplog.records
        if record.name == "personalize_sdk" and record.levelno == logging.WARNING
    ]


def nested(levels: int) -> dict[str, Any]:
    value: Any = {"leaf": 1}
    for _ in range(levels - 1):
        value = {"a": value}
    return {"a": value}


# -- event names ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("constant", "name"), sorted({**SEGMENT_V2, **SEGMENT_OTHER}.items()))
def test_constants_use_segment_spelling(constant: str, name: str) -> None:
    assert getattr(ev, constant) == name
    assert name in STANDARD_EVENTS


def test_standard_events_is_a_frozenset_of_the_module_constants() -> None:
    assert isinstance(STANDARD_EVENTS, frozenset)
    constants = {
        value for key, value in vars(ev).items() if key.isupper() and isinstance(value, str)
    }
    assert constants == STANDARD_EVENTS
    assert set(SEGMENT_V2.values()) <= STANDARD_EVENTS
    assert {"Widget Shown", "Widget Clicked", "Widget Dismissed"} <= STANDARD_EVENTS


@pytest.mark.parametrize("name", sorted(STANDARD_EVENTS))
def test_every_standard_event_is_a_valid_event_name(name: str) -> None:
    assert re.fullmatch(r"[A-Z][a-z]+( [A-Za-z]+)+", name)
    event = validate_event(
        VISITOR, name, None, timestamp=None, message_id=None, context=None, now=T0
    )
    assert event.name == name


def test_event_is_a_frozen_value() -> None:
    event = Event(VISITOR, ev.CART_VIEWED, {}, T0, "m-1")
    assert event.context is None
    assert event.caller_message_id is False
    assert event == Event(VISITOR, ev.CART_VIEWED, {}, T0, "m-1")
    with pytest.raises(AttributeError):
        event.name = ev.ORDER_COMPLETED  # type: ignore[misc]
    with pytest.raises((AttributeError, TypeError)):
        event.extra = 1  # type: ignore[attr-defined]


# -- bad input through the facade ----------------------------------------------------------------

BAD_TRACKS = [
    pytest.param({"visitor_id": 42}, "visitor_id", "type", id="visitor-int"),
    pytest.param({"visitor_id": None}, "visitor_id", "type", id="visitor-none"),
    pytest.param({"visitor_id": ""}, "visitor_id", "bad_id", id="visitor-empty"),
    pytest.param({"visitor_id": "v" * 256}, "visitor_id", "bad_id", id="visitor-256"),
    pytest.param({"visitor_id": "v\ud800"}, "visitor_id", "bad_unicode", id="visitor-surrogate"),
    pytest.param({"event": None}, "event", "type", id="event-none"),
    pytest.param({"event": b"Product Viewed"}, "event", "type", id="event-bytes"),
    pytest.param({"event": ""}, "event", "bad_name", id="event-empty"),
    pytest.param({"event": "x" * 201}, "event", "bad_name", id="event-too-long"),
    pytest.param({"event": "Product\nViewed"}, "event", "bad_name", id="event-newline"),
    pytest.param({"properties": ["sku-1"]}, "properties", "type", id="properties-list"),
    pytest.param({"properties": {**VIEW, 1: "x"}}, "properties.1", "type", id="key-int"),
    pytest.param({"properties": {**VIEW, "": "x"}}, "properties.''", "bad_key", id="key-empty"),
    pytest.param(
        {"properties": {**VIEW, "k" * 256: 1}}, "properties." + "k" * 40, "bad_key", id="key-256"
    ),
    pytest.param(
        {"properties": {**VIEW, "k\ud800": 1}}, "properties.k\ud800", "bad_unicode", id="key-surr"
    ),
    pytest.param({"properties": {**VIEW, "tags": {"a"}}}, "properties.tags", "type", id="set"),
    pytest.param({"properties": {**VIEW, "raw": b"x"}}, "properties.raw", "type", id="bytes"),
    pytest.param(
        {"properties": {**VIEW, "price": math.nan}}, "properties.price", "not_finite", id="nan"
    ),
    pytest.param(
        {"properties": {**VIEW, "rating": math.inf}}, "properties.rating", "not_finite", id="inf"
    ),
    pytest.param(
        {"properties": {**VIEW, "xs": [1, -math.inf]}}, "properties.xs.1", "not_finite", id="-inf"
    ),
    pytest.param(
        {"properties": {**VIEW, "price": -1}}, "properties.price", "out_of_range", id="price-neg"
    ),
    pytest.param(
        {"properties": {**VIEW, "price": "120"}}, "properties.price", "type", id="price-str"
    ),
    pytest.param(
        {"properties": {**VIEW, "price": True}}, "properties.price", "type", id="price-bool"
    ),
    pytest.param(
        {"properties": {**VIEW, "product_id": 1.5}}, "properties.product_id", "type", id="pid"
    ),
    pytest.param(
        {"properties": {**VIEW, "product_id": ""}}, "properties.product_id", "bad_id", id="pid-0"
    ),
    pytest.param(
        {"properties": {**VIEW, "quantity": -1}}, "properties.quantity", "type", id="qty-neg"
    ),
    pytest.param(
        {"properties": {**VIEW, "currency": "EURO"}}, "properties.currency", "type", id="currency"
    ),
    pytest.param(
        {"properties": {**VIEW, "category": 5}}, "properties.category", "type", id="category"
    ),
    pytest.param({"properties": {**VIEW, "n": 2**64}}, "properties.n", "out_of_range", id="int"),
    pytest.param(
        {"properties": {**VIEW, "note": "x" * 8193}}, "properties.note", "too_long", id="8k+1"
    ),
    pytest.param(
        {"properties": {**VIEW, "note": "x" * 2**20}}, "properties.note", "too_long", id="1mb"
    ),
    pytest.param(
        {"properties": {**VIEW, "note": "\ud800"}}, "properties.note", "bad_unicode", id="surr"
    ),
    pytest.param(
        {"properties": {**VIEW, **nested(5)}}, "properties" + ".a" * 5, "too_deep", id="deep"
    ),
    pytest.param(
        {"properties": {**VIEW, **{f"k{i}": "x" * 1000 for i in range(40)}}},
        "properties",
        "too_large",
        id="too-large",
    ),
    pytest.param(
        {"event": ev.ORDER_COMPLETED, "properties": {"products": [{"price": 1}, {"price": -5}]}},
        "properties.products.1.price",
        "out_of_range",
        id="product-price",
    ),
    pytest.param(
        {"event": ev.ORDER_COMPLETED, "properties": {"products": "sku-1"}},
        "properties.products",
        "type",
        id="products-str",
    ),
    pytest.param({"context": "Mozilla/5.0"}, "context", "type", id="context-str"),
    pytest.param({"context": {"dpr": math.nan}}, "context.dpr", "not_finite", id="context-nan"),
    pytest.param({"timestamp": "yesterday"}, "timestamp", "bad_timestamp", id="ts-garbage"),
    pytest.param({"timestamp": T0 * 1000}, "timestamp", "bad_timestamp", id="ts-ms"),
    pytest.param({"timestamp": True}, "timestamp", "bad_timestamp", id="ts-bool"),
    pytest.param({"timestamp": math.nan}, "timestamp", "bad_timestamp", id="ts-nan"),
    pytest.param({"timestamp": 10**400}, "timestamp", "bad_timestamp", id="ts-huge-int"),
    pytest.param({"message_id": 123}, "message_id", "type", id="mid-int"),
    pytest.param({"message_id": ""}, "message_id", "bad_id", id="mid-empty"),
]


def call_track(pz: Personalizer, overrides: dict[str, Any]) -> str | None:
    args: dict[str, Any] = {
        "visitor_id": VISITOR,
        "event": ev.PRODUCT_VIEWED,
        "properties": VIEW,
        **overrides,
    }
    return pz.track(args.pop("visitor_id"), args.pop("event"), args.pop("properties"), **args)


@pytest.mark.parametrize(("overrides", "field", "kind"), BAD_TRACKS)
def test_strict_mode_raises_invalid_event(overrides: dict[str, Any], field: str, kind: str) -> None:
    pz = strict()
    before = pz.profile(VISITOR)
    with pytest.raises(InvalidEvent) as info:
        call_track(pz, overrides)
    assert info.value.field == field, str(info.value)
    assert info.value.kind == kind, str(info.value)
    assert isinstance(info.value, PersonalizeError)
    assert pz.profile(VISITOR) == before


@pytest.mark.parametrize(("overrides", "field", "kind"), BAD_TRACKS)
def test_production_mode_counts_logs_and_leaves_the_profile(
    overrides: dict[str, Any], field: str, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    pz = production()
    before = pz.profile(VISITOR)
    assert isinstance(before, Profile)
    assert before.recently_viewed == ("sku-1",)
    stats_before = pz.stats()
    caplog.set_level(logging.WARNING, logger="personalize_sdk")

    assert call_track(pz, overrides) is None

    assert pz.profile(VISITOR) == before
    stats = pz.stats()
    assert stats.get(f"invalid.{kind}") == 1, stats
    assert not [name for name in stats if name.startswith("errors.")], stats
    changed = {name for name in stats if stats[name] != stats_before.get(name)}
    assert changed == {f"invalid.{kind}"}, stats
    warnings = warnings_of(caplog)
    assert len(warnings) == 1
    assert kind in warnings[0].getMessage()
    assert field.split(".", maxsplit=1)[0] in warnings[0].getMessage()


def test_production_mode_warns_once_per_kind(caplog: pytest.LogCaptureFixture) -> None:
    pz = production()
    before = pz.profile(VISITOR)
    caplog.set_level(logging.WARNING, logger="personalize_sdk")

    for _ in range(3):
        assert pz.track(42, ev.PRODUCT_VIEWED, VIEW) is None  # type: ignore[arg-type]
    for price in (-1, -2):
        assert pz.track(VISITOR, ev.PRODUCT_VIEWED, {**VIEW, "price": price}) is None
    assert pz.track(VISITOR, ev.PRODUCT_VIEWED, ["sku-1"]) is None  # type: ignore[arg-type]

    stats = pz.stats()
    assert stats["invalid.type"] == 4
    assert stats["invalid.out_of_range"] == 2
    warnings = warnings_of(caplog)
    assert len(warnings) == 2
    assert "(type)" in warnings[0].getMessage()
    assert "(out_of_range)" in warnings[1].getMessage()
    assert pz.profile(VISITOR) == before


def test_rejections_do_not_disturb_later_events() -> None:
    pz = production()
    assert pz.track(VISITOR, ev.PRODUCT_VIEWED, {**VIEW, "price": math.nan}) is None
    message_id = pz.track(VISITOR, ev.PRODUCT_VIEWED, {**VIEW, "product_id": "sku-2"})
    assert message_id is not None
    assert HEX32.fullmatch(message_id)
    assert pz.profile(VISITOR).recently_viewed == ("sku-2", "sku-1")
    assert pz.profile(VISITOR).counters[ev.PRODUCT_VIEWED] == 2


def test_rejected_event_for_a_new_visitor_stores_nothing() -> None:
    pz = Personalizer(clock=fixed_clock)
    assert pz.track("new", ev.PRODUCT_VIEWED, {**VIEW, "price": "free"}) is None
    assert pz.profile("new") == Profile(visitor_id="new")


# -- valid input through the facade --------------------------------------------------------------


def test_valid_track_returns_a_generated_message_id_and_uses_the_clock() -> None:
    pz = Personalizer(clock=fixed_clock, strict=True)
    first = pz.track(VISITOR, ev.PRODUCT_VIEWED, VIEW)
    second = pz.track(VISITOR, ev.PRODUCT_VIEWED, VIEW)
    assert first is not None
    assert second is not None
    assert HEX32.fullmatch(first)
    assert first != second
    profile = pz.profile(VISITOR)
    assert profile.last_seen == T0
    assert profile.first_seen == T0
    assert profile.message_ids == ()  # generated ids never repeat, so none are kept
    assert pz.stats().get("invalid.type") is None


def test_supplied_message_id_is_returned_and_deduplicated() -> None:
    pz = Personalizer(clock=fixed_clock, strict=True)
    assert pz.track(VISITOR, ev.PRODUCT_VIEWED, VIEW, message_id="evt-1") == "evt-1"
    assert pz.track(VISITOR, ev.PRODUCT_VIEWED, VIEW, message_id="evt-1") == "evt-1"
    profile = pz.profile(VISITOR)
    assert profile.message_ids == ("evt-1",)
    assert profile.counters[ev.PRODUCT_VIEWED] == 1


@pytest.mark.parametrize(
    "timestamp",
    [T0 - 3600, int(T0 - 3600), "2026-09-21T13:13:20Z", "2026-09-21T15:13:20+02:00"],
)
def test_supplied_timestamp_is_used(timestamp: object) -> None:
    pz = Personalizer(clock=fixed_clock, strict=True)
    pz.track(VISITOR, ev.PRODUCT_VIEWED, VIEW, timestamp=timestamp)
    assert pz.profile(VISITOR).last_seen == T0 - 3600


def test_odd_but_valid_unicode_is_accepted_by_the_facade() -> None:
    pz = Personalizer(clock=fixed_clock, strict=True)
    props = {
        "product_id": "\u6642\u8a08-1",
        "name": "\U0001f469\u200d\U0001f469\u200d\U0001f467 set",
        "brand": "\u0645\u0631\u062d\u0628\u0627",
        "category": "Zoe\u0308",
        "price": 1.0,
    }
    assert pz.track("\u8bbf\u5ba2", ev.PRODUCT_VIEWED, props) is not None
    assert pz.profile("\u8bbf\u5ba2").recently_viewed == ("\u6642\u8a08-1",)


def test_custom_limits_reach_the_facade() -> None:
    pz = Personalizer(
        clock=fixed_clock,
        strict=True,
        limits=EventLimits(max_depth=2, max_string_length=16, max_event_bytes=512),
    )
    assert pz.track(VISITOR, ev.PRODUCT_VIEWED, {"product_id": "sku-1", "meta": {"a": 1}})
    with pytest.raises(InvalidEvent) as info:
        pz.track(VISITOR, ev.PRODUCT_VIEWED, {"meta": {"a": {"b": 1}}})
    assert (info.value.field, info.value.kind) == ("properties.meta.a", "too_deep")
    with pytest.raises(InvalidEvent) as info:
        pz.track(VISITOR, ev.PRODUCT_VIEWED, {"note": "x" * 17})
    assert (info.value.field, info.value.kind) == ("properties.note", "too_long")
    with pytest.raises(InvalidEvent) as info:
        pz.track(VISITOR, ev.PRODUCT_VIEWED, {f"k{i}": "x" * 16 for i in range(30)})
    assert info.value.kind == "too_large"


# -- identify traits through the facade ----------------------------------------------------------


@pytest.mark.parametrize(
    ("traits", "field", "kind"),
    [
        ({"push_enabled": "yes"}, "traits.push_enabled", "type"),
        ({"first_name": 5}, "traits.first_name", "type"),
        ({"location": {"latitude": 200}}, "traits.location.latitude", "out_of_range"),
        ({"score": math.nan}, "traits.score", "not_finite"),
        ({"nick": "\ud800"}, "traits.nick", "bad_unicode"),
        (["gold"], "traits", "type"),
    ],
)
def test_identify_rejects_bad_traits(
    traits: Any, field: str, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    pz = strict()
    before = pz.profile(VISITOR)
    with pytest.raises(InvalidEvent) as info:
        pz.identify(VISITOR, user_id="u-1", traits=traits)
    assert (info.value.field, info.value.kind) == (field, kind)
    assert pz.profile(VISITOR) == before

    pz = production()
    before = pz.profile(VISITOR)
    caplog.set_level(logging.WARNING, logger="personalize_sdk")
    assert pz.identify(VISITOR, user_id="u-1", traits=traits) is None
    assert pz.profile(VISITOR) == before
    assert pz.profile("u-1") == Profile(visitor_id="u-1")
    assert pz.stats().get(f"invalid.{kind}") == 1
    assert "identifies" not in pz.stats()
    assert len(warnings_of(caplog)) == 1


def test_identify_rejects_bad_ids() -> None:
    pz = production()
    before = pz.profile(VISITOR)
    assert pz.identify(VISITOR, user_id="") is None
    assert pz.identify("", user_id="u-1") is None
    assert pz.identify(VISITOR, user_id=7) is None  # type: ignore[arg-type]
    assert pz.stats()["invalid.bad_id"] == 2
    assert pz.stats()["invalid.type"] == 1
    assert pz.profile(VISITOR) == before
