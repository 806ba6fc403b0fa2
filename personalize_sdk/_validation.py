"""Validation of events and traits at the boundary: everything past here is trusted plain data.

The walk is written for speed (it runs on every `track()`): one pass over the properties that
checks types, finite numbers, string and id lengths and nesting depth, and estimates the
serialized size; only events near the size bound pay for an exact JSON measurement.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from ._exceptions import InvalidEvent
from ._ids import new_message_id
from ._timestamps import to_epoch
from .events import Event


@attrs.frozen(kw_only=True)
class EventLimits:
    """Bounds on one event. Defaults follow Segment's HTTP API (32 KB per event)."""

    max_event_bytes: int = 32 * 1024
    max_id_length: int = 255
    max_name_length: int = 200
    max_key_length: int = 255
    max_string_length: int = 8 * 1024
    max_depth: int = 5


DEFAULT_LIMITS = EventLimits()

_SCALARS = (int, float, str, bool, type(None))


def validate_event(
    visitor_id: object,
    name: object,
    properties: object,
    *,
    timestamp: object,
    message_id: object,
    context: object,
    now: float,
    limits: EventLimits = DEFAULT_LIMITS,
) -> Event:
    """Return a validated `Event` or raise `InvalidEvent` naming the offending field."""
    check_id(visitor_id, "visitor_id", limits)
    if type(name) is not str:
        raise InvalidEvent(f"expected str, got {type(name).__name__}", field="event", kind="type")
    if not name or len(name) > limits.max_name_length or not name.isprintable():
        raise InvalidEvent(
            f"event name must be 1..{limits.max_name_length} printable characters",
            field="event",
            kind="bad_name",
        )
    if properties is None:
        properties = {}
    elif type(properties) is not dict and not isinstance(properties, Mapping):
        raise InvalidEvent(
            f"expected a mapping, got {type(properties).__name__}", field="properties", kind="type"
        )
    size = _walk_mapping(properties, "properties", 1, limits, _FIELD_RULES)
    size += len(name) if name.isascii() else _check_unicode(name, "event")
    if context is not None:
        if not isinstance(context, Mapping):
            raise InvalidEvent(
                f"expected a mapping, got {type(context).__name__}", field="context", kind="type"
            )
        size += _walk_mapping(context, "context", 1, limits)
    if size > limits.max_event_bytes // 2:
        size = _exact_size(name, properties, context)
    if size > limits.max_event_bytes:
        raise InvalidEvent(
            f"event is {size} bytes serialized, over {limits.max_event_bytes}",
            field="properties",
            kind="too_large",
        )
    supplied = message_id is not None
    if supplied:
        check_id(message_id, "message_id", limits)
    else:
        message_id = new_message_id()
    ts = now if timestamp is None else to_epoch(timestamp)
    return Event(visitor_id, name, properties, ts, message_id, context, supplied)  # type: ignore[arg-type]


def validate_traits(traits: object, limits: EventLimits = DEFAULT_LIMITS) -> Mapping[str, Any]:
    """Check identify() traits like event properties, plus the types of the well-known traits."""
    if traits is None:
        return {}
    if not isinstance(traits, Mapping):
        raise InvalidEvent(
            f"expected a mapping, got {type(traits).__name__}", field="traits", kind="type"
        )
    size = _walk_mapping(traits, "traits", 1, limits)
    if size > limits.max_event_bytes // 2:
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
    return traits


def check_id(value: object, field: str, limits: EventLimits = DEFAULT_LIMITS) -> str:
    if type(value) is not str:
        raise InvalidEvent(f"expected str, got {type(value).__name__}", field=field, kind="type")
    if not value or len(value) > limits.max_id_length:
        raise InvalidEvent(
            f"must be 1..{limits.max_id_length} characters", field=field, kind="bad_id"
        )
    if not value.isascii():
        _check_unicode(value, field)
    return value


