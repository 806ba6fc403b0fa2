"""The JSON walk: one pass over event data that checks every value and bounds its JSON size.

It runs on every `track()`, so it is written for speed:
- keys repeat endlessly ("product_id", "price"), so a key is checked once and remembered with
  its type rule and size (bounded caches);
- the common values (text, numbers) and the common type rules are checked inline;
- field paths are never formatted on the way in: an `InvalidEvent` collects its path on the way
  out (`InvalidEvent.within`).

The size returned is an upper bound of the JSON size (UTF-8, compact separators): a string
counts six bytes per UTF-8 byte, the most JSON escaping can make of one. Callers measure
exactly only when the bound exceeds their limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._exceptions import InvalidEvent
from ._property_rules import PROPERTY_RULES, FieldRule
from ._shapes import Plan

if TYPE_CHECKING:
    from ._limits import EventLimits

_TEXT, _ID, _AMOUNT = FieldRule.TEXT, FieldRule.ID, FieldRule.AMOUNT
_QUANTITY, _CURRENCY, _PRODUCTS = FieldRule.QUANTITY, FieldRule.CURRENCY, FieldRule.PRODUCTS

_KeyEntry = tuple["FieldRule | None", int]
"""(type rule or None, bound on JSON size)"""

_MAX_CACHED_KEYS = 4096
"""Valid keys remembered per `EventLimits` (its `ruled_keys` and `plain_keys`): a remembered key
needs no check at all."""
_SCALARS = (int, float, str, bool, type(None))
_INT_RANGE = range(-(2**63), 2**63)


def walk_mapping(
    mapping: Mapping[Any, Any],
    depth: int,
    limits: EventLimits,
    ruled: bool = False,
    budget: list[int] | None = None,
) -> int:
    """Check every key and value of `mapping` (at nesting `depth`); return its JSON size bound.

    With `ruled`, the e-commerce property rules apply to the names they know, and a `products`
    list has each of its items checked by the same rules.
    """
    if depth > limits.max_depth:
        raise InvalidEvent(f"nested deeper than {limits.max_depth} levels", kind="too_deep")
    # Bytes the entries seen so far need at the very least ('"k":0,' each), across the whole
    # event: a payload that cannot fit is refused before it costs a walk over all of it.
    if budget is None:
        budget = [limits.max_event_bytes]
    budget[0] -= 6 * len(mapping)
    if budget[0] < 0:
        raise _too_large(len(mapping), "keys", limits)
    shape = tuple(mapping) if type(mapping) is dict else None
    if shape is not None:
        plan = (limits.shapes.ruled if ruled else limits.shapes.plain).get(shape)
        if plan is not None:
            planned = _planned(plan, mapping, depth, budget)  # type: ignore[arg-type]
            if planned is not None:
                return planned
    size = 2
    max_string = limits.max_string_length
    max_id = limits.max_id_length
    keys = limits.ruled_keys if ruled else limits.plain_keys
    for key, value in mapping.items():
        try:
            entry = keys.get(key)
        except TypeError:  # an unhashable key, from a Mapping of the caller's own making
            entry = None
        if entry is None:
            entry = _admit_key(key, keys, ruled, limits.max_key_length)
        rule, key_size = entry
        kind = type(value)
        try:
            # Each kind of value first accepts what the common rules allow, inline; anything
            # else goes to `check_rule`, which accepts the rare valid cases or says what's wrong.
            if kind is str:
                n = len(value)
                if not (
                    rule is None
                    or rule is _TEXT
                    or (rule is _ID and 0 < n <= max_id)
                    or (rule is _CURRENCY and n == 3 and value.isalpha() and value.isascii())
                ):
                    check_rule(rule, value, limits)
                if n <= max_string and value.isascii():
                    size += key_size + 6 * n + 8
                else:
                    size += key_size + 8 + text_size(value, max_string)
            elif kind is float:
                if value - value != 0.0:  # NaN and +/-inf, cheaper than math.isfinite here
                    raise InvalidEvent(f"{value!r} is not a finite number", kind="not_finite")
                if not (rule is None or (rule is _AMOUNT and value >= 0)):
                    check_rule(rule, value, limits)
                size += key_size + 28
            elif kind is int:
                if value not in _INT_RANGE:
                    raise InvalidEvent("integer outside the 64-bit range", kind="out_of_range")
                if not (
                    rule is None
                    or rule is _ID
                    or ((rule is _AMOUNT or rule is _QUANTITY) and value >= 0)
                ):
                    check_rule(rule, value, limits)
                size += key_size + 24
            else:
                if rule is not None and value is not None:
                    check_rule(rule, value, limits)
                size += key_size + 4 + _walk_value(value, depth, limits, rule is _PRODUCTS, budget)
        except InvalidEvent as error:
            raise error.within(key) from None
    if shape is not None:
        # Key sizes afresh, not from `keys`: that cache may have been cleared meanwhile.
        limits.shapes.passed((ruled, shape), _key_size, limits, _walk_value, mapping)
    return size


def _planned(plan: Plan, mapping: dict[str, Any], depth: int, budget: list[int]) -> int | None:
    """The size from a shape's plan (`_shapes`), or None when it declined."""
    before = budget[0]
    planned = plan(mapping, depth, budget)
    if planned is None:
        budget[0] = before  # the generic walk starts afresh and finds out why
    return planned


