"""Segment's HTTP Tracking API messages, checked and turned into what `Personalizer` applies
(pure: no I/O, time passed in).

    track     -> an `Event`, as track(anonymousId, event, properties, user_id=userId) makes it
    page      -> a "Page Viewed" event, with `name` and `category` among the properties
    screen    -> a "Screen Viewed" event, likewise
    identify  -> `Identify`: identify(anonymousId, user_id=userId, traits=traits), with the
                 ``context.personalize.userToken`` that vouches for userId on a client key
    group     -> `Identify` with traits group_id and group_<trait> for the group's traits
    alias     -> `Alias`: alias(previousId, userId), previousId an anonymousId or an earlier
                 userId: the two identities merge

Timestamps are corrected for the sender's clock as Segment does: when the request says when it
was sent (`sentAt`), the event's `timestamp` moves by (received at - sent at). The 2000..2100
range of `track()` is checked on the corrected time only: a phone whose clock reset to 1970 sends
a consistent `timestamp` and `sentAt`, and refusing them would lose its events (Segment's
clients drop a batch answered 400). A message whose
`integrations` turn this destination off (``"Personalize": false``, or ``"All": false`` without
``"Personalize": true``) is checked like any other, then skipped.

Every event is checked by the same `validate_event` as `track()`, so a request that passes here
is applied whole; its errors are named in Segment's terms (``anonymousId``, not visitor_id).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

from .._exceptions import InvalidEvent
from .._limits import DEFAULT_LIMITS, EventLimits
from .._timestamps import EARLIEST, LATEST, to_seconds
from .._validation import check_id, validate_event, validate_traits
from ..events import Event
from .body import BadRequest

KINDS = frozenset({"track", "identify", "page", "screen", "group", "alias"})
DESTINATION = "Personalize"
"""This destination's name in a message's `integrations`."""
_NAMED = {"page": "Page Viewed", "screen": "Screen Viewed"}
_SEGMENT_NAMES = {"visitor_id": "anonymousId", "user_id": "userId", "message_id": "messageId"}
_fromisoformat = datetime.fromisoformat


class Identify(NamedTuple):
    """One checked identify or group: `identify(visitor_id, user_id, traits)`."""

    visitor_id: str | None
    user_id: str | None
    traits: Mapping[str, Any]
    message_id: str | None
    user_token: object = None
    """``context.personalize.userToken``: what vouches for `user_id` on a client key."""


class Alias(NamedTuple):
    """One checked alias: `alias(previous_id, user_id)`."""

    previous_id: str
    user_id: str
    message_id: str | None
    visitor_id: str | None = None
    """The message's own anonymousId."""
    user_token: object = None


Inbound = Event | Identify | Alias | None
"""What one message asks of the Personalizer (None: its integrations turn us off)."""
_Checked = TypeVar("_Checked", Identify, Alias)


def parse_message(
    raw: Any,
    kind: str | None,
    where: str,
    received_at: float,
    skew: float,
    shared: Mapping[str, Any] | None,
    limits: EventLimits = DEFAULT_LIMITS,
) -> Inbound:
    """Check one message (`kind` None: a batch item, which names its own `type`); `shared`
    holds the batch's top-level `context` and `integrations`. Raises `BadRequest` naming
    `where` and the field."""
    try:
        return _parse(raw, kind, received_at, skew, shared, limits)
    except InvalidEvent as error:
        head, dot, rest = error.field.partition(".")
        field = f"{where}.{_SEGMENT_NAMES.get(head, head)}{dot}{rest}" if head else where
        if error.kind == "too_large":
            raise BadRequest(413, f"{field}: {error.message}") from None
        raise BadRequest(400, f"{field}: {error.message}", reason="invalid") from None


