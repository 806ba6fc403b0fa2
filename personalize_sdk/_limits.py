"""`EventLimits`: the bounds every event is validated against."""

from __future__ import annotations

from typing import Any

import attrs

from ._exceptions import ConfigError
from ._shapes import ShapeCache


def _positive_int(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) is not int or value < 1:
        raise ConfigError(f"expected a positive int, got {value!r}", field=attribute.name)


@attrs.frozen(kw_only=True)
class EventLimits:
    """Bounds on one event. Defaults follow Segment's HTTP API (32 KB per event)."""

    max_event_bytes: int = attrs.field(default=32 * 1024, validator=_positive_int)
    max_id_length: int = attrs.field(default=255, validator=_positive_int)
    max_name_length: int = attrs.field(default=200, validator=_positive_int)
    max_key_length: int = attrs.field(default=255, validator=_positive_int)
    max_string_length: int = attrs.field(default=8 * 1024, validator=_positive_int)
    max_depth: int = attrs.field(default=5, validator=_positive_int)
    # The walk's caches of keys already checked under these limits (see `_walk`).
    ruled_keys: dict[str, Any] = attrs.field(init=False, factory=dict, eq=False, repr=False)
    plain_keys: dict[str, Any] = attrs.field(init=False, factory=dict, eq=False, repr=False)
    shapes: ShapeCache = attrs.field(init=False, factory=ShapeCache, eq=False, repr=False)
    event_names: dict[str, int] = attrs.field(init=False, factory=dict, eq=False, repr=False)
    """Event names already checked under these limits, with their JSON size bound."""


DEFAULT_LIMITS = EventLimits()
