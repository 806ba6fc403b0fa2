"""Profiles to bytes and back (msgpack), for the stores that keep them outside the process.

The encoding is a map of field name -> value, leaving out fields at their default: a new
field added to `Profile` later reads as its default from old data, and a field an older
process does not know is ignored, so processes of two releases can share one store during a
rolling deploy. `VERSION` is written first and bumped only for a change that needs a migration;
data from a newer version than this code knows is refused (`ProfileDecodeError`) rather than
misread.

Pure: no I/O. ``decode(encode(p)) == p`` for every profile the reducer builds (property-tested).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs
import msgpack

from ._exceptions import PersonalizeError
from .exposure import Exposure
from .profile import Cart, CartItem, Profile, PurchaseHistory, Session

VERSION = 1
_VERSION_KEY = "_v"


class ProfileDecodeError(PersonalizeError, ValueError):
    """Stored bytes are not a profile this version can read."""


def encode(profile: Profile) -> bytes:
    data = _named(profile, _PROFILE_DEFAULTS, _PROFILE_OUT)
    data[_VERSION_KEY] = VERSION
    return msgpack.packb(data, use_bin_type=True)


def decode(raw: bytes) -> Profile:
    try:
        data = msgpack.unpackb(raw, raw=False, strict_map_key=True)
    except (ValueError, TypeError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as e:
        raise ProfileDecodeError(f"not a stored profile: {e}") from e
    if not isinstance(data, dict):
        raise ProfileDecodeError(f"not a stored profile: a {type(data).__name__}")
    version = data.pop(_VERSION_KEY, None)
    if version != VERSION:
        raise ProfileDecodeError(f"stored profile version {version!r}, this code reads {VERSION}")
    try:
        return Profile(**_fields_in(data, _PROFILE_IN, Profile._fields))
    except (TypeError, ValueError, KeyError) as error:
        raise ProfileDecodeError(f"stored profile is malformed: {error}") from error


# -- encoding ---------------------------------------------------------------------------------


def _named(value: Any, defaults: Mapping[str, Any], nested: Mapping[str, Callable[[Any], Any]]):
    """A NamedTuple as {field: value} without the defaults; nested values through `nested`."""
    out: dict[str, Any] = {}
    for name, item in zip(value._fields, value, strict=True):
        if name in defaults and item == defaults[name]:
            continue
        convert = nested.get(name)
        out[name] = convert(item) if convert is not None and item is not None else item
    return out


def _attrs_out(value: Any) -> dict[str, Any]:
    return attrs.asdict(value, recurse=True)


def _cart_out(cart: Cart) -> dict[str, Any]:
    return {
        "items": [attrs.astuple(item, recurse=False) for item in cart.items],
        "currency": cart.currency,
        "updated_at": cart.updated_at,
    }


def _session_out(session: Session) -> dict[str, Any]:
    return _named(session, _SESSION_DEFAULTS, {"category_views": dict})


def _exposures_out(exposures: Mapping[str, Exposure]) -> dict[str, Any]:
    return {cid: _named(e, _EXPOSURE_DEFAULTS, {}) for cid, e in exposures.items()}


_PROFILE_DEFAULTS = Profile._field_defaults
_SESSION_DEFAULTS = Session._field_defaults
_EXPOSURE_DEFAULTS = Exposure._field_defaults
_PROFILE_OUT: dict[str, Callable[[Any], Any]] = {
    "traits": dict,
    "session": _session_out,
    "category_affinity": dict,
    "brand_affinity": dict,
    "orders": _attrs_out,
    "cart": _cart_out,
    "counters": dict,
    "exposures": _exposures_out,
}


# -- decoding ---------------------------------------------------------------------------------


def _fields_in(
    data: Mapping[str, Any], convert: Mapping[str, Callable[[Any], Any]], known: tuple[str, ...]
) -> dict[str, Any]:
    """The known fields of `data`, each through its converter (tuples back from lists)."""
    out: dict[str, Any] = {}
    for name in known:
        if name in data:
            value = data[name]
            make = convert.get(name)
            out[name] = make(value) if make is not None and value is not None else value
    return out


def _tuple_of_tuples(value: list[Any]) -> tuple[tuple[Any, ...], ...]:
    return tuple(tuple(item) for item in value)


def _session_in(data: Mapping[str, Any]) -> Session:
    return Session(**_fields_in(data, {"products_viewed": tuple}, Session._fields))


def _orders_in(data: Mapping[str, Any]) -> PurchaseHistory:
    names = tuple(field.name for field in attrs.fields(PurchaseHistory))
    converters = {
        "categories": tuple,
        "product_ids": tuple,
        "recent_orders": _tuple_of_tuples,
        "cancelled": tuple,
    }
    return PurchaseHistory(**_fields_in(data, converters, names))


def _cart_in(data: Mapping[str, Any]) -> Cart:
    items = tuple(CartItem(*item) for item in data.get("items", ()))
    return Cart(items, data.get("currency"), data.get("updated_at"))


def _exposures_in(data: Mapping[str, Any]) -> dict[str, Exposure]:
    return {
        cid: Exposure(**_fields_in(e, {"recent": tuple}, Exposure._fields))
        for cid, e in data.items()
    }


_PROFILE_IN: dict[str, Callable[[Any], Any]] = {
    "aliases": tuple,
    "session": _session_in,
    "recently_viewed": tuple,
    "orders": _orders_in,
    "cart": _cart_in,
    "message_ids": tuple,
    "merged": tuple,
    "exposures": _exposures_in,
}
