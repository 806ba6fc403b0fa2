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
from typing import Any, NamedTuple

from .events import Event

LIBRARY = {"name": "personalize-sdk", "version": "0.1.0"}


class Identified(NamedTuple):
    """An accepted `identify()`, queued for the forwarders as Segment's identify call."""

    visitor_id: str | None
    user_id: str | None
    traits: Mapping[str, Any]
    timestamp: float
    message_id: str


def iso_timestamp(epoch: float) -> str:
    """ISO-8601 in UTC with milliseconds and a ``Z``, as Segment's libraries send it."""
    moment = datetime.fromtimestamp(epoch, timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def to_message(item: Event | Identified) -> dict[str, Any]:
    """The Segment message for a tracked event or an identify call."""
    if isinstance(item, Identified):
        message: dict[str, Any] = {
            "type": "identify",
            "traits": dict(item.traits),
            "messageId": item.message_id,
            "timestamp": iso_timestamp(item.timestamp),
            "context": {"library": LIBRARY},
        }
    else:
        context = dict(item.context) if item.context else {}
        context["library"] = LIBRARY
        message = {
            "type": "track",
            "event": item.name,
            "properties": dict(item.properties),
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
