"""The `[collector]` table: who may send events into `personalize collect`, and its limits.

```toml
[collector]
write_keys = ["web-key", "ios-app-key"]   # client keys (public: in pages and apps)
server_keys = ["backend-key"]             # your backends' keys (secret)
dedup_window_hours = 24                   # a messageId seen within it is not folded twice
max_concurrent_requests = 64              # past it: 503 with Retry-After
```

A request with any other key is a 401. What a client key may say about customers is limited (see
`collector.trust`): a server key is trusted with user ids, a client key is not.
"""

from __future__ import annotations

from typing import Any

import attrs

from ._config_tables import is_number, known_table
from ._exceptions import ConfigError


@attrs.frozen(kw_only=True)
class CollectorSettings:
    write_keys: frozenset[str] = frozenset()
    """Client keys: shipped in pages and apps, so anyone may send with them."""
    server_keys: frozenset[str] = frozenset()
    """Keys of the shop's own backends, kept secret: trusted with user ids."""
    dedup_window_hours: float = 24.0
    max_concurrent_requests: int = 64

    @property
    def accepted_keys(self) -> frozenset[str]:
        return self.write_keys | self.server_keys

    @property
    def dedup_window(self) -> float:
        return self.dedup_window_hours * 3600.0

    @classmethod
    def from_dict(cls, raw: Any, source: str) -> CollectorSettings:
        known = {field.name for field in attrs.fields(cls)}
        raw = known_table(raw, known, "collector", source=source, noun="setting")
        keys = _keys(raw, "write_keys", source)
        server_keys = _keys(raw, "server_keys", source)
        both = sorted(keys & server_keys)
        if both:
            raise ConfigError(
                f"{both[0]!r} is in write_keys too: a key is a client's or a server's",
                source=source,
                field="collector.server_keys",
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
            write_keys=keys,
            server_keys=server_keys,
            dedup_window_hours=float(window),
            max_concurrent_requests=limit,
        )


def _keys(raw: Any, name: str, source: str) -> frozenset[str]:
    keys = raw.get(name, [])
    if not isinstance(keys, list) or not all(
        isinstance(key, str) and 0 < len(key) <= 256 for key in keys
    ):
        raise ConfigError(
            "expected a list of write keys (text, 1-256 characters)",
            source=source,
            field=f"collector.{name}",
        )
    return frozenset(keys)
