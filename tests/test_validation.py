"""Validation at the boundary: events, traits, ids, timestamps and message ids.

Depth convention used below (the package's): `properties` itself is level 1, so with the default
`max_depth=5` an event may nest four containers (dicts or lists) below `properties`.
"""

from __future__ import annotations

import enum
import json
import math
import os
import re
import threading
from collections.abc import Iterator, Mapping
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from personalize_sdk import InvalidEvent, PersonalizeError
from personalize_sdk._ids import new_message_id
from personalize_sdk._timestamps import EARLIEST, LATEST, to_epoch
from personalize_sdk._validation import (
    DEFAULT_LIMITS,
    EventLimits,
    check_id,
    validate_event,
    validate_traits,
)
from personalize_sdk.events import Event

T0 = 1_790_000_000.0  # 2026-09-21T14:13:20Z
HEX32 = re.compile(r"[0-9a-f]{32}")
KINDS = {
    "type",
    "bad_id",
    "bad_name",
    "bad_key",
    "bad_unicode",
    "not_finite",
    "out_of_range",
    "too_long",
    "too_deep",
    "too_large",
    "bad_timestamp",
}

ID_FIELDS = (
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
)
AMOUNT_FIELDS = ("price", "value", "revenue", "total", "subtotal", "shipping", "tax", "discount")
TEXT_FIELDS = ("category", "brand", "name", "page_type", "query", "url", "path")
WELL_KNOWN = frozenset(
    {*ID_FIELDS, *AMOUNT_FIELDS, *TEXT_FIELDS, "quantity", "currency", "products"}
)

# Valid Unicode that is not ASCII: must pass untouched.
ODD_UNICODE = [
    pytest.param("\U0001f6d2\U0001f381", id="emoji"),
    pytest.param("\U0001f469\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466", id="zwj-family"),
    pytest.param("\U0001f1ee\U0001f1f3", id="flag"),
    pytest.param(
        "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645", id="arabic-rtl"
    ),
    pytest.param("\u05e9\u05dc\u05d5\u05dd \u202eabc\u202c", id="hebrew-and-rtl-override"),
    pytest.param("Zoe\u0308 cafe\u0301", id="combining-marks"),
    pytest.param("\u6771\u4eac\u306e\u6642\u8a08 \uc2dc\uacc4", id="cjk"),
    pytest.param("a\u200bb\u200cc\u200dd\ufeff", id="zero-width"),
    pytest.param("\U00010348 \U0001d11e", id="astral-plane"),
]

LONE_SURROGATES = [
    pytest.param("\ud800", id="high-alone"),
    pytest.param("ok\udfff", id="low-trailing"),
    pytest.param("\udc00\ud800", id="reversed-pair"),
]


class Colour(enum.IntEnum):
    RED = 1


class Size(str, enum.Enum):
    LARGE = "L"


class Label(str):
    pass


class Count(int):
    pass


class Amount(float):
    pass