def _walk_value(
    value: Any, depth: int, limits: EventLimits, products: bool, budget: list[int]
) -> int:
    kind = type(value)
    if kind is str:
        return text_size(value, limits.max_string_length) + 2
    if kind is float:
        if value - value != 0.0:
            raise InvalidEvent(f"{value!r} is not a finite number", kind="not_finite")
        return 24
    if kind is int:
        if value not in _INT_RANGE:
            raise InvalidEvent("integer outside the 64-bit range", kind="out_of_range")
        return 20
    if kind is bool or value is None:
        return 5
    if kind is list or kind is tuple:
        if depth + 1 > limits.max_depth:
            raise InvalidEvent(f"nested deeper than {limits.max_depth} levels", kind="too_deep")
        budget[0] -= 2 * len(value)  # "0," at the least
        if budget[0] < 0:
            raise _too_large(len(value), "items", limits)
        size = 2 + len(value)
        item_depth = depth + 2
        if products and value and type(value[0]) is dict and item_depth <= limits.max_depth:
            # A list of one shape, in one generated loop (see `_shapes`), which names the
            # item of an error itself.
            items_plan = limits.shapes.items.get(tuple(value[0]))
            if items_plan is not None:
                before = budget[0]
                planned = items_plan(value, item_depth, budget)
                if planned is not None:
                    return size + planned
                budget[0] = before  # declined: item by item below
        index = 0
        try:
            if products:
                plans = limits.shapes.ruled
                for index, item in enumerate(value):  # noqa: B007 - read in the handler
                    if type(item) is dict:
                        # The products of a list share a shape: its plan directly, when the
                        # item is small enough to need no depth or budget checks of its own.
                        plan = plans.get(tuple(item))
                        need = 6 * len(item)
                        if plan and item_depth <= limits.max_depth and budget[0] >= need:
                            budget[0] -= need
                            planned = _planned(plan, item, item_depth, budget)
                            if planned is not None:
                                size += planned
                                continue
                            budget[0] += need  # walk_mapping below takes it again
                    elif not isinstance(item, Mapping):
                        raise InvalidEvent(
                            f"expected a mapping, got {type(item).__name__}", kind="type"
                        )
                    size += walk_mapping(item, item_depth, limits, True, budget)
            else:
                for index, item in enumerate(value):  # noqa: B007
                    size += _walk_value(item, depth + 1, limits, False, budget)
        except InvalidEvent as error:
            raise error.within(index) from None
        return size
    if kind is dict or isinstance(value, Mapping):
        return walk_mapping(value, depth + 1, limits, False, budget)
    if isinstance(value, _SCALARS):  # subclasses of str/int/float (enums, numpy scalars ...)
        raise InvalidEvent(f"expected a plain JSON value, got {kind.__name__}", kind="type")
    raise InvalidEvent(f"{kind.__name__} is not a JSON value", kind="type")


def _too_large(count: int, what: str, limits: EventLimits) -> InvalidEvent:
    return InvalidEvent(
        f"with these {count} {what}, the event cannot fit in {limits.max_event_bytes} bytes",
        kind="too_large",
    )


def check_rule(rule: FieldRule, value: Any, limits: EventLimits) -> None:
    """Raise `InvalidEvent` unless `value` (not None) satisfies `rule`."""
    kind = type(value)
    if rule is _TEXT:
        if kind is not str:
            raise InvalidEvent(f"expected str, got {kind.__name__}", kind="type")
    elif rule is _ID:
        if kind is str:
            if not 0 < len(value) <= limits.max_id_length:
                raise InvalidEvent(f"must be 1..{limits.max_id_length} characters", kind="bad_id")
        elif kind is not int:
            raise InvalidEvent(f"expected str, got {kind.__name__}", kind="type")
    elif rule is _AMOUNT:
        if kind is not int and kind is not float:
            raise InvalidEvent(f"expected a number, got {kind.__name__}", kind="type")
        if value < 0:
            raise InvalidEvent(f"must not be negative, got {value!r}", kind="out_of_range")
    elif rule is _QUANTITY:
        if kind is not int or value < 0:
            raise InvalidEvent(f"expected a non-negative int, got {value!r}", kind="type")
    elif rule is _CURRENCY:
        if kind is not str or len(value) != 3 or not value.isalpha() or not value.isascii():
            raise InvalidEvent(
                f"expected an ISO-4217 code such as 'EUR', got {value!r}", kind="type"
            )
    elif kind is not list and kind is not tuple:  # FieldRule.PRODUCTS
        raise InvalidEvent(f"expected a list, got {kind.__name__}", kind="type")


def _admit_key(key: object, cache: dict[str, _KeyEntry], ruled: bool, max_key: int) -> _KeyEntry:
    """Check a key not seen before; remember it (with its rule and size) when valid."""
    if not isinstance(key, str):  # a str subclass serialises as its text: accepted
        raise InvalidEvent(
            f"keys must be str, got {type(key).__name__}", field=repr(key), kind="type"
        )
    if not 0 < len(key) <= max_key:
        raise InvalidEvent(
            f"keys must be 1..{max_key} characters", field=key[:40] or "''", kind="bad_key"
        )
    try:
        key_size = text_size(key, max_key)
    except InvalidEvent as error:
        raise error.within(key[:40]) from None
    entry = (PROPERTY_RULES.get(key) if ruled else None, key_size)
    if len(cache) >= _MAX_CACHED_KEYS:
        cache.clear()
    cache[key] = entry
    return entry


def _key_size(key: str) -> int:
    return text_size(key, len(key))


def text_size(text: str, max_length: int) -> int:
    """Length and Unicode checks of a string; returns a bound on its size in JSON."""
    if len(text) > max_length:
        raise InvalidEvent(f"string of {len(text)} characters, over {max_length}", kind="too_long")
    return 6 * (len(text) if text.isascii() else utf8_size(text))


def utf8_size(text: str) -> int:
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidEvent(
            "text is not valid Unicode (lone surrogate)", kind="bad_unicode"
        ) from None
