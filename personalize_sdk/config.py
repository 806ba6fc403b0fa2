"""Configuration: one `Config` value, loaded from TOML or built in code, validated once.

```toml
[settings]
recently_viewed_limit = 20
affinity_half_life_days = 7

[[segments]]
name = "gold_india"
description = "Gold tier shoppers in India and Sri Lanka"
condition = { "traits.tier" = "gold", "traits.country" = { "$in" = ["IN", "LK"] } }
```

Every problem is a `ConfigError` naming the file, the section and the field.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs

from ._config_tables import is_number, known_table
from ._exceptions import ConfigError
from .campaign import Campaign
from .collector_config import CollectorSettings
from .conditions import compile_condition
from .delivery_config import DeliverySettings, ForwarderSpec
from .segments import AFFINE_PREFIXES, BUILTIN_RULES, segment_name_problem

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_NAME = re.compile(r"^[a-z0-9][a-z0-9_:\-]{0,99}$")


def _number(
    minimum: float, *, integer: bool = False
) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    def check(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        wanted = int if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, wanted):
            kind = "an integer" if integer else "a number"
            raise ConfigError(f"expected {kind}, got {value!r}", field=attribute.name)
        if not is_number(value) or value < minimum:
            raise ConfigError(
                f"must be a finite number >= {minimum:g}, got {value!r}", field=attribute.name
            )

    return check


@attrs.frozen(kw_only=True)
class Settings:
    """Tunable thresholds of profiles and built-in segments, with their documented defaults."""

    recently_viewed_limit: int = attrs.field(default=20, validator=_number(1, integer=True))
    affinity_half_life_days: float = attrs.field(default=7.0, validator=_number(0.01))
    affinity_threshold: float = attrs.field(default=3.0, validator=_number(0))
    """Decayed score from which a shopper is `brand_affine:<b>` / `category_affine:<c>`."""
    session_timeout_minutes: float = attrs.field(default=30.0, validator=_number(1))
    product_dwell_cap_seconds: float = attrs.field(default=600.0, validator=_number(1))
    """Longest time one product page counts for (a tab left open is not interest)."""
    order_history_limit: int = attrs.field(default=50, validator=_number(1, integer=True))
    cart_limit: int = attrs.field(default=100, validator=_number(1, integer=True))
    buyer_intent_threshold: float = attrs.field(default=0.5, validator=_number(0))
    high_value_total: float = attrs.field(default=500.0, validator=_number(0))
    """Lifetime spend from which a buyer is `high_value`."""
    at_risk_days: float = attrs.field(default=90.0, validator=_number(1))
    dormant_days: float = attrs.field(default=180.0, validator=_number(1))
    cart_abandon_minutes: float = attrs.field(default=30.0, validator=_number(1))
    browse_abandon_minutes: float = attrs.field(default=30.0, validator=_number(1))
    abandon_window_days: float = attrs.field(default=7.0, validator=_number(1))
    """An abandoned cart or browse counts as such for this long, then it is history."""
    attribution_days: float = attrs.field(default=7.0, validator=_number(0))
    """An order within this many days after a campaign was shown converts it."""
    segment_cache_ttl_seconds: float = attrs.field(default=60.0, validator=_number(0))
    max_profiles: int = attrs.field(default=100_000, validator=_number(1, integer=True))
    """Profiles kept by the embedded `MemoryStore` before the least recently used are evicted."""

    # Derived in seconds once, because the reducer reads them on every event.
    half_life: float = attrs.field(init=False, repr=False, eq=False)
    session_timeout: float = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        if self.buyer_intent_threshold > 1:
            raise ConfigError(
                f"an intent score is in [0, 1], got {self.buyer_intent_threshold!r}",
                field="buyer_intent_threshold",
            )
        if self.at_risk_days >= self.dormant_days:
            raise ConfigError(
                f"must be below dormant_days ({self.dormant_days:g}), got {self.at_risk_days:g}",
                field="at_risk_days",
            )
        object.__setattr__(self, "half_life", self.affinity_half_life_days * 86_400.0)
        object.__setattr__(self, "session_timeout", self.session_timeout_minutes * 60.0)


@attrs.frozen
class SegmentDefinition:
    """A custom segment: a name and a targeting condition over the profile view."""

    name: str
    condition: Mapping[str, Any]
    matches: Callable[[Mapping[str, Any]], bool] = attrs.field(repr=False, eq=False)
    description: str = ""


_BEACON = re.compile(r"^/[A-Za-z0-9_\-./]{0,200}$")


@attrs.frozen(kw_only=True)
class WidgetSettings:
    """The `[widgets]` table: what every widget shares."""

    beacon_url: str = "/_personalize/beacon"
    """Where the browser script posts widget interactions (the integrations mount it here)."""
    currency: str = "USD"
    """The currency of a cart that names none (progress bars pick their threshold by it)."""

    @classmethod
    def from_dict(cls, raw: Any, source: str) -> WidgetSettings:
        known = {field.name for field in attrs.fields(cls)}
        raw = known_table(raw, known, "widgets", source=source, noun="setting")
        beacon_url = raw.get("beacon_url", "/_personalize/beacon")
        if not isinstance(beacon_url, str) or not _BEACON.match(beacon_url):
            raise ConfigError(
                f"expected a path like /_personalize/beacon, got {beacon_url!r}",
                source=source,
                field="widgets.beacon_url",
            )
        currency = raw.get("currency", "USD")
        if not isinstance(currency, str) or not re.match(r"^[A-Za-z]{3}$", currency):
            raise ConfigError(
                f"expected an ISO 4217 code, got {currency!r}",
                source=source,
                field="widgets.currency",
            )
        return cls(beacon_url=beacon_url, currency=currency.upper())


@attrs.frozen(kw_only=True)
class Config:
    settings: Settings = Settings()
    segments: tuple[SegmentDefinition, ...] = ()
    campaigns: tuple[Campaign, ...] = ()
    widgets: WidgetSettings = WidgetSettings()
    store: str | None = None
    """The store URL (`store = "redis://..."` at the top of the file; None: in memory)."""
    forwarders: tuple[ForwarderSpec, ...] = ()
    delivery: DeliverySettings = attrs.field(factory=DeliverySettings)
    collector: CollectorSettings = attrs.field(factory=CollectorSettings)
    source: str = "<defaults>"

    @classmethod
    def from_file(cls, path: str | Path) -> Config:
        """Read a config file: JSON when its name ends in `.json`, else TOML."""
        path = Path(path)
        try:
            text = path.read_bytes()
        except OSError as error:
            raise ConfigError(f"cannot read: {error.strerror or error}", source=str(path)) from None
        return cls.from_text(text, format=file_format(path), source=str(path))

    @classmethod
    def from_text(
        cls,
        text: str | bytes,
        *,
        format: str = "toml",
        source: str = "<text>",
        allow_empty: bool = True,
    ) -> Config:
        """Parse config text, TOML or JSON (`format`), as a URL or Redis hands it over.

        With ``allow_empty=False`` (the runtime sources), a text that sets nothing at all (empty,
        blank, only comments, ``{}``) is a `ConfigError`: arriving in place of a running config
        it is a truncated file, an interrupted upload or an empty answer, not a wish to remove
        every campaign (say that with ``campaigns = []``)."""
        if format not in ("toml", "json"):
            raise ConfigError(f"unknown format {format!r} (known: toml, json)", source=source)
        try:
            if isinstance(text, bytes):
                text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            message = f"not valid {format.upper()} (not UTF-8): {error}"
            raise ConfigError(message, source=source) from None
        try:
            data = tomllib.loads(text) if format == "toml" else json.loads(text)
        except (ValueError, RecursionError) as error:  # TOMLDecodeError, JSONDecodeError
            raise ConfigError(f"not valid {format.upper()}: {error}", source=source) from None
        if not allow_empty and isinstance(data, Mapping) and not data:
            raise ConfigError(
                "empty: it sets nothing (to run without campaigns, say `campaigns = []`)",
                source=source,
            )
        return cls.from_dict(data, source=source)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "<dict>") -> Config:
        if not isinstance(data, Mapping):
            raise ConfigError(f"expected a mapping, got {type(data).__name__}", source=source)
        unknown = sorted(str(key) for key in data if key not in _SECTIONS)
        if unknown:
            raise ConfigError(
                f"unknown section {unknown[0]!r} (known: {sorted(_SECTIONS)})",
                source=source,
                field=unknown[0],
            )
        settings = _load_settings(data.get("settings", {}), source)
        segments = _load_segments(data.get("segments", []), source)
        store = data.get("store")
        if store is not None and (not isinstance(store, str) or "://" not in store):
            raise ConfigError(
                f"expected a store URL (memory://, sqlite:///path, redis://...), got {store!r}",
                source=source,
                field="store",
            )
        campaigns = _load_campaigns(data.get("campaigns", []), source)
        _check_audience_segments(campaigns, {segment.name for segment in segments}, source)
        return cls(
            settings=settings,
            segments=segments,
            campaigns=campaigns,
            widgets=WidgetSettings.from_dict(data.get("widgets", {}), source),
            store=store,
            forwarders=_load_forwarders(data.get("forwarders", []), source),
            delivery=DeliverySettings.from_dict(data.get("delivery", {}), source),
            collector=CollectorSettings.from_dict(data.get("collector", {}), source),
            source=source,
        )


_SEGMENT_FIELDS = frozenset({"name", "condition", "description"})
_SECTIONS = frozenset(
    {"settings", "segments", "campaigns", "widgets", "store", "forwarders", "delivery", "collector"}
)
_SETTING_NAMES = frozenset(field.name for field in attrs.fields(Settings) if field.init)


def file_format(path: Path) -> str:
    """The format of a config file, by its name (a file watched is read by the same rule)."""
    return "json" if path.suffix.lower() == ".json" else "toml"


def load_config(config: Config | Mapping[str, Any] | str | Path | None) -> Config:
    """Accept what `Personalizer(config=...)` takes: a Config, a mapping, a TOML path or None."""
    if config is None:
        return Config()
    if isinstance(config, Config):
        return config
    if isinstance(config, (str, Path)):
        return Config.from_file(config)
    if isinstance(config, Mapping):
        return Config.from_dict(config)
    raise ConfigError(f"expected a Config, mapping or path, got {type(config).__name__}")


def _load_settings(raw: Any, source: str) -> Settings:
    raw = known_table(raw, _SETTING_NAMES, "settings", source=source, noun="setting")
    try:
        return Settings(**raw)
    except ConfigError as error:
        raise ConfigError(error.message, source=source, field=f"settings.{error.field}") from None


def _load_segments(raw: Any, source: str) -> tuple[SegmentDefinition, ...]:
    if not isinstance(raw, list):
        raise ConfigError(
            "expected an array of tables ([[segments]])", source=source, field="segments"
        )
    seen: set[str] = set()
    segments = []
    for index, entry in enumerate(raw):
        where = f"segments[{index}]"
        if not isinstance(entry, Mapping):
            raise ConfigError("expected a table", source=source, field=where)
        name = entry.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise ConfigError(
                f"name must be 1-100 lower-case letters, digits, '_', ':' or '-', got {name!r}",
                source=source,
                field=f"{where}.name",
            )
        where = f"segment {name!r}"
        if name in BUILTIN_RULES or name.startswith(AFFINE_PREFIXES):
            raise ConfigError(
                "name is taken by a built-in segment", source=source, field=f"{where}.name"
            )
        if name in seen:
            raise ConfigError("defined twice", source=source, field=f"{where}.name")
        seen.add(name)
        known_table(entry, _SEGMENT_FIELDS, where, source=source, noun="field")
        condition = entry.get("condition")
        if not isinstance(condition, Mapping):
            raise ConfigError(
                "condition must be a table", source=source, field=f"{where}.condition"
            )
        try:
            matches = compile_condition(condition)
        except ConfigError as error:
            field = f"{where}.condition" + (f".{error.field}" if error.field else "")
            raise ConfigError(error.message, source=source, field=field) from None
        description = entry.get("description", "")
        if not isinstance(description, str):
            raise ConfigError("expected text", source=source, field=f"{where}.description")
        segments.append(SegmentDefinition(name, dict(condition), matches, description))
    return tuple(segments)


def _load_campaigns(raw: Any, source: str) -> tuple[Campaign, ...]:
    if not isinstance(raw, list):
        raise ConfigError(
            "expected an array of tables ([[campaigns]])", source=source, field="campaigns"
        )
    campaigns: list[Campaign] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw):
        try:
            campaign = Campaign.from_dict(entry, field=f"campaigns[{index}]")
        except ConfigError as error:
            raise ConfigError(error.message, source=source, field=error.field) from None
        if campaign.id in seen:
            raise ConfigError("defined twice", source=source, field=f"campaign {campaign.id!r}.id")
        seen.add(campaign.id)
        campaigns.append(campaign)
    return tuple(campaigns)


def _check_audience_segments(
    campaigns: tuple[Campaign, ...], custom: set[str], source: str
) -> None:
    """A misspelt segment in an audience would show a campaign to nobody (`segments_any`) or to
    everybody (`segments_none`) without a word: name it."""
    for campaign in campaigns:
        audience = campaign.audience
        for field in ("segments_any", "segments_all", "segments_none"):
            for name in sorted(getattr(audience, field)):
                problem = segment_name_problem(name, custom)
                if problem is not None:
                    raise ConfigError(
                        f"{problem}, got {name!r}",
                        source=source,
                        field=f"campaign {campaign.id!r}.audience.{field}",
                    )


def _load_forwarders(raw: Any, source: str) -> tuple[ForwarderSpec, ...]:
    if raw == []:
        return ()
    from .forwarders.specs import load_forwarders  # the types import httpx: only when needed

    return load_forwarders(raw, source)
