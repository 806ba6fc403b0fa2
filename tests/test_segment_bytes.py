"""The direct encoders give exactly the bytes of encoding `to_message`'s dict."""

from __future__ import annotations

import datetime
from decimal import Decimal

import msgpack
from hypothesis import given
from hypothesis import strategies as st

from personalize_sdk.events import Event
from personalize_sdk.frozen_event import FrozenEvent, frozen, thawed
from personalize_sdk.segment_bytes import encode_json, to_json, to_msgpack
from personalize_sdk.segment_message import Identified, to_message

_text = st.text(max_size=12)  # any unicode: quotes, backslashes, control characters, emoji
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text
)
_values = st.recursive(
    _scalars | st.datetimes(timezones=st.just(datetime.timezone.utc)) | st.decimals(places=2),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(_text, inner, max_size=4)
    ),
    max_leaves=12,
)
_mappings = st.dictionaries(_text, _values, max_size=6)
_ids = st.none() | st.text(min_size=1, max_size=20)

events = st.builds(
    Event,
    visitor_id=_ids,
    name=st.text(min_size=1, max_size=20),
    properties=_mappings,
    timestamp=st.floats(min_value=0, max_value=4e9),
    message_id=st.text(min_size=1, max_size=40),
    context=st.none() | _mappings,
    caller_message_id=st.booleans(),
    user_id=_ids,
)


@given(events)
def test_json_is_the_message_dict_encoded(event):
    assert to_json(event) == encode_json(to_message(event))


@given(events)
def test_msgpack_is_the_message_dict_packed(event):
    pack = msgpack.Packer(default=str).pack
    assert to_msgpack(event, pack) == pack(to_message(event))


@given(events)
def test_a_frozen_event_encodes_to_the_same_bytes(event):
    pack = msgpack.Packer(default=str).pack
    queued = frozen(event, pack)
    assert type(queued) is FrozenEvent
    assert to_json(queued) == encode_json(to_message(event))
    assert to_msgpack(queued, pack) == pack(to_message(event))
    assert encode_json(to_message(thawed(queued))) == encode_json(to_message(event))


def test_an_event_msgpack_refuses_is_copied_instead_and_fails_later_alike():
    event = Event("v", "Product Viewed", {"name": "bad \ud800 text", "tags": ["a"]}, 1.0, "m")
    pack = msgpack.Packer(default=str).pack
    queued = frozen(event, pack)
    assert type(queued) is Event
    assert queued.properties == event.properties
    assert queued.properties["tags"] is not event.properties["tags"]
    good = Event("v", "Product Viewed", {"price": 2.5}, 1.0, "m2")  # the same packer, after
    assert to_msgpack(frozen(good, pack), pack) == pack(to_message(good))


def test_values_json_cannot_hold_are_sent_as_their_text_alike():
    moment = datetime.datetime(2026, 12, 3, 8, 0, tzinfo=datetime.timezone.utc)
    event = Event("v", "Order Completed", {"at": moment, "total": Decimal("9.99")}, 1.0, "m")
    pack = msgpack.Packer(default=str).pack
    assert to_json(event) == encode_json(to_message(event))
    assert b'"total":"9.99"' in to_json(event)
    assert to_msgpack(event, pack) == pack(to_message(event))


def test_an_identify_goes_the_long_way_to_the_same_bytes():
    identified = Identified("v", "u", {"first_name": "Zoë"}, 2.0, "m")
    pack = msgpack.Packer(default=str).pack
    assert to_json(identified) == encode_json(to_message(identified))
    assert to_msgpack(identified, pack) == pack(to_message(identified))


def test_a_context_naming_its_own_library_is_overridden_alike():
    context = {"library": {"name": "shop"}, "ip": "10.0.0.1"}
    event = Event("v", "Page Viewed", {}, 1.0, "m", context)
    pack = msgpack.Packer(default=str).pack
    expected = to_message(event)
    assert list(expected["context"]) == ["library", "ip"]  # the key keeps its place
    assert to_json(frozen(event, pack)) == encode_json(expected)
    assert to_msgpack(frozen(event, pack), pack) == pack(expected)
    assert b'"name":"personalize-sdk"' in to_json(event)