def _parse(
    raw: Any,
    kind: str | None,
    received_at: float,
    skew: float,
    shared: Mapping[str, Any] | None,
    limits: EventLimits,
) -> Inbound:
    if type(raw) is not dict and not isinstance(raw, Mapping):
        raise InvalidEvent(f"expected an object, got {type(raw).__name__}", kind="type")
    get = raw.get
    if kind is None:
        kind = get("type")
        if type(kind) is not str:  # a list or dict is not even hashable: checked before `in`
            raise InvalidEvent(
                f"expected one of {sorted(KINDS)}, got {type(kind).__name__}",
                field="type",
                kind="type",
            )
        if kind not in KINDS:
            raise InvalidEvent(f"unknown type {kind!r} (known: {sorted(KINDS)})", field="type")
    user_id = get("userId")
    if type(user_id) is not str or not user_id:
        user_id = _id(user_id, "userId", limits)
    visitor_id = get("anonymousId")
    if type(visitor_id) is not str or not visitor_id:
        visitor_id = _id(visitor_id, "anonymousId", limits)
    message_id = get("messageId")
    context = get("context")
    if context is not None and type(context) is not dict and not isinstance(context, Mapping):
        raise InvalidEvent("expected an object", field="context", kind="type")
    integrations = get("integrations")
    if (
        integrations is not None
        and type(integrations) is not dict
        and not isinstance(integrations, Mapping)
    ):
        raise InvalidEvent("expected an object", field="integrations", kind="type")
    if shared is not None:
        context, integrations = _with_shared(context, integrations, shared)
    timestamp = get("timestamp")
    when = received_at if timestamp is None else _corrected(timestamp, skew, received_at)
    if kind == "alias":
        previous = _id(get("previousId"), "previousId", limits)
        if previous is None or user_id is None:
            raise InvalidEvent("alias needs previousId and userId", field="previousId")
        user_id = check_id(user_id, "userId", limits)
        alias = Alias(previous, user_id, message_id, visitor_id, _user_token(context))
        return _checked(alias, limits) if _for_us(integrations) else None
    if user_id is None and visitor_id is None:
        raise InvalidEvent("userId or anonymousId is required", field="userId", kind="missing")
    if kind in ("identify", "group"):
        traits = get("traits")
        if kind == "group":
            traits = _group_traits(get("groupId"), traits, limits)
        for value, field in ((user_id, "userId"), (visitor_id, "anonymousId")):
            if value is not None:
                check_id(value, field, limits)
        traits = validate_traits(traits, limits)
        identify = Identify(visitor_id, user_id, traits, message_id, _user_token(context))
        return _checked(identify, limits) if _for_us(integrations) else None
    properties = get("properties")
    if kind == "track":
        event = get("event")
    else:
        event = _NAMED[kind]
        if properties is not None and not isinstance(properties, Mapping):
            raise InvalidEvent("expected an object", field="properties", kind="type")
        properties = dict(properties or {})
        for key in ("name", "category"):
            if get(key) is not None:
                properties.setdefault(key, raw[key])
    # The checks `track()` makes, so a request that passes here is applied whole.
    accepted = validate_event(
        visitor_id, event, properties, when, message_id, context, received_at, limits, user_id
    )
    return accepted if integrations is None or _for_us(integrations) else None


def _with_shared(
    context: Mapping[str, Any] | None,
    integrations: Mapping[str, Any] | None,
    shared: Mapping[str, Any],
) -> tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]:
    """The batch's top-level `context` and `integrations` under the message's own."""
    batch_context = shared.get("context")
    if batch_context:
        context = {**batch_context, **context} if context else batch_context
    batch_integrations = shared.get("integrations")
    if batch_integrations:
        integrations = (
            {**batch_integrations, **integrations} if integrations else batch_integrations
        )
    return context, integrations


def _user_token(context: Mapping[str, Any] | None) -> object:
    """``context.personalize.userToken``, whatever it is (`UserTokens` checks it)."""
    ours = context.get("personalize") if context else None
    return ours.get("userToken") if isinstance(ours, Mapping) else None


def _for_us(integrations: Mapping[str, Any] | None) -> bool:
    """Whether Segment's routing switch lets this destination have the message."""
    if not integrations:
        return True
    mine = integrations.get(DESTINATION)
    if mine is not None:
        return mine is not False
    return integrations.get("All") is not False


def _checked(item: _Checked, limits: EventLimits) -> _Checked:
    if item.message_id is not None:
        check_id(item.message_id, "messageId", limits)
    return item


def _group_traits(group_id: Any, traits: Any, limits: EventLimits) -> dict[str, Any]:
    group_id = _id(group_id, "groupId", limits)
    if group_id is None:
        raise InvalidEvent("group needs a groupId", field="groupId", kind="missing")
    if traits is not None and not isinstance(traits, Mapping):
        raise InvalidEvent("expected an object", field="traits", kind="type")
    return {"group_id": group_id} | {f"group_{key}": value for key, value in (traits or {}).items()}


def _id(value: Any, field: str, limits: EventLimits) -> str | None:
    """Segment allows numbers as ids; they are kept as text (finite ones: the NaN and Infinity
    that Python's JSON reads are no ids). An empty id is no id."""
    if value is None or value == "":
        return None
    if type(value) is int or (type(value) is float and math.isfinite(value)):
        value = str(value)
    return check_id(value, field, limits)


def _corrected(timestamp: Any, skew: float, received_at: float) -> float:
    """The event's time on our clock: its `timestamp` moved by the sender's skew, within the
    range `track()` accepts (so milliseconds are still refused), and no later than when it
    was received."""
    when = _seconds(timestamp, "timestamp") + skew
    if not EARLIEST <= when <= LATEST:
        corrected = " once corrected by sentAt" if skew else ""
        raise InvalidEvent(
            f"timestamp {timestamp!r} is outside 2000..2100{corrected}",
            field="timestamp",
            kind="bad_timestamp",
        )
    return min(when, received_at)


def _seconds(value: Any, field: str) -> float:
    """`value` as epoch seconds, as `to_epoch` reads it but not range-checked: a sender's clock
    may be years off, and only the corrected time has to be plausible. The common case
    (ISO-8601 text, as every Segment library sends) goes first: this runs once per event."""
    if type(value) is str:
        try:
            moment = _fromisoformat(value)
        except ValueError:
            return to_seconds(value, field)  # "Z" before Python 3.11, blanks: or what is wrong
        if moment.tzinfo is not None:
            return moment.timestamp()
    return to_seconds(value, field)


def sent_at_skew(sent_at: Any, received_at: float) -> float:
    """Seconds to add to the request's timestamps (0 when it says nothing usable)."""
    if sent_at is None:
        return 0.0
    try:
        return received_at - _seconds(sent_at, "sentAt")
    except InvalidEvent as error:
        raise BadRequest(400, f"sentAt: {error.message}", reason="invalid") from None
