"""`Audience`: who and where a campaign is for (C1) - segments, pages, device, new vs returning,
geography and, for anything else, a targeting condition over the profile and page.

Checks run cheapest first, and a campaign without a rule of some kind pays nothing for it.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from ._config_tables import known_table
from ._exceptions import ConfigError
from .conditions import compile_condition
from .geo import GeoFence, location_of
from .page import Page
from .profile import Profile

VISITOR_CHOICES = ("any", "new", "returning")
DEVICE_CHOICES = ("desktop", "mobile", "tablet")

View = Callable[[], Mapping[str, Any]]
"""Builds, on demand, the profile view (with the page under "page") a condition reads."""


@attrs.frozen(kw_only=True)
class Audience:
    segments_any: frozenset[str] = frozenset()
    segments_all: frozenset[str] = frozenset()
    segments_none: frozenset[str] = frozenset()
    page_types: frozenset[str] = frozenset()
    """Empty: every page type."""
    paths: tuple[str, ...] = ()
    """Glob patterns over the URL path (``/sale/*``); empty: every path."""
    devices: frozenset[str] = frozenset()
    visitor: str = "any"
    geo: GeoFence | None = None
    condition: Mapping[str, Any] | None = None
    _path_match: Callable[[str], Any] | None = attrs.field(default=None, repr=False, eq=False)
    _condition_match: Callable[[Mapping[str, Any]], bool] | None = attrs.field(
        default=None, repr=False, eq=False
    )

    def unmet(
        self, profile: Profile, segments: frozenset[str], page: Page, view: View
    ) -> str | None:
        """The first of its rules this shopper, on this page, does not meet (the field's
        name: ``"page_types"``, ``"segments_any"`` ...), or None when they belong. The page type
        is indexed by the caller, but checked here too so an audience stands on its own."""
        if self.page_types and page.type not in self.page_types:
            return "page_types"
        if self._path_match is not None and self._path_match(page.path) is None:
            return "paths"
        if self.devices and page.device not in self.devices:
            return "devices"
        if self.visitor != "any" and (profile.sessions >= 2) != (self.visitor == "returning"):
            return "visitor"
        if self.segments_any and self.segments_any.isdisjoint(segments):
            return "segments_any"
        if self.segments_all and not self.segments_all <= segments:
            return "segments_all"
        if self.segments_none and not self.segments_none.isdisjoint(segments):
            return "segments_none"
        if self.geo is not None:
            where = location_of(profile.traits)
            if where is None or not self.geo.contains(*where):
                return "geo"
        if self._condition_match is None or self._condition_match(view()):
            return None
        return "condition"

    @classmethod
    def from_dict(cls, raw: Any, *, field: str = "audience") -> Audience:
        raw = known_table(raw, _FIELDS, field, noun="field")
        values: dict[str, Any] = {}
        for name in ("segments_any", "segments_all", "segments_none", "page_types"):
            if name in raw:
                values[name] = frozenset(_texts(raw[name], f"{field}.{name}"))
        if "devices" in raw:
            devices = frozenset(_texts(raw["devices"], f"{field}.devices"))
            wrong = sorted(devices - set(DEVICE_CHOICES))
            if wrong:
                raise ConfigError(
                    f"unknown device {wrong[0]!r} (known: {list(DEVICE_CHOICES)})",
                    field=f"{field}.devices",
                )
            values["devices"] = devices
        if "paths" in raw:
            paths = tuple(_texts(raw["paths"], f"{field}.paths"))
            for index, pattern in enumerate(paths):
                if not pattern.startswith(("/", "*")):
                    raise ConfigError(
                        f"a path pattern starts with '/' or '*', got {pattern!r}",
                        field=f"{field}.paths[{index}]",
                    )
            values["paths"] = paths
            if paths:
                joined = "|".join(fnmatch.translate(pattern) for pattern in paths)
                values["path_match"] = re.compile(joined).match
        visitor = raw.get("visitor", "any")
        if visitor not in VISITOR_CHOICES:
            raise ConfigError(
                f"expected one of {list(VISITOR_CHOICES)}, got {visitor!r}",
                field=f"{field}.visitor",
            )
        values["visitor"] = visitor
        if "geo" in raw:
            values["geo"] = GeoFence.from_dict(raw["geo"], field=f"{field}.geo")
        if "condition" in raw:
            condition = raw["condition"]
            if not isinstance(condition, Mapping):
                raise ConfigError("expected a table", field=f"{field}.condition")
            try:
                values["condition_match"] = compile_condition(condition)
            except ConfigError as error:
                where = f"{field}.condition" + (f".{error.field}" if error.field else "")
                raise ConfigError(error.message, field=where) from None
            values["condition"] = dict(condition)
        return cls(**values)


_FIELDS = frozenset(
    {
        "segments_any",
        "segments_all",
        "segments_none",
        "page_types",
        "paths",
        "devices",
        "visitor",
        "geo",
        "condition",
    }
)


def _texts(value: Any, field: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"expected a list of non-empty texts, got {value!r}", field=field)
    if len(value) > 1000:
        raise ConfigError("at most 1000 entries", field=field)
    return value
