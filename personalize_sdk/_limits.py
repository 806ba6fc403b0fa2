"""`EventLimits`: the bounds every event is validated against."""

from __future__ import annotations

from typing import Any

import attrs


@attrs.frozen(kw_only=True)
class EventLimits:
    """Bounds on one event. Defaults follow Segment's HTTP API (32 KB per event)."""

    max_event_bytes: int = 32 * 1024
    max_id_length: int = 255
    max_name_length: int = 200
    max_key_length: int = 255
    max_string_length: int = 8 * 1024
    max_depth: int = 5
    # The walk's caches of keys already checked under these limits (see `_walk`).
    ruled_keys: dict[str, Any] = attrs.field(init=False, factory=dict, eq=False, repr=False)
    plain_keys: dict[str, Any] = attrs.field(init=False, factory=dict, eq=False, repr=False)


DEFAULT_LIMITS = EventLimits()
