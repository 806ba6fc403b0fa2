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

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import msgpack

from ._exceptions import PersonalizeError
from .exposure import Exposure
from .profile import Cart, CartItem, Profile, PurchaseHistory, Session

VERSION = 1
_VERSION_KEY = "_v"
_new_tuple = tuple.__new__


logger = logging.getLogger("personalize_sdk")


class ProfileDecodeError(PersonalizeError, ValueError):
    """Stored bytes are not a profile this version can read."""


def encode(profile: Profile) -> bytes:
    data = _named(profile, _PROFILE_OUT)
    data[_VERSION_KEY] = VERSION
    try:
        pack = _PACKERS.pack
    except AttributeError:  # this thread's first profile (a Packer is not thread-safe)
        pack = _PACKERS.pack = msgpack.Packer(use_bin_type=True).pack
    return pack(data)


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
        return _built(Profile, data, _PROFILE_IN)
    except (TypeError, ValueError, KeyError, AttributeError) as error:
        raise ProfileDecodeError(f"stored profile is malformed: {error}") from error


# -- encoding ---------------------------------------------------------------------------------

_REQUIRED: Any = object()
"""The default of a field that has none: no value equals it, so it is always written."""
_PACKERS = threading.local()

_Plan = tuple[tuple[str, Any, "Callable[[Any], Any] | None"], ...]
"""Per field of a NamedTuple, in order: (name, default or `_REQUIRED`, converter or None)."""


def decode_erased(key: str, raw: bytes) -> Profile | None:
    """`decode` of the profile `key` a store has just deleted; None (logged) when it cannot
    be read (corrupt, or a newer release's): it is erased all the same, with no aliases."""
    try:
        return decode(raw)
    except ProfileDecodeError as error:
        logger.warning("personalize erased the stored profile %r, which it could not read: %s",
                       key, error)  # fmt: skip
        return None


def _plan(cls: Any, converters: Mapping[str, Callable[[Any], Any]]) -> _Plan:
    defaults = cls._field_defaults
    return tuple(
        (name, defaults.get(name, _REQUIRED), converters.get(name)) for name in cls._fields
    )


def _named(value: Any, plan: _Plan) -> dict[str, Any]:
    """A NamedTuple as {field: value} without the defaults; nested values through the plan's
    converters. (Most fields of a profile are their very default object: `is` first.)"""
    out: dict[str, Any] = {}
    for (name, default, convert), item in zip(plan, value, strict=True):
        if item is default or item == default:
            continue
        out[name] = item if convert is None or item is None else convert(item)
    return out


def _orders_out(orders: PurchaseHistory) -> dict[str, Any]:
    return {name: getattr(orders, name) for name in _ORDER_FIELDS}


def _cart_out(cart: Cart) -> dict[str, Any]:
    return {
        "items": [attrs.astuple(item, recurse=False) for item in cart.items],
        "currency": cart.currency,
        "updated_at": cart.updated_at,
    }


def _session_out(session: Session) -> dict[str, Any]:
    return _named(session, _SESSION_OUT)


def _exposures_out(exposures: Mapping[str, Exposure]) -> dict[str, Any]:
    return {cid: _named(e, _EXPOSURE_OUT) for cid, e in exposures.items()}


_ORDER_FIELDS = tuple(field.name for field in attrs.fields(PurchaseHistory))
_SESSION_OUT = _plan(Session, {"category_views": dict})
_EXPOSURE_OUT = _plan(Exposure, {})
_PROFILE_OUT = _plan(
    Profile,
    {
        "traits": dict,
        "session": _session_out,
        "category_affinity": dict,
        "brand_affinity": dict,
        "orders": _orders_out,
        "cart": _cart_out,
        "counters": dict,
        "exposures": _exposures_out,
    },
)


# -- decoding ---------------------------------------------------------------------------------


def _built(cls: Any, data: Mapping[str, Any], plan: _Plan) -> Any:
    """The NamedTuple `cls` of the known fields of `data`, each through its converter (tuples
    back from lists), the missing ones at their default."""
    values = []
    for name, default, make in plan:
        value = data.get(name, default)
        if value is _REQUIRED:
            raise KeyError(f"{cls.__name__}.{name} is missing")
        if make is not None and value is not None and value is not default:
            value = make(value)
        values.append(value)
    return _new_tuple(cls, values)


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
    return _built(Session, data, _SESSION_IN)  # type: ignore[no-any-return]


_ORDER_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "categories": tuple,
    "product_ids": tuple,
    "recent_orders": _tuple_of_tuples,
    "cancelled": tuple,
}


def _orders_in(data: Mapping[str, Any]) -> PurchaseHistory:
    return PurchaseHistory(**_fields_in(data, _ORDER_CONVERTERS, _ORDER_FIELDS))


def _cart_in(data: Mapping[str, Any]) -> Cart:
    items = tuple(CartItem(*item) for item in data.get("items", ()))
    return Cart(items, data.get("currency"), data.get("updated_at"))


def _exposures_in(data: Mapping[str, Any]) -> dict[str, Exposure]:
    return {cid: _built(Exposure, e, _EXPOSURE_IN) for cid, e in data.items()}


_SESSION_IN = _plan(Session, {"products_viewed": tuple})
_EXPOSURE_IN = _plan(Exposure, {"recent": tuple})
_PROFILE_IN = _plan(
    Profile,
    {
        "aliases": tuple,
        "session": _session_in,
        "recently_viewed": tuple,
        "orders": _orders_in,
        "cart": _cart_in,
        "message_ids": tuple,
        "merged": tuple,
        "exposures": _exposures_in,
    },
)
