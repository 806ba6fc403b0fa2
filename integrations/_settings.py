"""`IntegrationSettings`: what every framework adapter shares, with documented defaults.

Django reads them from ``settings.PERSONALIZE``, Flask from ``app.config["PERSONALIZE"]``,
Starlette from keyword arguments; all end up here, checked once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from personalize_sdk._exceptions import ConfigError

DEFAULT_PAGE_TYPES: tuple[tuple[str, str], ...] = (
    ("/", "home"),
    ("/p/*", "product"),
    ("/product/*", "product"),
    ("/products/*", "product"),
    ("/c/*", "category"),
    ("/category/*", "category"),
    ("/categories/*", "category"),
    ("/collections/*", "category"),
    ("/search*", "search"),
    ("/cart*", "cart"),
    ("/basket*", "cart"),
    ("/checkout*", "checkout"),
)
"""(URL path pattern, page type), first match wins; anything else is "other"."""

_PREFIX = re.compile(r"^/[A-Za-z0-9_\-./]{0,100}[A-Za-z0-9_\-]$")
_COOKIE = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


def _check_prefix(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str) or not _PREFIX.match(value):
        raise ConfigError(f"expected a path like /_personalize, got {value!r}", field="prefix")


def _check_cookie(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str) or not _COOKIE.match(value):
        raise ConfigError(f"expected a cookie name, got {value!r}", field="cookie_name")


def _positive(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"expected a whole number >= 1, got {value!r}", field=attribute.name)


@attrs.frozen(kw_only=True)
class IntegrationSettings:
    prefix: str = attrs.field(default="/_personalize", validator=_check_prefix)
    """Where the beacon (``{prefix}/beacon``) and the assets (``{prefix}/static/...``) live."""
    cookie_name: str = attrs.field(default="pz_vid", validator=_check_cookie)
    cookie_max_age: int = attrs.field(default=365 * 86_400, validator=_positive)
    """Seconds the visitor cookie lasts (renewed on each visit); browsers cap it at 400 days."""
    cookie_secure: bool | None = None
    """None: Secure when the request came over https (set True behind a TLS-terminating proxy
    that does not say so)."""
    track_page_views: bool = True
    """Track `Page Viewed` for every HTML page (GET, 200, text/html) the app serves."""
    page_types: tuple[tuple[str, str], ...] = DEFAULT_PAGE_TYPES
    page_type: Callable[[str], str | None] | None = None
    """The shop's own hook: path -> page type (None falls back to `page_types`)."""
    beacon_max_bytes: int = attrs.field(default=8 * 1024, validator=_positive)
    beacons_per_minute: int = attrs.field(default=60, validator=_positive)
    """Per visitor; past it the beacon answers 429."""

    @property
    def beacon_path(self) -> str:
        return f"{self.prefix}/beacon"

    @property
    def static_prefix(self) -> str:
        return f"{self.prefix}/static/"

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any] | None) -> IntegrationSettings:
        """From a framework's settings mapping (unknown keys are a `ConfigError`)."""
        raw = dict(raw or {})
        known = {field.name for field in attrs.fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ConfigError(f"unknown setting (known: {sorted(known)})", field=unknown[0])
        if "page_types" in raw:
            raw["page_types"] = tuple(tuple(pair) for pair in raw["page_types"])
        return cls(**raw)


PERSONALIZER_KEYS = frozenset(
    {"config", "secret", "catalog", "strict", "store", "clock"}
    | {"watch", "config_url", "config_redis", "config_channel", "config_sources"}
)
"""Keys of a framework's settings mapping that build the `Personalizer` itself (the second
line: where config changes come from, see docs/configuration.md)."""


def build(raw: Mapping[str, Any] | None) -> tuple[Any, IntegrationSettings]:
    """(Personalizer, IntegrationSettings) from a framework's settings mapping:
    ``{"config": "personalize.toml", "secret": ..., "catalog": ..., "prefix": ..., ...}``.
    An existing Personalizer can be passed as ``"personalizer"``."""
    from personalize_sdk import Personalizer

    raw = dict(raw or {})
    given = raw.pop("personalizer", None)
    kwargs = {key: raw.pop(key) for key in list(raw) if key in PERSONALIZER_KEYS}
    settings = IntegrationSettings.from_mapping(raw)
    if given is not None:
        if kwargs:
            raise ConfigError(
                f"give a personalizer or {sorted(kwargs)}, not both", field="personalizer"
            )
        return given, settings
    config = kwargs.pop("config", None)
    return Personalizer(config, **kwargs), settings
