"""Our events as Segment's HTTP Tracking API spells them (the `segment` forwarder sends these,
the `http` and `file` forwarders write them, and the collector reads the same shape).

    {"type": "track", "event": "Product Viewed", "properties": {...},
     "messageId": "...", "timestamp": "2026-12-02T18:50:02.123Z",
     "anonymousId": "<visitor id>", "userId": "<customer id>",
     "context": {..., "library": {"name": "personalize-sdk", "version": "0.1.0"}}}

`anonymousId` and `userId` appear only when known; the spec needs one of the two.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any, NamedTuple

from .events import Event

LIBRARY: Mapping[str, str] = MappingProxyType({"name": "personalize-sdk", "version": "0.1.0"})
"""`context.library` of every message (read-only: each message gets a copy of its own)."""


class Identified(NamedTuple):
    """An accepted `identify()`, queued for the forwarders as Segment's identify call."""

    visitor_id: str | None
    user_id: str | None
    traits: Mapping[str, Any]
    timestamp: float
    message_id: str


def _second(whole: int) -> str:
    return datetime.fromtimestamp(whole, timezone.utc).isoformat()[:19]  # years of 4 digits


_MILLIS = tuple(f".{millis:03d}Z" for millis in range(1000))
_last_second: list[tuple[int | None, str]] = [(None, "")]
"""The last whole second formatted, and its text: events come in runs within a second, and
formatting the date is most of what a timestamp costs (the delivery thread makes one per event).
Its one pair is replaced whole, in one step, by whichever thread formats a new second."""


def iso_timestamp(epoch: float) -> str:
    """ISO-8601 in UTC with milliseconds and a ``Z``, as Segment's libraries send it.

    Exactly what ``datetime.fromtimestamp(epoch, utc).isoformat(timespec="milliseconds")``
    gives: microseconds rounded half to even as datetime rounds them, then truncated."""
    whole = int(epoch)  # toward zero, as math.modf splits
    micros = round((epoch - whole) * 1e6)  # the fraction is exact: no rounding before this
    if micros < 0:
        micros += 1_000_000
        whole -= 1
    if micros >= 1_000_000:
        micros -= 1_000_000
        whole += 1
    last = _last_second[0]
    if last[0] != whole:
        last = _last_second[0] = (whole, _second(whole))
    return last[1] + _MILLIS[micros // 1000]


def to_message(item: Event | Identified) -> dict[str, Any]:
    """The Segment message for a tracked event or an identify call."""
    if isinstance(item, Identified):
        message: dict[str, Any] = {
            "type": "identify",
            "traits": dict(item.traits),
            "messageId": item.message_id,
            "timestamp": iso_timestamp(item.timestamp),
            "context": {"library": dict(LIBRARY)},
        }
    else:
        library = dict(LIBRARY)  # a transform hook may change the message it is given
        context = {**item.context, "library": library} if item.context else {"library": library}
        properties = item.properties
        message = {
            "type": "track",
            "event": item.name,
            "properties": properties if type(properties) is dict else dict(properties),
            "messageId": item.message_id,
            "timestamp": iso_timestamp(item.timestamp),
            "context": context,
        }
    if item.visitor_id is not None:
        message["anonymousId"] = item.visitor_id
    if item.user_id is not None:
        message["userId"] = item.user_id
    return message


def event_name(item: Event | Identified) -> str:
    """What a forwarder's include/exclude lists match: the event name, or "identify"."""
    return "identify" if isinstance(item, Identified) else item.name
