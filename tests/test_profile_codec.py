"""The profile codec: what a store writes reads back as the same profile, old and new data
alike, and bytes that are not a profile are refused with a clear error."""

from __future__ import annotations

import contextlib

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from personalize_sdk import InvalidEvent, Personalizer, Profile
from personalize_sdk.profile_codec import VERSION, ProfileDecodeError, decode, encode
from tests.helpers import DAY, T0, view
from tests.test_properties import LIMITS, events


def journey() -> Profile:
    now = [T0]
    pz = Personalizer(clock=lambda: now[0], strict=True)
    pz.track("v1", "Product Viewed", view("sku-1"))
    pz.track("v1", "Product Added", {**view("sku-1"), "quantity": 2, "name": "Diver ✓"})
    traits = {"first_name": "Asha", "tags": ["a", 1, None], "address": {"city": "Pune"}}
    pz.identify("v1", user_id="u-1", traits={**traits, "vip": True})
    pz.track("v1", "Widget Shown", {"campaign_id": "bar", "variant": "a", "kind": "hello_bar"})
    now[0] += DAY
    pz.track("v1", "Order Completed", {"order_id": "o-1", "total": 240.5,
                                        "products": [view("sku-1")]})  # fmt: skip
    return pz.profile("v1")


def test_a_whole_journey_round_trips():
    profile = journey()
    assert profile.orders.count == 1 and profile.exposures and profile.traits
    assert decode(encode(profile)) == profile


def test_an_empty_profile_is_a_few_bytes():
    assert decode(encode(Profile())) == Profile()
    assert len(encode(Profile())) < 10


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(events, max_size=20), st.booleans())
def test_any_profile_the_reducer_builds_round_trips(stream, log_in):
    now = [T0]
    pz = Personalizer({"settings": {"recently_viewed_limit": LIMITS.recently_viewed_limit}},
                      clock=lambda: now[0], strict=True)  # fmt: skip
    for index, (name, props, ts, message_id) in enumerate(stream):
        if log_in and index == len(stream) // 2:
            pz.identify("v", user_id="u", traits={"n": index, "list": [index, "x"]})
        with contextlib.suppress(InvalidEvent):
            pz.track("v", name, props, timestamp=ts, message_id=message_id)
        now[0] += 90
    profile = pz.profile("v")
    assert decode(encode(profile)) == profile


def test_the_encoding_is_a_map_of_the_fields_away_from_their_default():
    # What other releases' processes read during a rolling deploy: field names, no defaults.
    profile = journey()
    data = msgpack.unpackb(encode(profile))
    changed = {name for name, value in zip(Profile._fields, profile, strict=True)
               if value != Profile._field_defaults[name]}  # fmt: skip
    assert set(data) == changed | {"_v"}
    assert data["orders"]["count"] == 1 and data["orders"]["recent_orders"] == [["o-1", 240.5]]
    assert data["session"]["started_at"] == profile.session.started_at
    assert "clicked_at" not in data["exposures"]["bar"]  # at its default: left out
    assert data["traits"]["address"] == {"city": "Pune"}


def test_data_written_without_a_field_reads_it_as_its_default():
    data = msgpack.unpackb(encode(journey()))
    del data["cart"], data["exposures"]
    data["a_field_from_a_newer_release"] = [1, 2]
    data["orders"]["and_one_inside"] = 3
    profile = decode(msgpack.packb(data))
    assert profile.cart == Profile().cart and profile.exposures == {}
    assert profile.orders.count == 1


@pytest.mark.parametrize(
    "raw",
    [b"", b"\xc1", b"not msgpack at all", msgpack.packb([1, 2]), msgpack.packb({"_v": VERSION + 1}),
     msgpack.packb({"visitor_id": "v"}), msgpack.packb({"_v": VERSION, "cart": {"items": [[]]}}),
     msgpack.packb({"_v": VERSION, 1: 2}), msgpack.packb({"_v": VERSION, "session": [1, 2]}),
     msgpack.packb({"_v": VERSION, "session": {"events": 3}}),
     msgpack.packb({"_v": VERSION, "exposures": {"c": {"shown": 1}}})],
)  # fmt: skip
def test_bytes_that_are_not_a_profile_are_refused(raw):
    with pytest.raises(ProfileDecodeError):
        decode(raw)