class ReadOnly(Mapping[str, Any]):
    """A Mapping that is not a dict."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


def validate(
    properties: object = None,
    *,
    visitor_id: object = "v-1",
    name: object = "Custom Event",
    timestamp: object = None,
    message_id: object = None,
    context: object = None,
    limits: EventLimits = DEFAULT_LIMITS,
) -> Event:
    return validate_event(
        visitor_id,
        name,
        properties,
        timestamp=timestamp,
        message_id=message_id,
        context=context,
        now=T0,
        limits=limits,
    )


def rejected(field: str, kind: str, properties: object = None, **kwargs: Any) -> InvalidEvent:
    with pytest.raises(InvalidEvent) as info:
        validate(properties, **kwargs)
    assert info.value.field == field, str(info.value)
    assert info.value.kind == kind, str(info.value)
    return info.value


def nested_dicts(levels: int) -> dict[str, Any]:
    """Properties holding `levels` dicts nested below them: {"a": {"a": ... {"leaf": 1}}}."""
    value: Any = {"leaf": 1}
    for _ in range(levels - 1):
        value = {"a": value}
    return {"a": value}


def nested_lists(levels: int) -> dict[str, Any]:
    """Properties holding `levels` lists nested below them: {"a": [[...[1]...]]}."""
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return {"a": value}


def json_size(value: object) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


# -- EventLimits ---------------------------------------------------------------------------------


def test_default_limits_follow_segment_bounds() -> None:
    assert EventLimits() == DEFAULT_LIMITS
    assert DEFAULT_LIMITS.max_event_bytes == 32 * 1024
    assert DEFAULT_LIMITS.max_id_length == 255
    assert DEFAULT_LIMITS.max_name_length == 200
    assert DEFAULT_LIMITS.max_key_length == 255
    assert DEFAULT_LIMITS.max_string_length == 8 * 1024
    assert DEFAULT_LIMITS.max_depth == 5


def test_limits_are_frozen_and_keyword_only() -> None:
    limits = EventLimits(max_depth=3)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        limits.max_depth = 9  # type: ignore[misc]
    with pytest.raises(TypeError):
        EventLimits(1024)  # type: ignore[misc]


# -- check_id ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["v", "x" * 255, "visitor-\u00e9", "\u8bbf\u5ba2-1", "\U0001f6d2-cart"],
)
def test_check_id_returns_valid_ids(value: str) -> None:
    assert check_id(value, "visitor_id") is value


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (None, "type"),
        (42, "type"),
        (4.2, "type"),
        (b"v-1", "type"),
        (Label("v-1"), "type"),
        (["v-1"], "type"),
        ("", "bad_id"),
        ("x" * 256, "bad_id"),
        ("\U0001f6d2" * 256, "bad_id"),
        ("\ud800", "bad_unicode"),
        ("v-\udfff-1", "bad_unicode"),
    ],
)
def test_check_id_rejects(value: object, kind: str) -> None:
    with pytest.raises(InvalidEvent) as info:
        check_id(value, "user_id")
    assert info.value.field == "user_id"
    assert info.value.kind == kind
    assert str(info.value).startswith("user_id: ")


def test_check_id_honours_custom_id_length() -> None:
    limits = EventLimits(max_id_length=8)
    assert check_id("12345678", "visitor_id", limits) == "12345678"
    with pytest.raises(InvalidEvent) as info:
        check_id("123456789", "visitor_id", limits)
    assert info.value.kind == "bad_id"


def test_invalid_event_is_in_the_error_family() -> None:
    with pytest.raises(InvalidEvent) as info:
        check_id(1, "visitor_id")
    assert isinstance(info.value, PersonalizeError)
    assert isinstance(info.value, ValueError)


# -- visitor id and event name -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("visitor_id", "kind"),
    [
        (123, "type"),
        (None, "type"),
        (b"v-1", "type"),
        (Label("v-1"), "type"),
        ("", "bad_id"),
        ("v" * 256, "bad_id"),
        ("v\ud800", "bad_unicode"),
    ],
)
def test_visitor_id_rules(visitor_id: object, kind: str) -> None:
    rejected("visitor_id", kind, visitor_id=visitor_id)


@pytest.mark.parametrize("visitor_id", ["v", "v" * 255, "\u8bbf\u5ba2", "anon-\U0001f6d2"])
def test_valid_visitor_ids_are_accepted(visitor_id: str) -> None:
    assert validate(visitor_id=visitor_id).visitor_id == visitor_id


@pytest.mark.parametrize("name", [None, 7, b"Product Viewed", ["Product Viewed"], Label("X")])
def test_event_name_must_be_str(name: object) -> None:
    rejected("event", "type", name=name)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("", id="empty"),
        pytest.param("x" * 201, id="too-long"),
        pytest.param("Product\nViewed", id="newline"),
        pytest.param("Product\tViewed", id="tab"),
        pytest.param("\x00", id="nul"),
        pytest.param("Product\x7fViewed", id="del"),
        pytest.param("Zero\u200bWidth", id="zero-width-space"),
        pytest.param("Bad \ud800", id="lone-surrogate"),
    ],
)
def test_event_name_must_be_short_and_printable(name: str) -> None:
    rejected("event", "bad_name", name=name)


@pytest.mark.parametrize(
    "name",
    [
        "x" * 200,
        "Product Viewed",
        "Produkt angesehen",
        "\u5546\u54c1\u3092\u898b\u305f",
        "Cart \U0001f6d2",
    ],
)
def test_valid_event_names_are_accepted(name: str) -> None:
    assert validate(name=name).name == name


def test_custom_name_length() -> None:
    limits = EventLimits(max_name_length=5)
    assert validate(name="Short", limits=limits).name == "Short"
    rejected("event", "bad_name", name="Longer", limits=limits)


def test_event_names_are_checked_once_per_limits_and_remembered_within_a_bound() -> None:
    from personalize_sdk._validation import _MAX_EVENT_NAMES

    limits = EventLimits(max_name_length=20)
    validate(name="Product Viewed", limits=limits)
    assert limits.event_names == {"Product Viewed": 6 * len("Product Viewed")}
    rejected("event", "bad_name", name="Product\nViewed", limits=limits)
    rejected("event", "bad_name", name="x" * 21, limits=limits)
    assert list(limits.event_names) == ["Product Viewed"]  # only valid names are remembered
    # Another limits object checks the name against its own bound.
    rejected("event", "bad_name", name="Product Viewed", limits=EventLimits(max_name_length=5))
    assert validate(name="Cart \U0001f6d2", limits=limits).name == "Cart \U0001f6d2"
    assert limits.event_names["Cart \U0001f6d2"] == 6 * len("Cart \U0001f6d2".encode())
    for number in range(3 * _MAX_EVENT_NAMES):  # a bot's random names
        validate(name=f"bot {number}", limits=limits)
    assert len(limits.event_names) <= _MAX_EVENT_NAMES


# -- the properties container and its keys -------------------------------------------------------


@pytest.mark.parametrize("properties", [["a", 1], "price=1", 12, ("a", "b"), {"a", "b"}])
def test_properties_must_be_a_mapping(properties: object) -> None:
    rejected("properties", "type", properties)


def test_missing_properties_become_an_empty_mapping() -> None:
    assert validate(None).properties == {}


@pytest.mark.parametrize(
    "properties",
    [
        MappingProxyType({"product_id": "sku-1", "price": 3.5}),
        ReadOnly({"product_id": "sku-1", "price": 3.5}),
    ],
    ids=["mappingproxy", "custom-mapping"],
)
def test_any_mapping_is_accepted_as_properties(properties: Mapping[str, Any]) -> None:
    assert validate(properties).properties is properties


@pytest.mark.parametrize("key", [1, None, 2.5, ("a",), b"key", True])
def test_keys_must_be_str(key: object) -> None:
    rejected(f"properties.{key!r}", "type", {key: 1})


def test_a_str_subclass_key_is_accepted_as_its_text() -> None:
    # Keys serialise as their text whatever their class, and a shape plan (which matches
    # keys by equality) must answer as the generic walk does.
    assert validate({Label("k"): 1}).properties == {"k": 1}


def test_nested_keys_must_be_str() -> None:
    rejected("properties.outer.3", "type", {"outer": {3: "x"}})
    rejected("context.page.None", "type", context={"page": {None: 1}})


@pytest.mark.parametrize(
    ("key", "field"),
    [
        pytest.param("", "properties.''", id="empty"),
        pytest.param("k" * 256, "properties." + "k" * 40, id="256-chars"),
        pytest.param("\u00e9" * 256, "properties." + "\u00e9" * 40, id="256-non-ascii"),
    ],
)
def test_keys_must_be_1_to_255_characters(key: str, field: str) -> None:
    rejected(field, "bad_key", {key: 1})


def test_key_length_limit_applies_when_nested_and_is_configurable() -> None:
    rejected("properties.meta." + "k" * 40, "bad_key", {"meta": {"k" * 300: 1}})
    limits = EventLimits(max_key_length=3)
    assert validate({"abc": 1}, limits=limits).properties == {"abc": 1}
    rejected("properties.abcd", "bad_key", {"abcd": 1}, limits=limits)


def test_keys_of_255_characters_are_accepted() -> None:
    properties = {"k" * 255: 1, "\u00e9" * 255: 2}
    assert validate(properties).properties == properties


@pytest.mark.parametrize("key", LONE_SURROGATES)
def test_lone_surrogate_keys_are_bad_unicode(key: str) -> None:
    error = rejected(f"properties.{key}", "bad_unicode", {key: 1})
    assert "surrogate" in str(error)
    rejected(f"properties.nested.{key}", "bad_unicode", {"nested": {key: 1}})


@pytest.mark.parametrize("key", ODD_UNICODE)
def test_unicode_keys_are_accepted(key: str) -> None:
    properties = {key: 1, "nested": {key: True}}
    assert validate(properties).properties == properties


# -- value types ---------------------------------------------------------------------------------

UNSUPPORTED_VALUES = [
    pytest.param({1, 2}, id="set"),
    pytest.param(frozenset({"a"}), id="frozenset"),
    pytest.param(b"bytes", id="bytes"),
    pytest.param(bytearray(b"x"), id="bytearray"),
    pytest.param(object(), id="object"),
    pytest.param(datetime(2026, 9, 21, tzinfo=timezone.utc), id="datetime"),
    pytest.param(date(2026, 9, 21), id="date"),
    pytest.param(Decimal("1.50"), id="decimal"),
    pytest.param(1 + 2j, id="complex"),
    pytest.param(Colour.RED, id="int-enum"),
    pytest.param(Size.LARGE, id="str-enum"),
    pytest.param(Label("hello"), id="str-subclass"),
    pytest.param(Count(3), id="int-subclass"),
    pytest.param(Amount(1.5), id="float-subclass"),
    pytest.param(range(3), id="range"),
    pytest.param(len, id="function"),
]


@pytest.mark.parametrize("value", UNSUPPORTED_VALUES)
def test_unsupported_values_are_rejected_at_the_top(value: object) -> None:
    rejected("properties.v", "type", {"v": value})


@pytest.mark.parametrize("value", UNSUPPORTED_VALUES)
def test_unsupported_values_are_rejected_when_nested(value: object) -> None:
    rejected("properties.v.inner", "type", {"v": {"inner": value}})
    rejected("properties.v.1", "type", {"v": [1, value]})
    rejected("properties.v.0.k", "type", {"v": [{"k": value}]})
    rejected("context.v", "type", context={"v": value})


def test_plain_json_values_are_accepted_and_kept() -> None:
    properties = {
        "none": None,
        "yes": True,
        "no": False,
        "int": -7,
        "float": 2.5,
        "text": "plain ascii",
        "empty": "",
        "list": [1, "two", 3.0, None, True, [4], {"five": 5}],
        "tuple": (1, "two"),
        "dict": {"a": {"b": ["c"]}},
    }
    event = validate(properties)
    assert event.properties == properties


# -- numbers -------------------------------------------------------------------------------------

NON_FINITE = [
    pytest.param(math.nan, id="nan"),
    pytest.param(math.inf, id="inf"),
    pytest.param(-math.inf, id="-inf"),
]


@pytest.mark.parametrize("value", NON_FINITE)
def test_non_finite_numbers_are_rejected_everywhere(value: float) -> None:
    rejected("properties.x", "not_finite", {"x": value})
    rejected("properties.xs.1", "not_finite", {"xs": [1.0, value]})
    rejected("properties.d.e", "not_finite", {"d": {"e": value}})
    rejected("properties.d.0.e.1", "not_finite", {"d": [{"e": [0, value]}]})
    rejected("context.screen.density", "not_finite", context={"screen": {"density": value}})


@pytest.mark.parametrize("value", [2**63 - 1, -(2**63), 0, -1])
def test_ints_within_64_bits_are_accepted(value: int) -> None:
    properties = {"n": value, "ns": [value], "d": {"n": value}}
    assert validate(properties).properties == properties


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 10**100, -(10**400)])
def test_ints_beyond_64_bits_are_rejected(value: int) -> None:
    rejected("properties.n", "out_of_range", {"n": value})
    rejected("properties.ns.0", "out_of_range", {"ns": [value]})
    rejected("properties.d.n", "out_of_range", {"d": {"n": value}})


# -- strings -------------------------------------------------------------------------------------


def test_strings_up_to_8_kb_are_accepted() -> None:
    properties = {"s": "x" * 8192}
    assert validate(properties).properties == properties


def test_ascii_strings_in_lists_are_accepted() -> None:
    properties = {"tags": ["new", "sale"], "matrix": [["a", "b"], ["c"]]}
    assert validate(properties).properties == properties


@pytest.mark.parametrize("length", [8193, 100_000, 1024 * 1024], ids=["8k+1", "100k", "1mb"])
def test_strings_over_8_kb_are_too_long(length: int) -> None:
    text = "x" * length
    rejected("properties.s", "too_long", {"s": text})
    rejected("properties.d.s", "too_long", {"d": {"s": text}})
    rejected("properties.xs.1", "too_long", {"xs": ["ok", text]})
    rejected("context.s", "too_long", context={"s": text})


def test_custom_string_length() -> None:
    limits = EventLimits(max_string_length=10)
    assert validate({"s": "x" * 10}, limits=limits).properties == {"s": "x" * 10}
    rejected("properties.s", "too_long", {"s": "x" * 11}, limits=limits)
    rejected("properties.xs.0", "too_long", {"xs": ["x" * 11]}, limits=limits)


@pytest.mark.parametrize("text", LONE_SURROGATES)
def test_lone_surrogate_values_are_bad_unicode(text: str) -> None:
    rejected("properties.s", "bad_unicode", {"s": text})
    rejected("properties.d.s", "bad_unicode", {"d": {"s": text}})
    rejected("properties.xs.0", "bad_unicode", {"xs": [text]})
    rejected("context.s", "bad_unicode", context={"s": text})


@pytest.mark.parametrize("text", ODD_UNICODE)
def test_valid_unicode_values_are_accepted(text: str) -> None:
    properties = {"s": text, "d": {"s": text}, "xs": [text, "ascii"]}
    event = validate(properties, context={"s": text})
    assert event.properties == properties
    assert event.context == {"s": text}


# -- nesting -------------------------------------------------------------------------------------


def test_dicts_nested_to_max_depth_are_accepted() -> None:
    properties = nested_dicts(DEFAULT_LIMITS.max_depth - 1)
    assert validate(properties).properties == properties


def test_dicts_nested_deeper_than_max_depth_are_rejected() -> None:
    levels = DEFAULT_LIMITS.max_depth
    rejected("properties" + ".a" * levels, "too_deep", nested_dicts(levels))
    rejected("context" + ".a" * levels, "too_deep", context=nested_dicts(levels))


def test_lists_nested_to_max_depth_are_accepted() -> None:
    properties = nested_lists(DEFAULT_LIMITS.max_depth - 1)
    assert validate(properties).properties == properties


def test_lists_nested_deeper_than_max_depth_are_rejected() -> None:
    levels = DEFAULT_LIMITS.max_depth
    rejected("properties.a" + ".0" * (levels - 1), "too_deep", nested_lists(levels))


def test_mixed_nesting_counts_every_container() -> None:
    ok = {"a": [{"b": [{"c": 1}]}]}  # list, dict, list, dict: four containers below properties
    assert validate(ok).properties == ok
    with pytest.raises(InvalidEvent) as info:
        validate({"a": [{"b": [{"c": [1]}]}]})
    assert info.value.kind == "too_deep"
    assert info.value.field.startswith("properties.a.0.b")


def test_very_deep_nesting_is_rejected_without_recursion_error() -> None:
    with pytest.raises(InvalidEvent) as info:
        validate(nested_dicts(5000))
    assert info.value.kind == "too_deep"


def test_custom_max_depth() -> None:
    limits = EventLimits(max_depth=2)
    assert validate({"a": {"b": 1}}, limits=limits).properties == {"a": {"b": 1}}
    assert validate({"a": [1]}, limits=limits).properties == {"a": [1]}
    rejected("properties.a.b", "too_deep", {"a": {"b": {"c": 1}}}, limits=limits)
    rejected("properties.a.0", "too_deep", {"a": [[1]]}, limits=limits)
    assert validate({"a": 1}, limits=EventLimits(max_depth=1)).properties == {"a": 1}
    rejected("properties.a", "too_deep", {"a": {}}, limits=EventLimits(max_depth=1))


# -- whole-event size ----------------------------------------------------------------------------


def filler(total_bytes: int, chunk: int = 1000) -> dict[str, str]:
    """Properties of ASCII strings whose compact JSON is exactly `total_bytes` long."""
    properties: dict[str, str] = {}
    index = 0
    while json_size(properties) < total_bytes:
        properties[f"k{index:03d}"] = "x" * chunk
        index += 1
    excess = json_size(properties) - total_bytes
    last = f"k{index - 1:03d}"
    properties[last] = properties[last][: len(properties[last]) - excess]
    assert json_size(properties) == total_bytes
    return properties


def test_many_medium_strings_over_32_kb_are_too_large() -> None:
    properties = {f"field_{i}": "x" * 1000 for i in range(40)}
    error = rejected("properties", "too_large", properties)
    assert "32768" in str(error)


def test_event_just_under_32_kb_is_accepted() -> None:
    properties = filler(32 * 1024 - 200)
    assert validate(properties).properties == properties


def test_event_just_over_32_kb_is_too_large() -> None:
    rejected("properties", "too_large", filler(32 * 1024 + 1))


def test_context_counts_towards_the_event_size() -> None:
    half = filler(17_000)
    assert validate(half).properties == half
    assert validate(context=half).context == half
    with pytest.raises(InvalidEvent) as info:
        validate(half, context=dict(half))
    assert info.value.kind == "too_large"


def test_custom_event_size() -> None:
    limits = EventLimits(max_event_bytes=1024)
    small = filler(800, chunk=100)
    assert validate(small, limits=limits).properties == small
    rejected("properties", "too_large", filler(1100, chunk=100), limits=limits)


@pytest.mark.parametrize(
    "properties",
    [
        # A control character takes 6 bytes in JSON ("\u0001"): 8000 of them are ~48 KB.
        pytest.param({"note": "\x01" * 8000}, id="escaped-control-characters"),
        pytest.param({"a": "\x00" * 6000, "b": '"' * 6000}, id="escaped-nul-and-quotes"),
        # A 4-byte emoji counts as 1 character: 40 keys of 250 emoji are ~41 KB of UTF-8.
        pytest.param({"\U0001f6d2" * 250 + f"{i:03d}": i for i in range(40)}, id="non-ascii-keys"),
    ],
)
def test_size_is_measured_in_serialized_bytes(properties: dict[str, Any]) -> None:
    assert json_size(properties) > 32 * 1024
    rejected("properties", "too_large", properties)


def test_large_mapping_that_is_not_a_dict_is_measured() -> None:
    accepted = MappingProxyType(filler(20_000))
    assert validate(accepted).properties is accepted
    nested = {"inner": MappingProxyType(filler(20_000))}
    assert validate(nested).properties is nested
    rejected("properties", "too_large", MappingProxyType(filler(40_000)))


# -- well-known fields ---------------------------------------------------------------------------


@pytest.mark.parametrize("key", ID_FIELDS)
@pytest.mark.parametrize("value", ["sku-1", "x" * 255, 42, 0, None], ids=repr)
def test_id_fields_accept_str_or_int(key: str, value: object) -> None:
    assert validate({key: value}).properties == {key: value}


@pytest.mark.parametrize("key", ID_FIELDS)
@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (1.5, "type"),
        (True, "type"),
        (["sku-1"], "type"),
        ({"id": 1}, "type"),
        (Label("sku-1"), "type"),
        ("", "bad_id"),
        ("x" * 256, "bad_id"),
        ("sku-\ud800", "bad_unicode"),
    ],
    ids=lambda v: repr(v)[:20],
)
def test_id_fields_reject(key: str, value: object, kind: str) -> None:
    rejected(f"properties.{key}", kind, {key: value})


@pytest.mark.parametrize("key", AMOUNT_FIELDS)
@pytest.mark.parametrize("value", [0, 0.0, 120, 19.99, 1e9, None], ids=repr)
def test_amount_fields_accept_non_negative_numbers(key: str, value: object) -> None:
    assert validate({key: value}).properties == {key: value}


@pytest.mark.parametrize("key", AMOUNT_FIELDS)
@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (-0.01, "out_of_range"),
        (-1, "out_of_range"),
        (True, "type"),
        (False, "type"),
        ("12.00", "type"),
        (Decimal("12.00"), "type"),
        ([12], "type"),
        (Amount(1.0), "type"),
        (math.nan, "not_finite"),
        (math.inf, "not_finite"),
    ],
    ids=repr,
)
def test_amount_fields_reject(key: str, value: object, kind: str) -> None:
    rejected(f"properties.{key}", kind, {key: value})


@pytest.mark.parametrize("key", AMOUNT_FIELDS)
def test_amount_fields_reject_negative_infinity(key: str) -> None:
    with pytest.raises(InvalidEvent) as info:
        validate({key: -math.inf})
    assert info.value.field == f"properties.{key}"
    assert info.value.kind in {"out_of_range", "not_finite"}


@pytest.mark.parametrize("value", [0, 1, 3, 10_000, None])
def test_quantity_accepts_non_negative_ints(value: object) -> None:
    assert validate({"quantity": value}).properties == {"quantity": value}


@pytest.mark.parametrize("value", [-1, 1.0, 2.5, "1", True, Count(2), [1]], ids=repr)
def test_quantity_rejects(value: object) -> None:
    rejected("properties.quantity", "type", {"quantity": value})


@pytest.mark.parametrize("value", ["EUR", "USD", "JPY", "INR", None])
def test_currency_accepts_three_letter_codes(value: object) -> None:
    assert validate({"currency": value}).properties == {"currency": value}


@pytest.mark.parametrize(
    "value",
    ["EURO", "EU", "", "E1R", "\u20acUR", "\u00c4\u00d6\u00dc", "E R", 978, ["EUR"], Label("EUR")],
    ids=repr,
)
def test_currency_rejects(value: object) -> None:
    rejected("properties.currency", "type", {"currency": value})


@pytest.mark.parametrize("key", TEXT_FIELDS)
@pytest.mark.parametrize("value", ["Watches", "", "Montres & Bijoux", None], ids=repr)
def test_text_fields_accept_str(key: str, value: object) -> None:
    assert validate({key: value}).properties == {key: value}


@pytest.mark.parametrize("key", TEXT_FIELDS)
def test_text_fields_accept_unicode(key: str) -> None:
    value = "\u6642\u8a08 \U0001f6d2"
    assert validate({key: value}).properties == {key: value}


@pytest.mark.parametrize("key", TEXT_FIELDS)
@pytest.mark.parametrize("value", [5, 1.5, True, ["a"], {"a": "b"}, Size.LARGE], ids=repr)
def test_text_fields_reject_non_str(key: str, value: object) -> None:
    rejected(f"properties.{key}", "type", {key: value})


def test_well_known_rules_apply_only_at_the_spec_levels() -> None:
    # Inside an arbitrary nested object and in context, these names carry no type rule.
    properties = {"meta": {"price": "free", "quantity": "many", "currency": "euro"}}
    event = validate(properties, context={"price": "free", "products": "none"})
    assert event.properties == properties


# -- products ------------------------------------------------------------------------------------


def product(**overrides: Any) -> dict[str, Any]:
    base = {
        "product_id": "sku-1",
        "sku": "A-1",
        "name": "Watch",
        "category": "Watches",
        "brand": "Acme",
        "price": 120.0,
        "quantity": 1,
        "currency": "EUR",
    }
    return {**base, **overrides}


def test_products_list_of_mappings_is_accepted() -> None:
    properties = {
        "order_id": "o-1",
        "revenue": 240.0,
        "currency": "EUR",
        "products": [product(), product(product_id=7, price=0)],
    }
    assert validate(properties).properties == properties
    as_tuple = {"products": (product(), MappingProxyType(product()))}
    assert validate(as_tuple).properties == as_tuple
    assert validate({"products": []}).properties == {"products": []}


@pytest.mark.parametrize("value", ["sku-1", {"product_id": "sku-1"}, 3], ids=repr)
def test_products_must_be_a_list(value: object) -> None:
    rejected("properties.products", "type", {"products": value})


@pytest.mark.parametrize("item", ["sku-1", 3, None, ["sku-1"]], ids=repr)
def test_each_product_must_be_a_mapping(item: object) -> None:
    rejected("properties.products.1", "type", {"products": [product(), item]})


@pytest.mark.parametrize(
    ("overrides", "field", "kind"),
    [
        ({"price": -1}, "price", "out_of_range"),
        ({"price": "12"}, "price", "type"),
        ({"price": math.nan}, "price", "not_finite"),
        ({"product_id": 1.5}, "product_id", "type"),
        ({"product_id": ""}, "product_id", "bad_id"),
        ({"sku": "x" * 256}, "sku", "bad_id"),
        ({"quantity": "2"}, "quantity", "type"),
        ({"quantity": -2}, "quantity", "type"),
        ({"currency": "EURO"}, "currency", "type"),
        ({"category": 5}, "category", "type"),
        ({"brand": ["Acme"]}, "brand", "type"),
        ({"name": None, "extra": {1, 2}}, "extra", "type"),
        ({"note": "n\ud800"}, "note", "bad_unicode"),
        ({"tags": [math.inf]}, "tags.0", "not_finite"),
    ],
)
def test_product_fields_follow_the_same_rules(
    overrides: dict[str, Any], field: str, kind: str
) -> None:
    properties = {"products": [product(), product(**overrides)]}
    rejected(f"properties.products.1.{field}", kind, properties)


def test_products_count_towards_depth() -> None:
    # properties > products > product > dict > dict: four containers below properties.
    ok = {"products": [{"options": {"size": {"eu": 42}}}]}
    assert validate(ok).properties == ok
    with pytest.raises(InvalidEvent) as info:
        validate({"products": [{"options": {"size": {"eu": {"x": 1}}}}]})
    assert info.value.kind == "too_deep"
    assert info.value.field.startswith("properties.products.0.options")


# -- context -------------------------------------------------------------------------------------


@pytest.mark.parametrize("context", ["Mozilla/5.0", [("ip", "1.2.3.4")], 1], ids=repr)
def test_context_must_be_a_mapping(context: object) -> None:
    rejected("context", "type", context=context)


def test_context_is_validated_like_properties() -> None:
    rejected("context.''", "bad_key", context={"": 1})
    rejected("context.7", "type", context={7: 1})
    rejected("context.ua.\ud800", "bad_unicode", context={"ua": {"\ud800": 1}})
    rejected("context.n", "out_of_range", context={"n": 2**64})


def test_valid_context_is_kept() -> None:
    context = {"ip": "203.0.113.9", "locale": "de-DE", "screen": {"width": 390, "dpr": 3.0}}
    assert validate(context=context).context == context
    assert validate().context is None


# -- timestamps ----------------------------------------------------------------------------------

IST = timezone(timedelta(hours=5, minutes=30))


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(T0, id="float"),
        pytest.param(int(T0), id="int"),
        pytest.param(datetime.fromtimestamp(T0, timezone.utc), id="aware-utc"),
        pytest.param(datetime.fromtimestamp(T0, IST), id="aware-ist"),
        pytest.param(datetime(2026, 9, 21, 14, 13, 20), id="naive-is-utc"),
        pytest.param("2026-09-21T14:13:20Z", id="iso-z"),
        pytest.param("2026-09-21T14:13:20z", id="iso-lower-z"),
        pytest.param("2026-09-21T14:13:20+00:00", id="iso-utc-offset"),
        pytest.param("2026-09-21T19:43:20+05:30", id="iso-positive-offset"),
        pytest.param("2026-09-21T09:13:20-05:00", id="iso-negative-offset"),
        pytest.param("2026-09-21T14:13:20", id="iso-no-offset-is-utc"),
        pytest.param("2026-09-21 14:13:20", id="iso-space"),
        pytest.param("  2026-09-21T14:13:20Z  ", id="iso-padded"),
    ],
)
def test_to_epoch_accepts(value: object) -> None:
    result = to_epoch(value)
    assert type(result) is float
    assert result == T0


def test_to_epoch_keeps_fractions_and_dates() -> None:
    assert to_epoch("2026-09-21T14:13:20.250Z") == T0 + 0.25
    assert to_epoch(T0 + 0.5) == T0 + 0.5
    assert to_epoch("2026-09-21") == 1_789_948_800.0


def test_to_epoch_accepts_the_window_bounds() -> None:
    assert to_epoch(EARLIEST) == EARLIEST
    assert to_epoch(LATEST) == LATEST
    assert to_epoch("2000-01-01T00:00:00Z") == EARLIEST


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(True, id="true"),
        pytest.param(False, id="false"),
        pytest.param(None, id="none"),
        pytest.param([T0], id="list"),
        pytest.param(b"2026-09-21", id="bytes"),
        pytest.param("yesterday", id="garbage"),
        pytest.param("", id="empty"),
        pytest.param("Z", id="only-z"),
        pytest.param("2026-13-01T00:00:00Z", id="month-13"),
        pytest.param("2026-09-21T25:00:00Z", id="hour-25"),
        pytest.param("1790000000", id="epoch-as-text"),
        pytest.param("2026-09-21T14:13:20Z" + " " * 50, id="over-64-chars"),
        pytest.param(math.nan, id="nan"),
        pytest.param(math.inf, id="inf"),
        pytest.param(-math.inf, id="-inf"),
        pytest.param(0, id="epoch-zero"),
        pytest.param(EARLIEST - 1, id="before-2000"),
        pytest.param(LATEST + 1, id="after-2100"),
        pytest.param(-T0, id="negative"),
        pytest.param("1999-12-31T23:59:59Z", id="iso-before-2000"),
        pytest.param(datetime(2101, 1, 1), id="datetime-after-2100"),
        pytest.param(10**400, id="huge-int"),
        pytest.param(-(10**400), id="huge-negative-int"),
    ],
)
def test_to_epoch_rejects(value: object) -> None:
    with pytest.raises(InvalidEvent) as info:
        to_epoch(value)
    assert info.value.field == "timestamp"
    assert info.value.kind == "bad_timestamp"


@pytest.mark.parametrize("value", [T0 * 1000, int(T0 * 1000), T0 * 1_000_000])
def test_milliseconds_get_a_hint(value: float) -> None:
    with pytest.raises(InvalidEvent) as info:
        to_epoch(value)
    assert info.value.kind == "bad_timestamp"
    assert "milliseconds" in str(info.value)


@pytest.mark.parametrize("value", [0, EARLIEST - 1, -T0])
def test_early_timestamps_get_no_milliseconds_hint(value: float) -> None:
    with pytest.raises(InvalidEvent) as info:
        to_epoch(value)
    assert "milliseconds" not in str(info.value)


def test_to_epoch_names_the_given_field() -> None:
    with pytest.raises(InvalidEvent) as info:
        to_epoch("soon", field="properties.sent_at")
    assert info.value.field == "properties.sent_at"


def test_validate_event_parses_timestamps() -> None:
    assert validate(timestamp="2026-09-21T14:13:20Z").timestamp == T0
    assert validate(timestamp=datetime(2026, 9, 21, 14, 13, 20)).timestamp == T0
    assert validate(timestamp=T0 - 3600).timestamp == T0 - 3600


@pytest.mark.parametrize(
    "value", ["garbage", True, math.nan, T0 * 1000, 10**400], ids=lambda v: repr(v)[:20]
)
def test_validate_event_rejects_bad_timestamps(value: object) -> None:
    rejected("timestamp", "bad_timestamp", timestamp=value)


@given(
    st.one_of(
        st.integers(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=80),
        st.datetimes(timezones=st.none() | st.timezones()),
        st.booleans(),
        st.none(),
    )
)
@settings(max_examples=300, deadline=None)
def test_to_epoch_returns_seconds_in_the_window_or_raises_invalid_event(value: object) -> None:
    try:
        seconds = to_epoch(value)
    except InvalidEvent as error:
        assert error.kind == "bad_timestamp"
        assert error.field == "timestamp"
    else:
        assert type(seconds) is float
        assert EARLIEST <= seconds <= LATEST


# -- message ids and defaults --------------------------------------------------------------------


def test_a_valid_event_gets_a_message_id_and_now() -> None:
    properties = {"product_id": "sku-1", "price": 120.0}
    event = validate(properties, visitor_id="v-9", name="Product Viewed")
    assert isinstance(event, Event)
    assert event.visitor_id == "v-9"
    assert event.name == "Product Viewed"
    assert event.properties == properties
    assert event.timestamp == T0
    assert HEX32.fullmatch(event.message_id)
    assert event.caller_message_id is False
    assert event.context is None


def test_supplied_message_id_is_kept() -> None:
    event = validate(message_id="order-42-completed")
    assert event.message_id == "order-42-completed"
    assert event.caller_message_id is True


def test_generated_message_ids_are_unique() -> None:
    ids = {validate().message_id for _ in range(1000)}
    assert len(ids) == 1000


@pytest.mark.parametrize(
    ("message_id", "kind"),
    [
        (123, "type"),
        (b"m", "type"),
        ("", "bad_id"),
        ("m" * 256, "bad_id"),
        ("m\ud800", "bad_unicode"),
    ],
)
def test_bad_message_ids_are_rejected(message_id: object, kind: str) -> None:
    rejected("message_id", kind, message_id=message_id)


def test_new_message_id_is_32_hex_chars_and_unique() -> None:
    ids = [new_message_id() for _ in range(10_000)]
    assert all(HEX32.fullmatch(mid) for mid in ids)
    assert len(set(ids)) == len(ids)


def test_new_message_id_is_unique_across_threads() -> None:
    results: list[list[str]] = [[] for _ in range(8)]

    def make(out: list[str]) -> None:
        out.extend(new_message_id() for _ in range(2000))

    threads = [threading.Thread(target=make, args=(out,)) for out in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [mid for out in results for mid in out]
    assert len(set(ids)) == len(ids) == 16_000


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_draws_a_new_prefix() -> None:
    before = new_message_id()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report two ids and leave without running pytest's teardown
        code = 1
        try:
            os.close(read_end)
            os.write(write_end, f"{new_message_id()} {new_message_id()}".encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        child_ids = pipe.read().decode().split()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    after = new_message_id()
    assert len(child_ids) == 2
    assert all(HEX32.fullmatch(mid) for mid in child_ids)
    parent_prefix = before[:16]
    assert after[:16] == parent_prefix  # the parent keeps its sequence
    assert child_ids[0][:16] != parent_prefix
    assert child_ids[0][:16] == child_ids[1][:16]
    assert not {before, after} & set(child_ids)


# -- traits --------------------------------------------------------------------------------------


def test_traits_none_is_empty() -> None:
    assert validate_traits(None) == {}


def test_valid_traits_are_returned() -> None:
    traits = {
        "first_name": "Asha",
        "last_name": None,
        "email": "asha@example.com",
        "phone": "+91 98765 43210",
        "push_enabled": False,
        "email_opt_in": True,
        "sms_opt_in": None,
        "whatsapp_opt_in": True,
        "home_store": "Pune",
        "location": {"latitude": -90, "longitude": 180.0},
        "tier": "gold",
        "lifetime": {"orders": 3},
    }
    assert validate_traits(traits) == traits


def test_unicode_traits_are_accepted() -> None:
    traits = {
        "first_name": "Zo\u00eb",
        "last_name": "\u5c71\u7530",
        "city": "\u0627\u0644\u0642\u0627\u0647\u0631\u0629",
    }
    assert validate_traits(traits) == traits


@pytest.mark.parametrize("traits", [["a"], "tier=gold", 1])
def test_traits_must_be_a_mapping(traits: object) -> None:
    with pytest.raises(InvalidEvent) as info:
        validate_traits(traits)
    assert (info.value.field, info.value.kind) == ("traits", "type")


@pytest.mark.parametrize(
    ("traits", "field", "kind"),
    [
        ({"push_enabled": "yes"}, "traits.push_enabled", "type"),
        ({"email_opt_in": 1}, "traits.email_opt_in", "type"),
        ({"sms_opt_in": "false"}, "traits.sms_opt_in", "type"),
        ({"whatsapp_opt_in": 0}, "traits.whatsapp_opt_in", "type"),
        ({"first_name": 5}, "traits.first_name", "type"),
        ({"email": ["a@b.c"]}, "traits.email", "type"),
        ({"phone": 919876543210}, "traits.phone", "type"),
        ({"home_store": Label("Pune")}, "traits.home_store", "type"),
        ({"location": "Pune"}, "traits.location", "type"),
        ({"location": {"latitude": 91}}, "traits.location.latitude", "out_of_range"),
        ({"location": {"latitude": -90.5}}, "traits.location.latitude", "out_of_range"),
        ({"location": {"longitude": 180.1}}, "traits.location.longitude", "out_of_range"),
        ({"location": {"longitude": "73.8"}}, "traits.location.longitude", "out_of_range"),
        ({"location": {"latitude": True}}, "traits.location.latitude", "out_of_range"),
        ({"location": {"latitude": math.nan}}, "traits.location.latitude", "not_finite"),
        ({"score": math.inf}, "traits.score", "not_finite"),
        ({"tier": {"gold"}}, "traits.tier", "type"),
        ({"": 1}, "traits.''", "bad_key"),
        ({"n": 2**64}, "traits.n", "out_of_range"),
        ({"bio": "x" * 8193}, "traits.bio", "too_long"),
        ({"nick": "\ud800"}, "traits.nick", "bad_unicode"),
        (nested_dicts(5), "traits" + ".a" * 5, "too_deep"),
        (filler(33_000), "traits", "too_large"),
    ],
    ids=lambda v: repr(v)[:30],
)
def test_traits_reject(traits: dict[str, Any], field: str, kind: str) -> None:
    with pytest.raises(InvalidEvent) as info:
        validate_traits(traits)
    assert info.value.field == field, str(info.value)
    assert info.value.kind == kind, str(info.value)


def test_traits_honour_custom_limits() -> None:
    limits = EventLimits(max_string_length=4, max_depth=2)
    assert validate_traits({"tier": "gold"}, limits) == {"tier": "gold"}
    with pytest.raises(InvalidEvent) as info:
        validate_traits({"tier": "golden"}, limits)
    assert info.value.kind == "too_long"
    with pytest.raises(InvalidEvent) as info:
        validate_traits({"a": {"b": {"c": 1}}}, limits)
    assert info.value.kind == "too_deep"


# -- properties: any input gives an Event or InvalidEvent ---------------------------------------

keys = st.one_of(
    st.text(max_size=12),
    st.text(min_size=250, max_size=260, alphabet="k"),
    st.sampled_from(sorted(WELL_KNOWN)),
    st.sampled_from(["\ud800", "k\udfff", "", "\U0001f6d2"]),
    st.integers(-3, 3),
    st.none(),
)
text_values = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["\ud800", "a\udfffb", "x" * 8193, "EUR", "", "\u200d"]),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),  # unbounded: some beyond 64 bits
    st.floats(allow_nan=True, allow_infinity=True),
    text_values,
    # Not JSON at all.
    st.binary(max_size=4),
    st.decimals(allow_nan=False, places=2, max_value=100, min_value=-100),
    st.datetimes(),
    st.just(Colour.RED),
    st.just(Label("x")),
    st.frozensets(st.integers(0, 3), max_size=2),
    st.builds(object),
)
json_like = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(keys, children, max_size=4),
        st.dictionaries(st.text(max_size=8), children, max_size=3).map(MappingProxyType),
    ),
    max_leaves=25,
)


@given(
    properties=st.dictionaries(keys, json_like, max_size=6),
    context=st.none() | st.dictionaries(keys, json_like, max_size=3),
)
@settings(max_examples=250, deadline=None)
def test_any_properties_give_an_event_or_invalid_event(
    properties: dict[Any, Any], context: dict[Any, Any] | None
) -> None:
    try:
        event = validate(properties, name="Product Viewed", context=context)
    except InvalidEvent as error:
        assert error.kind in KINDS
        assert error.field.startswith(("properties", "context"))
    else:
        assert isinstance(event, Event)
        assert event.properties is properties
        assert event.context is context


valid_keys = st.text(
    alphabet=st.characters(exclude_categories=("Cs",)), min_size=1, max_size=20
).filter(lambda key: key not in WELL_KNOWN)
valid_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),  # any Unicode but lone surrogates
)


def valid_values(depth: int) -> st.SearchStrategy[Any]:
    if depth == 0:
        return valid_scalars
    inner = valid_values(depth - 1)
    return st.one_of(
        valid_scalars,
        st.lists(inner, max_size=2),
        st.dictionaries(valid_keys, inner, max_size=2),
    )


@given(st.dictionaries(valid_keys, valid_values(DEFAULT_LIMITS.max_depth - 1), max_size=5))
@settings(max_examples=300, deadline=None)
def test_valid_json_properties_are_always_accepted(properties: dict[str, Any]) -> None:
    event = validate(properties)
    assert event.properties == properties
    assert event.timestamp == T0


# Every (rule, value) pair, against a plain reference of each rule: the walk checks the common
# pairs inline and the rest in `check_rule`, so both paths must agree with the reference.
RULE_REFERENCE: dict[str, Any] = {
    "category": lambda v: type(v) is str,
    "product_id": lambda v: type(v) is int or (type(v) is str and 0 < len(v) <= 255),
    "price": lambda v: type(v) in (int, float) and v >= 0,
    "quantity": lambda v: type(v) is int and v >= 0,
    "currency": lambda v: type(v) is str and len(v) == 3 and v.isascii() and v.isalpha(),
    "products": lambda v: type(v) in (list, tuple) and all(type(i) is dict for i in v),
}
RULE_VALUES = [
    "x",
    "",
    "x" * 256,
    "EUR",
    "eur",
    "EURO",
    "E1R",
    0,
    5,
    -1,
    1.5,
    -1.5,
    0.0,
    True,
    False,
    [],
    [{"a": 1}],
    [1],
    {},
    {"a": 1},
]


@pytest.mark.parametrize("field", sorted(RULE_REFERENCE))
@pytest.mark.parametrize("value", RULE_VALUES, ids=repr)
def test_every_rule_and_value_kind_agree_with_the_reference(field: str, value: object) -> None:
    expected = RULE_REFERENCE[field](value)
    for properties, path in (
        ({field: value}, f"properties.{field}"),
        ({"products": [{field: value}]}, f"properties.products.0.{field}"),
    ):
        if field == "products" and path.startswith("properties.products.0"):
            continue  # products inside products is not a spec shape
        try:
            validate(properties)
        except InvalidEvent as error:
            assert not expected, f"{value!r} rejected for {field}: {error}"
            assert error.field.startswith(path), error.field
        else:
            assert expected, f"{value!r} accepted for {field}"