def _walk_mapping(
    mapping: Mapping[Any, Any],
    path: str,
    depth: int,
    limits: EventLimits,
    rules: Mapping[str, _Rule] | None = None,
) -> int:
    """Check every key and value; return an estimate of the JSON size.

    `rules` are the type rules of well-known property names, applied at the levels where the
    spec defines them (the top of `properties` and each of its `products`).
    """
    if depth > limits.max_depth:
        raise InvalidEvent(
            f"nested deeper than {limits.max_depth} levels", field=path, kind="too_deep"
        )
    size = 2
    max_key = limits.max_key_length
    max_string = limits.max_string_length
    for key, value in mapping.items():
        # Fast checks first; the slow path finds the exact problem (or accepts Unicode keys).
        if type(key) is str and 0 < len(key) <= max_key and key.isascii() and key.isprintable():
            size += len(key)
        else:
            size += _check_key(key, path, max_key)
        if rules is not None and value is not None:
            rule = rules.get(key)
            if rule is not None:
                rule(value, path, key, limits)
        # The common scalars inline: this loop runs for every property of every event.
        kind = type(value)
        if kind is str:
            if len(value) <= max_string and value.isascii() and value.isprintable():
                size += len(value) + 6
            else:
                size += 6 + _check_text(value, f"{path}.{key}", max_string)
        elif kind is float:
            if value - value != 0.0:  # NaN and +/-inf, cheaper than math.isfinite here
                raise InvalidEvent(
                    f"{value!r} is not a finite number", field=f"{path}.{key}", kind="not_finite"
                )
            size += 28
        else:
            size += 4 + _walk_value(value, path, key, depth, limits)
    return size


def _walk_value(value: Any, path: str, key: Any, depth: int, limits: EventLimits) -> int:
    kind = type(value)
    if kind is str:
        return _check_text(value, f"{path}.{key}", limits.max_string_length) + 2
    if kind is float:
        if value - value != 0.0:
            raise InvalidEvent(
                f"{value!r} is not a finite number", field=f"{path}.{key}", kind="not_finite"
            )
        return 24
    if kind is int or kind is bool or value is None:
        if kind is int and not -(2**63) <= value < 2**63:
            raise InvalidEvent(
                "integer outside the 64-bit range", field=f"{path}.{key}", kind="out_of_range"
            )
        return 20
    if isinstance(value, Mapping):
        return _walk_mapping(value, f"{path}.{key}", depth + 1, limits)
    if kind is list or kind is tuple:
        if depth + 1 > limits.max_depth:
            raise InvalidEvent(
                f"nested deeper than {limits.max_depth} levels",
                field=f"{path}.{key}",
                kind="too_deep",
            )
        item_path = f"{path}.{key}"
        if path == "properties" and key == "products":
            return 2 + sum(
                _walk_product(item, f"{item_path}.{index}", depth + 2, limits) + 1
                for index, item in enumerate(value)
            )
        return 2 + sum(
            _walk_value(item, item_path, index, depth + 1, limits) + 1
            for index, item in enumerate(value)
        )
    if isinstance(value, _SCALARS):  # subclasses of str/int/float (enums, numpy scalars ...)
        raise InvalidEvent(
            f"expected a plain JSON value, got {kind.__name__}",
            field=f"{path}.{key}",
            kind="type",
        )
    raise InvalidEvent(f"{kind.__name__} is not a JSON value", field=f"{path}.{key}", kind="type")


def _walk_product(item: object, path: str, depth: int, limits: EventLimits) -> int:
    if not isinstance(item, Mapping):
        raise InvalidEvent(
            f"expected a mapping, got {type(item).__name__}", field=path, kind="type"
        )
    return _walk_mapping(item, path, depth, limits, _FIELD_RULES)


def _check_key(key: object, path: str, max_key: int) -> int:
    if type(key) is not str:
        raise InvalidEvent(
            f"keys must be str, got {type(key).__name__}", field=f"{path}.{key!r}", kind="type"
        )
    if not 0 < len(key) <= max_key:
        raise InvalidEvent(
            f"keys must be 1..{max_key} characters", field=f"{path}.{key[:40]}", kind="bad_key"
        )
    return _check_text(key, f"{path}.{key[:40]}", max_key)


