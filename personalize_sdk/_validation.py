"""Validation of events and traits at the boundary: everything past here is trusted plain data.

One pass (`_walk.walk_mapping`) checks types, finite numbers, string and id lengths and nesting
depth, applies the type rules of the e-commerce spec's well-known property names
(`_property_rules`), and bounds the serialized size; only events whose bound exceeds the size
limit pay for an exact JSON measurement.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Mapping
from typing import Any

from ._exceptions import InvalidEvent
from ._ids import new_message_id
from ._limits import DEFAULT_LIMITS, EventLimits
from ._timestamps import to_epoch
from ._walk import utf8_size, walk_mapping
from .events import Event

_new_tuple = tuple.__new__
_MAX_EVENT_NAMES = 1024
"""Event names remembered per `EventLimits` (a shop has a few dozen); the table is cleared when
full, so a bot's random names cost memory up to this bound only."""


def validate_event(
    visitor_id: object,
    name: object,
    properties: object,
    timestamp: object,
    message_id: object,
    context: object,
    now: float,
    limits: EventLimits = DEFAULT_LIMITS,
    user_id: object = None,
) -> Event:
    """Return a validated `Event` or raise `InvalidEvent` naming the offending field.

    `visitor_id` may be None when a `user_id` is given. A timestamp later than `now` is taken
    as `now`: other machines' clocks drift, and a future time would stall every recency rule.
    """
    if user_id is not None:
        check_id(user_id, "user_id", limits)
        if visitor_id is not None:
            check_id(visitor_id, "visitor_id", limits)
    elif not (
        type(visitor_id) is str
        and 0 < len(visitor_id) <= limits.max_id_length
        and visitor_id.isascii()
    ):  # the common case inline; `check_id` accepts a Unicode id or says what is wrong
        check_id(visitor_id, "visitor_id", limits)
    if type(name) is not str:
        raise InvalidEvent(f"expected str, got {type(name).__name__}", field="event", kind="type")
    name_size = limits.event_names.get(name)  # a shop's few event names, checked once each
    if name_size is None:
        name_size = _admit_name(name, limits)
    if properties is None:
        properties = {}
    size = None
    max_bytes = limits.max_event_bytes
    if type(properties) is dict:  # its shape's plan directly (see `_shapes`): the common case
        plan = limits.shapes.ruled.get(tuple(properties))
        if plan is not None:
            left = max_bytes - 6 * len(properties)
            if left >= 0:
                try:
                    size = plan(properties, 1, [left])
                except InvalidEvent as error:
                    raise error.within("properties") from None
    if size is None:
        size = _walk_section(properties, "properties", limits, ruled=True)
    size += name_size
    if context is not None:
        size += _walk_section(context, "context", limits)
    if size > max_bytes:  # the walk's bound is over: measure exactly
        size = _exact_size(name, properties, context)
        if size > max_bytes:
            raise InvalidEvent(
                f"event is {size} bytes serialized, over {max_bytes}",
                field="properties",
                kind="too_large",
            )
    supplied = message_id is not None
    if supplied:
        check_id(message_id, "message_id", limits)
    else:
        message_id = new_message_id()
    ts = now if timestamp is None else min(to_epoch(timestamp), now)
    return _new_tuple(
        Event, (visitor_id, name, properties, ts, message_id, context, supplied, user_id)
    )


def _admit_name(name: str, limits: EventLimits) -> int:
    """Check an event name not seen before; remember it (bounded) with its JSON size bound."""
    if not name or len(name) > limits.max_name_length or not name.isprintable():
        raise InvalidEvent(
            f"event name must be 1..{limits.max_name_length} printable characters",
            field="event",
            kind="bad_name",
        )
    size = 6 * (len(name) if name.isascii() else _utf8_size(name, "event"))
    names = limits.event_names
    if len(names) >= _MAX_EVENT_NAMES:
        names.clear()
    names[name] = size
    return size


def validate_traits(traits: object, limits: EventLimits = DEFAULT_LIMITS) -> Mapping[str, Any]:
    """Check identify() traits like event properties, plus the types of the well-known traits."""
    if traits is None:
        return {}
    size = _walk_section(traits, "traits", limits)
    if size > limits.max_event_bytes:
        size = _exact_size("", traits, None)
    if size > limits.max_event_bytes:
        raise InvalidEvent(
            f"traits are {size} bytes serialized, over {limits.max_event_bytes}",
            field="traits",
            kind="too_large",
        )
    for key, rule in _TRAIT_RULES.items():
        if key in traits and traits[key] is not None:
            rule(traits[key], f"traits.{key}")
    # Traits are kept in the profile: a copy, so the caller changing its dict later changes
    # nothing here (identify is rare: the copy costs nothing that matters).
    return copy.deepcopy(dict(traits))


def _walk_section(section: object, field: str, limits: EventLimits, ruled: bool = False) -> int:
    """Walk one top-level mapping of an event (`properties`, `context`, `traits`); errors
    inside it are named under `field`."""
    if type(section) is not dict and not isinstance(section, Mapping):
        raise InvalidEvent(
            f"expected a mapping, got {type(section).__name__}", field=field, kind="type"
        )
    try:
        return walk_mapping(section, 1, limits, ruled)
    except InvalidEvent as error:
        raise error.within(field) from None


def check_id(value: object, field: str, limits: EventLimits = DEFAULT_LIMITS) -> str:
    if type(value) is not str:
        raise InvalidEvent(f"expected str, got {type(value).__name__}", field=field, kind="type")
    if not value or len(value) > limits.max_id_length:
        raise InvalidEvent(
            f"must be 1..{limits.max_id_length} characters", field=field, kind="bad_id"
        )
    if not value.isascii():
        _utf8_size(value, field)
    return value


def _utf8_size(text: str, field: str) -> int:
    try:
        return utf8_size(text)
    except InvalidEvent as error:
        raise error.within(field) from None


def _exact_size(name: str, properties: Mapping[str, Any], context: Mapping[str, Any] | None) -> int:
    body = {"event": name, "properties": properties, "context": context}
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=_as_json)
    return len(text.encode("utf-8"))


def _as_json(value: object) -> object:
    """Mappings other than dict (already validated) serialize as objects."""
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _check_bool(value: object, field: str) -> None:
    if type(value) is not bool:
        raise InvalidEvent(f"expected bool, got {type(value).__name__}", field=field, kind="type")


def _check_trait_text(value: object, field: str) -> None:
    if type(value) is not str:
        raise InvalidEvent(f"expected str, got {type(value).__name__}", field=field, kind="type")


def _check_location(value: object, field: str) -> None:
    if not isinstance(value, Mapping):
        raise InvalidEvent(
            f"expected a mapping, got {type(value).__name__}", field=field, kind="type"
        )
    for key, bound in (("latitude", 90.0), ("longitude", 180.0)):
        coordinate = value.get(key)
        if coordinate is None:
            continue
        if (
            type(coordinate) not in (int, float)
            or not math.isfinite(coordinate)
            or abs(coordinate) > bound
        ):
            raise InvalidEvent(
                f"expected a number within +/-{bound:g}, got {coordinate!r}",
                field=f"{field}.{key}",
                kind="out_of_range",
            )


_TRAIT_RULES = {
    "push_enabled": _check_bool,
    "email_opt_in": _check_bool,
    "sms_opt_in": _check_bool,
    "whatsapp_opt_in": _check_bool,
    "first_name": _check_trait_text,
    "last_name": _check_trait_text,
    "email": _check_trait_text,
    "phone": _check_trait_text,
    "home_store": _check_trait_text,
    "location": _check_location,
}
