"""The widget kinds a campaign can show, and the content fields each one takes (W1-W7).

One table, `KINDS`: a kind's default slot, whether it is an overlay (at most one per page), and
its content fields, each a parser from the TOML value to what the widget builder reads. Adding
a field is one line here; the config loader and the docs' reference read the same table.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs

from ._config_tables import is_number
from ._exceptions import ConfigError
from .copy import VariedCopy
from .coupons import CouponPolicy
from .schedule import Schedule

Parser = Callable[[Any, str], Any]


@attrs.frozen
class Field:
    parse: Parser
    default: Any = None
    required: bool = False


@attrs.frozen
class Kind:
    name: str
    default_slot: str
    fields: Mapping[str, Field]
    overlay: bool = False


# -- parsers: (raw TOML value, dotted field name) -> value ------------------------------------


def text(raw: Any, field: str) -> VariedCopy:
    return VariedCopy.from_value(raw, field=field)


def plain(limit: int) -> Parser:
    def parse(raw: Any, field: str) -> str:
        if not isinstance(raw, str) or len(raw) > limit:
            raise ConfigError(
                f"expected text of at most {limit} characters, got {raw!r}", field=field
            )
        return raw

    return parse


_SAFE_URL = re.compile(r"^(https?://[^\s]+|/[^\s]*|\./[^\s]*|\?[^\s]*|#[^\s]*)$", re.IGNORECASE)


def url(raw: Any, field: str) -> str:
    if not isinstance(raw, str) or len(raw) > 2048 or not _SAFE_URL.match(raw):
        raise ConfigError(
            f"expected an http(s) URL or a path starting with '/', got {raw!r}", field=field
        )
    return raw


def flag(raw: Any, field: str) -> bool:
    if not isinstance(raw, bool):
        raise ConfigError(f"expected true or false, got {raw!r}", field=field)
    return raw


def number(low: float, high: float, *, integer: bool = False) -> Parser:
    def parse(raw: Any, field: str) -> float:
        if not is_number(raw) or (integer and not isinstance(raw, int)):
            kind = "a whole number" if integer else "a number"
            raise ConfigError(f"expected {kind}, got {raw!r}", field=field)
        if not low <= raw <= high:
            raise ConfigError(f"expected {low:g} to {high:g}, got {raw!r}", field=field)
        return raw

    return parse


def choice(*options: str) -> Parser:
    def parse(raw: Any, field: str) -> str:
        if raw not in options:
            raise ConfigError(f"expected one of {list(options)}, got {raw!r}", field=field)
        return raw

    return parse


def subset(*options: str) -> Parser:
    def parse(raw: Any, field: str) -> tuple[str, ...]:
        if not isinstance(raw, list) or any(item not in options for item in raw):
            raise ConfigError(f"expected a list of {list(options)}, got {raw!r}", field=field)
        return tuple(dict.fromkeys(raw))

    return parse


def coupon(raw: Any, field: str) -> CouponPolicy:
    return CouponPolicy.from_dict(raw, field=field)


_CURRENCY = re.compile(r"^[A-Z]{3}$")


def thresholds(raw: Any, field: str) -> Mapping[str, Decimal]:
    """``{ USD = 50, EUR = "45.00" }``: an amount per currency (markets differ)."""
    if not isinstance(raw, Mapping) or not raw:
        raise ConfigError("expected a table of amounts by currency, e.g. { USD = 50 }", field=field)
    found = {}
    for currency, amount in raw.items():
        where = f"{field}.{currency}"
        if not isinstance(currency, str) or not _CURRENCY.match(currency.upper()):
            raise ConfigError("expected an ISO 4217 currency code", field=where)
        if currency.upper() in found:
            raise ConfigError("this currency is listed twice", field=where)
        if isinstance(amount, bool) or not isinstance(amount, (int, float, str)):
            raise ConfigError(f"expected an amount, got {amount!r}", field=where)
        try:
            value = Decimal(str(amount))
        except InvalidOperation:
            raise ConfigError(f"expected an amount, got {amount!r}", field=where) from None
        if not value.is_finite() or value <= 0:
            raise ConfigError(f"expected an amount above 0, got {amount!r}", field=where)
        found[currency.upper()] = value
    return found


@attrs.frozen
class SurveyOption:
    value: str
    label: str


@attrs.frozen
class Survey:
    question: str
    options: tuple[SurveyOption, ...]

    @property
    def values(self) -> frozenset[str]:
        return frozenset(option.value for option in self.options)


_VALUE = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}$")


def survey(raw: Any, field: str) -> Survey:
    """``{ question = "Why are you leaving?", options = ["Too expensive", ...] }``; an option may
    be ``{ value = "price", label = "Too expensive" }`` (the value is what is recorded)."""
    if not isinstance(raw, Mapping) or set(raw) - {"question", "options"}:
        raise ConfigError("expected { question = ..., options = [...] }", field=field)
    question = plain(200)(raw.get("question"), f"{field}.question")
    options = raw.get("options")
    if not isinstance(options, list) or not 2 <= len(options) <= 8:
        raise ConfigError("expected 2 to 8 options", field=f"{field}.options")
    parsed = []
    for index, option in enumerate(options):
        where = f"{field}.options[{index}]"
        if isinstance(option, str):
            label = plain(100)(option, where)
            value = (
                re.sub(r"[^a-z0-9_\-]+", "_", label.lower()).strip("_")[:64] or f"option_{index}"
            )
        elif isinstance(option, Mapping) and set(option) == {"value", "label"}:
            label = plain(100)(option["label"], f"{where}.label")
            value = option["value"]
            if not isinstance(value, str) or not _VALUE.match(value):
                raise ConfigError("value: 1-64 of a-z, 0-9, '_' or '-'", field=f"{where}.value")
        else:
            raise ConfigError("expected text or { value = ..., label = ... }", field=where)
        parsed.append(SurveyOption(value, label))
    if len({option.value for option in parsed}) != len(parsed):
        raise ConfigError("two options have the same value", field=f"{field}.options")
    return Survey(question, tuple(parsed))


@attrs.frozen
class Article:
    title: str
    url: str
    image: str | None = None
    summary: str = ""
    categories: frozenset[str] = frozenset()
    """Lower-cased categories it matches; empty: the fallback article."""


def articles(raw: Any, field: str) -> tuple[Article, ...]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= 200:
        raise ConfigError("expected 1 to 200 articles ([[...articles]] tables)", field=field)
    found = []
    for index, entry in enumerate(raw):
        where = f"{field}[{index}]"
        allowed = {"title", "url", "image", "summary", "categories"}
        if not isinstance(entry, Mapping) or set(entry) - allowed:
            raise ConfigError(f"expected a table with fields {sorted(allowed)}", field=where)
        categories = entry.get("categories", [])
        if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
            raise ConfigError("expected a list of categories", field=f"{where}.categories")
        found.append(
            Article(
                title=plain(200)(entry.get("title"), f"{where}.title"),
                url=url(entry.get("url"), f"{where}.url"),
                image=None if entry.get("image") is None else url(entry["image"], f"{where}.image"),
                summary=plain(500)(entry.get("summary", ""), f"{where}.summary"),
                categories=frozenset(c.strip().lower() for c in categories),
            )
        )
    return tuple(found)


def instant(raw: Any, field: str, timezone: str = "UTC") -> float:
    """A moment: ISO-8601 text or a TOML datetime (local to `timezone` without an offset), or
    epoch seconds."""
    if raw is None:  # a schedule's start may be left out; a moment may not
        raise ConfigError("expected a date and time or epoch seconds, got nothing", field=field)
    try:
        schedule = Schedule.from_dict({"start": raw, "timezone": timezone}, field=field)
    except ConfigError as error:
        raise ConfigError(error.message, field=field) from None
    assert schedule.start is not None
    return schedule.start


# -- the kinds --------------------------------------------------------------------------------

_COMMON_LINK = {"link_url": Field(url), "link_text": Field(text)}
_TRIGGERS = ("scroll", "back", "idle")
STRATEGIES = ("category_bestsellers", "brand_trending", "cart_addins")

KINDS: Mapping[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            "hello_bar",
            "top",
            {"text": Field(text, required=True), **_COMMON_LINK, "dismissible": Field(flag, True)},
        ),
        Kind(
            "side_coupon",
            "side",
            {
                "tab": Field(text, "Your coupon"),
                "text": Field(text, required=True),
                "coupon": Field(coupon, required=True),
                "position": Field(choice("right", "left"), "right"),
            },
        ),
        Kind(
            "exit_intent",
            "overlay",
            {
                "title": Field(text, required=True),
                "text": Field(text, ""),
                "coupon": Field(coupon),
                **_COMMON_LINK,
                "survey": Field(survey),
                "sensitivity": Field(number(0, 200, integer=True), 20),
                "delay_seconds": Field(number(0, 60), 0),
                "min_dwell_seconds": Field(number(0, 600), 5),
                "mobile_triggers": Field(subset(*_TRIGGERS), _TRIGGERS),
                "idle_seconds": Field(number(5, 3600), 30),
            },
            overlay=True,
        ),
        Kind(
            "progress_bar",
            "cart",
            {
                "thresholds": Field(thresholds, required=True),
                "text": Field(text, "Spend {{ remaining }} more for free shipping"),
                "unlocked_text": Field(text, "You've unlocked free shipping!"),
                "show_when_empty": Field(flag, False),
            },
        ),
        Kind(
            "recently_viewed",
            "recently_viewed",
            {
                "title": Field(text, "Recently viewed"),
                "limit": Field(number(1, 50, integer=True), 8),
                "min_items": Field(number(1, 50, integer=True), 1),
            },
        ),
        Kind(
            "floating_icon",
            "floating",
            {
                "label": Field(text, required=True),
                "link_url": Field(url, required=True),
                "icon": Field(plain(8), "\N{WRAPPED PRESENT}"),
                "position": Field(choice("right", "left"), "right"),
            },
        ),
        Kind(
            "scratch_coupon",
            "scratch_coupon",
            {
                "title": Field(text, "A surprise for you"),
                "text": Field(text, ""),
                "cover_text": Field(text, "Scratch to reveal your code"),
                "coupon": Field(coupon, required=True),
            },
        ),
        Kind(
            "countdown",
            "top",
            {
                "title": Field(text, required=True),
                "text": Field(text, ""),
                "deadline": Field(instant),
                "duration_minutes": Field(number(1, 60 * 24 * 30)),
                "expired_text": Field(text, "This offer has ended."),
                **_COMMON_LINK,
            },
        ),
        Kind(
            "recommendations",
            "recommendations",
            {
                "strategy": Field(choice(*STRATEGIES), required=True),
                "title": Field(text),
                "limit": Field(number(1, 50, integer=True), 8),
                # Popularity is kept 30 days (`PopularityCounters.retention_days`).
                "days": Field(number(1, 30, integer=True), 7),
                "min_items": Field(number(1, 50, integer=True), 1),
            },
        ),
        Kind(
            "editorial",
            "editorial",
            {"articles": Field(articles, required=True), "title": Field(text, "")},
        ),
    )
}

RECOMMENDATION_TITLES: Mapping[str, str] = {
    "category_bestsellers": "Bestsellers in {{ category | title }}",
    "brand_trending": "Trending from {{ brand | title }}",
    "cart_addins": "Goes well with your cart",
}


def parse_content(
    kind: Kind, raw: Mapping[str, Any], field: str, *, partial: bool, timezone: str = "UTC"
) -> dict[str, Any]:
    """Parse a kind's content fields from `raw` (a campaign, or a variant when `partial`:
    a variant only overrides fields). Moments without an offset are local to `timezone`."""
    found: dict[str, Any] = {}
    for name, spec in kind.fields.items():
        if name in raw:
            if spec.parse is instant:
                found[name] = instant(raw[name], f"{field}.{name}", timezone)
            else:
                found[name] = spec.parse(raw[name], f"{field}.{name}")
        elif not partial:
            if spec.required:
                raise ConfigError(f"{kind.name} needs {name!r}", field=f"{field}.{name}")
            if spec.default is not None:
                default = spec.default
                found[name] = spec.parse(
                    list(default) if isinstance(default, tuple) else default, f"{field}.{name}"
                )
    return found


def check_content(kind: Kind, content: Mapping[str, Any], field: str) -> None:
    """Rules across fields, checked on each variant's complete content."""
    if content.get("min_items", 0) > content.get("limit", math.inf):
        raise ConfigError(
            f"min_items ({content['min_items']}) is above limit ({content['limit']}): "
            "the widget could never show",
            field=f"{field}.min_items",
        )
    if "deadline" in content and "duration_minutes" in content:
        raise ConfigError(
            "give a deadline or a duration_minutes, not both", field=f"{field}.duration_minutes"
        )
