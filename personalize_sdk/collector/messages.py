"""Segment's HTTP Tracking API messages, checked and turned into the calls `Personalizer`
makes (pure: no I/O, time passed in).

    track     -> track(anonymousId, event, properties, user_id=userId)
    page      -> track "Page Viewed", with `name` and `category` among the properties
    screen    -> track "Screen Viewed", likewise
    identify  -> identify(anonymousId, user_id=userId, traits=traits)
    group     -> identify with traits group_id and group_<trait> for the group's traits
    alias     -> identify(previousId, user_id=userId): the two identities merge

Timestamps are corrected for the sender's clock as Segment does: when the request says when it
was sent (`sentAt`), the event's `timestamp` moves by (received at - sent at).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from .._exceptions import InvalidEvent
from .._limits import DEFAULT_LIMITS, EventLimits
from .._timestamps import to_epoch
from .._validation import check_id, validate_event, validate_traits
from .body import BadRequest

KINDS = frozenset({"track", "identify", "page", "screen", "group", "alias"})
_NAMED = {"page": "Page Viewed", "screen": "Screen Viewed"}


class Inbound(NamedTuple):
    """One checked message: what to call on the Personalizer."""

    kind: str  # "track" or "identify"
    visitor_id: str | None
    user_id: str | None
    event: str | None
    properties: Mapping[str, Any] | None
    traits: Mapping[str, Any] | None
    timestamp: float
    message_id: str | None
    context: Mapping[str, Any] | None


def parse_message(
    raw: Any,
    kind: str | None,
    where: str,
    received_at: float,
    skew: float,
    batch_context: Mapping[str, Any] | None,
    limits: EventLimits = DEFAULT_LIMITS,
) -> Inbound:
    """Check one message (`kind` None: a batch item, which names its own `type`); raise
    `BadRequest` naming `where` and the field."""
    try:
        return _parse(raw, kind, received_at, skew, batch_context, limits)
    except InvalidEvent as error:
        field = f"{where}.{error.field}" if error.field else where
        raise BadRequest(400, f"{field}: {error.message}") from None


def _parse(
    raw: Any,
    kind: str | None,
    received_at: float,
    skew: float,
    batch_context: Mapping[str, Any] | None,
    limits: EventLimits,
) -> Inbound:
    if not isinstance(raw, Mapping):
        raise InvalidEvent(f"expected an object, got {type(raw).__name__}", kind="type")
    kind = kind or raw.get("type")
    if kind not in KINDS:
        raise InvalidEvent(f"unknown type {kind!r} (known: {sorted(KINDS)})", field="type")
    user_id = _id(raw.get("userId"), "userId", limits)
    visitor_id = _id(raw.get("anonymousId"), "anonymousId", limits)
    message_id = raw.get("messageId")
    if message_id is not None:
        message_id = check_id(message_id, "messageId", limits)
    context = raw.get("context")
    if context is not None and not isinstance(context, Mapping):
        raise InvalidEvent("expected an object", field="context", kind="type")
    if batch_context:
        context = {**batch_context, **(context or {})}
    timestamp = raw.get("timestamp")
    when = received_at if timestamp is None else min(to_epoch(timestamp) + skew, received_at)
    if kind == "alias":
        previous = _id(raw.get("previousId"), "previousId", limits)
        if previous is None or user_id is None:
            raise InvalidEvent("alias needs previousId and userId", field="previousId")
        return Inbound("identify", previous, user_id, None, None, {}, when, message_id, None)
    if user_id is None and visitor_id is None:
        raise InvalidEvent("userId or anonymousId is required", field="userId", kind="missing")
    if kind in ("identify", "group"):
        traits = raw.get("traits")
        if kind == "group":
            group_id = _id(raw.get("groupId"), "groupId", limits)
            if group_id is None:
                raise InvalidEvent("group needs a groupId", field="groupId", kind="missing")
            if traits is not None and not isinstance(traits, Mapping):
                raise InvalidEvent("expected an object", field="traits", kind="type")
            traits = {"group_id": group_id} | {
                f"group_{key}": value for key, value in (traits or {}).items()
            }
        traits = validate_traits(traits, limits)
        return Inbound("identify", visitor_id, user_id, None, None, traits, when, message_id, None)
    properties = raw.get("properties")
    if kind in _NAMED:
        event = _NAMED[kind]
        if properties is not None and not isinstance(properties, Mapping):
            raise InvalidEvent("expected an object", field="properties", kind="type")
        properties = dict(properties or {})
        for key in ("name", "category"):
            if raw.get(key) is not None:
                properties.setdefault(key, raw[key])
    else:
        event = raw.get("event")
    # The same checks `track()` makes, so a request that passes here is applied whole.
    validate_event(
        visitor_id, event, properties, when, message_id, context, received_at, limits, user_id
    )
    return Inbound("track", visitor_id, user_id, event, properties, None, when, message_id, context)


def _id(value: Any, field: str, limits: EventLimits) -> str | None:
    """Segment allows numbers as ids; they are kept as text."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    return check_id(value, field, limits)


def sent_at_skew(sent_at: Any, received_at: float) -> float:
    """Seconds to add to the request's timestamps (0 when it says nothing usable)."""
    if sent_at is None:
        return 0.0
    try:
        return received_at - to_epoch(sent_at, "sentAt")
    except InvalidEvent as error:
        raise BadRequest(400, f"sentAt: {error.message}") from None
