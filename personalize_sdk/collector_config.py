"""The `[collector]` table: who may send events into `personalize collect`, and its limits.

```toml
[collector]
write_keys = ["ios-app-key", "backend-key"]   # only these; anything else is a 401
dedup_window_hours = 24                       # a messageId seen within it is not folded twice
max_concurrent_requests = 64                  # past it: 503 with Retry-After
```
"""

from __future__ import annotations

from typing import Any

import attrs

from ._config_tables import is_number, known_table
from ._exceptions import ConfigError


@attrs.frozen(kw_only=True)
class CollectorSettings:
    write_keys: frozenset[str] = frozenset()
    dedup_window_hours: float = 24.0
    max_concurrent_requests: int = 64

    @property
    def dedup_window(self) -> float:
        return self.dedup_window_hours * 3600.0

    @classmethod
    def from_dict(cls, raw: Any, source: str) -> CollectorSettings:
        known = {field.name for field in attrs.fields(cls)}
        raw = known_table(raw, known, "collector", source=source, noun="setting")
        keys = raw.get("write_keys", [])
        if not isinstance(keys, list) or not all(
            isinstance(key, str) and 0 < len(key) <= 256 for key in keys
        ):
            raise ConfigError(
                "expected a list of write keys (text, 1-256 characters)",
                source=source,
                field="collector.write_keys",
            )
        window = raw.get("dedup_window_hours", 24.0)
        if not is_number(window) or not 0 < window <= 24 * 30:
            raise ConfigError(
                f"expected hours, 0 < h <= 720, got {window!r}",
                source=source,
                field="collector.dedup_window_hours",
            )
        limit = raw.get("max_concurrent_requests", 64)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ConfigError(
                f"expected an integer >= 1, got {limit!r}",
                source=source,
                field="collector.max_concurrent_requests",
            )
        return cls(
            write_keys=frozenset(keys),
            dedup_window_hours=float(window),
            max_concurrent_requests=limit,
        )
