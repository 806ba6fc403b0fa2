"""Our events spelt as Segment messages: the timestamp format, the track and identify shapes."""

from __future__ import annotations

from datetime import datetime, timezone

from hypothesis import given
from hypothesis import strategies as st

import personalize_sdk
from personalize_sdk.events import Event
from personalize_sdk.segment_message import LIBRARY, Identified, iso_timestamp, to_message


def _reference(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@given(st.floats(min_value=-2e9, max_value=3e10, allow_nan=False))
def test_iso_timestamp_is_what_datetime_prints(epoch):
    assert iso_timestamp(epoch) == _reference(epoch)


def test_iso_timestamp_on_the_edges_of_a_second():
    assert iso_timestamp(0.0) == "1970-01-01T00:00:00.000Z"
    assert iso_timestamp(1_780_000_000.9999996) == _reference(1_780_000_000.9999996)
    assert iso_timestamp(1_780_000_000.9995) == "2026-05-28T20:26:40.999Z"
    assert iso_timestamp(-0.0004) == "1969-12-31T23:59:59.999Z"
    assert iso_timestamp(-40_000_000_000.5) == _reference(-40_000_000_000.5)  # year 702


def test_iso_timestamp_of_seconds_back_and_forth():
    # The last second's text is kept: a change of second, and back, must not reuse it wrongly.
    moments = [1_780_000_000.25, 1_780_000_000.75, 1_780_000_001.5, 1_780_000_000.125, -1.5, 0.0]
    assert [iso_timestamp(m) for m in moments] == [_reference(m) for m in moments]


def test_a_track_and_an_identify_as_segment_spells_them():
    event = Event(
        "v1", "Product Viewed", {"price": 2.5}, 0.25, "m1", {"ip": "1.2.3.4"}, False, "u1"
    )
    assert to_message(event) == {
        "type": "track",
        "event": "Product Viewed",
        "properties": {"price": 2.5},
        "messageId": "m1",
        "timestamp": "1970-01-01T00:00:00.250Z",
        "context": {"ip": "1.2.3.4", "library": LIBRARY},
        "anonymousId": "v1",
        "userId": "u1",
    }
    identified = Identified(None, "u1", {"first_name": "Zoë"}, 1.0, "m2")
    assert to_message(identified) == {
        "type": "identify",
        "traits": {"first_name": "Zoë"},
        "messageId": "m2",
        "timestamp": "1970-01-01T00:00:01.000Z",
        "context": {"library": LIBRARY},
        "userId": "u1",
    }


def test_each_message_has_a_library_context_of_its_own():
    # A transform hook may change the message it gets in place; later messages keep theirs.
    event = Event("v1", "Product Viewed", {}, 0.0, "m1", None, False, None)
    first = to_message(event)
    first["context"]["library"]["name"] = "changed by a hook"
    with_context = to_message(event._replace(context={"ip": "1.2.3.4"}))
    with_context["context"]["library"].clear()
    identified = to_message(Identified("v1", None, {}, 0.0, "m2"))
    assert to_message(event)["context"] == {"library": dict(LIBRARY)}
    assert identified["context"]["library"] == {"name": "personalize-sdk", "version": "0.1.0"}
    assert {"name": "personalize-sdk", "version": personalize_sdk.__version__} == LIBRARY