def _check_text(text: str, field: str, max_length: int) -> int:
    """Length and UTF-8 checks of a string; returns a bound on its size in JSON.

    The size estimates of the walk must never be below half the JSON size, so that measuring
    exactly only past half the limit is safe: printable text is within that (only quotes and
    backslashes double), control characters are escaped as six bytes each.
    """
    if len(text) > max_length:
        raise InvalidEvent(
            f"string of {len(text)} characters, over {max_length}", field=field, kind="too_long"
        )
    size = len(text) if text.isascii() else _check_unicode(text, field)
    return size if text.isprintable() else 6 * size


def _check_unicode(text: str, field: str) -> int:
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidEvent(
            "text is not valid Unicode (lone surrogate)", field=field, kind="bad_unicode"
        ) from None


def _exact_size(name: str, properties: Mapping[str, Any], context: Mapping[str, Any] | None) -> int:
    body = {"event": name, "properties": properties, "context": context}
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=_as_json)
    return len(text.encode("utf-8"))


def _as_json(value: object) -> object:
    """Mappings other than dict (already validated) serialize as objects."""
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


_Rule = Callable[[Any, str, str, EventLimits], None]
"""A type rule: (value, path, key, limits); the field name is only formatted on failure."""


def _id_rule(value: Any, path: str, key: str, limits: EventLimits) -> None:
    if type(value) is not int:
        check_id(value, f"{path}.{key}", limits)


def _amount_rule(value: Any, path: str, key: str, limits: EventLimits) -> None:
    if type(value) not in (int, float):
        raise InvalidEvent(
            f"expected a number, got {type(value).__name__}", field=f"{path}.{key}", kind="type"
        )
    if value < 0:
        raise InvalidEvent(
            f"must not be negative, got {value!r}", field=f"{path}.{key}", kind="out_of_range"
        )


def _text_rule(value: Any, path: str, key: str, limits: EventLimits) -> None:
    if type(value) is not str:
        raise InvalidEvent(
            f"expected str, got {type(value).__name__}", field=f"{path}.{key}", kind="type"
        )


def _quantity_rule(value: Any, path: str, key: str, limits: EventLimits) -> None:
    if type(value) is not int or value < 0:
        raise InvalidEvent(
            f"expected a non-negative int, got {value!r}", field=f"{path}.{key}", kind="type"
        )


def _currency_rule(value: Any, path: str, key: str, limits: EventLimits) -> None:
    if type(value) is not str or len(value) != 3 or not value.isalpha() or not value.isascii():
        raise InvalidEvent(
            f"expected an ISO-4217 code such as 'EUR', got {value!r}",
            field=f"{path}.{key}",
            kind="type",
        )


def _products_rule(value: Any, path: str, key: str, limits: EventLimits) -> None:
    if type(value) not in (list, tuple):
        raise InvalidEvent(
            f"expected a list, got {type(value).__name__}", field=f"{path}.{key}", kind="type"
        )


_FIELD_RULES: Mapping[str, _Rule] = {
    **dict.fromkeys(
        (
            "product_id",
            "order_id",
            "cart_id",
            "checkout_id",
            "sku",
            "coupon_id",
            "promotion_id",
            "list_id",
            "campaign_id",
            "variant",
        ),
        _id_rule,
    ),
    **dict.fromkeys(
        ("price", "value", "revenue", "total", "subtotal", "shipping", "tax", "discount"),
        _amount_rule,
    ),
    **dict.fromkeys(("category", "brand", "name", "page_type", "query", "url", "path"), _text_rule),
    "quantity": _quantity_rule,
    "currency": _currency_rule,
    "products": _products_rule,
}
"""Type rules of the e-commerce spec's well-known property names (ids, money, text, ...)."""


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
