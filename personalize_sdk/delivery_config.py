"""The `[[forwarders]]` and `[delivery]` tables: where events go, and how hard we try.

```toml
[delivery]
memory_bytes = 16_777_216      # per forwarder, held in memory; past it events spill to disk
disk_bytes = 1_073_741_824     # per forwarder, on disk; past it the oldest are dropped (counted)
spool_dir = "/var/lib/shop/personalize-spool"
drain_timeout = 5.0            # at exit, one deadline for every forwarder together

[[forwarders]]
type = "segment"               # segment | http | file | redis_stream
name = "warehouse"             # unique; names the counters and the spool folder
host = "https://api.segment.io"
write_key = "..."
include = ["Order Completed"]  # event names to forward (default: all)
exclude = []                   # event names never to forward
```

Each forwarder type checks its own options (`personalize_sdk.forwarders.specs`) when the config
is loaded, so a typo is a `ConfigError` naming the forwarder and the field, not a surprise at
the first event.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from ._config_tables import is_number, known_table
from ._exceptions import ConfigError

DEFAULT_MEMORY_BYTES = 16 * 1024 * 1024
DEFAULT_DISK_BYTES = 1024 * 1024 * 1024
DEFAULT_DRAIN_TIMEOUT = 5.0
DEFAULT_BATCH_SIZE = 500
DEFAULT_BATCH_BYTES = 475_000
DEFAULT_INTERVAL = 1.0


def default_spool_dir() -> Path:
    """``$PERSONALIZE_SPOOL_DIR``, else ``$XDG_CACHE_HOME/personalize-sdk/spool`` (``~/.cache``)."""
    chosen = os.environ.get("PERSONALIZE_SPOOL_DIR")
    if chosen:
        return Path(chosen)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "personalize-sdk" / "spool"


@attrs.frozen(kw_only=True)
class DeliverySettings:
    """What every forwarder shares: memory and disk bounds, the spool folder, the exit drain."""

    memory_bytes: int = DEFAULT_MEMORY_BYTES
    """Encoded events each forwarder keeps in memory; past it they spill to disk (0: every
    event goes through the disk first, so even a killed process loses nothing queued)."""
    disk_bytes: int = DEFAULT_DISK_BYTES
    """Spooled events each forwarder keeps on disk; past it the oldest are dropped, counted."""
    spool_dir: Path | None = attrs.field(default=None, converter=attrs.converters.optional(Path))
    """Where spilled events wait (None: `default_spool_dir()`)."""
    drain_timeout: float = DEFAULT_DRAIN_TIMEOUT
    """At exit (and in `close()`), how long delivery may take, for all forwarders together."""
    log_interval: float = 60.0
    """Seconds between INFO log lines of the delivery counters (only when they changed)."""

    @classmethod
    def from_dict(cls, raw: Any, source: str) -> DeliverySettings:
        known = {field.name for field in attrs.fields(cls)}
        raw = known_table(raw, known, "delivery", source=source, noun="setting")
        values: dict[str, Any] = {}
        for name in ("memory_bytes", "disk_bytes"):
            if name in raw:
                values[name] = checked_integer(raw[name], 0, source, f"delivery.{name}")
        for name in ("drain_timeout", "log_interval"):
            if name in raw:
                values[name] = checked_seconds(raw[name], source, f"delivery.{name}")
        if "spool_dir" in raw:
            if not isinstance(raw["spool_dir"], str) or not raw["spool_dir"]:
                raise ConfigError(
                    "expected a folder path", source=source, field="delivery.spool_dir"
                )
            values["spool_dir"] = Path(raw["spool_dir"])
        return cls(**values)

    @property
    def spool_root(self) -> Path:
        return self.spool_dir if self.spool_dir is not None else default_spool_dir()


@attrs.frozen(kw_only=True)
class ForwarderSpec:
    """One `[[forwarders]]` entry: what every type shares, plus the type's own `options`."""

    type: str
    name: str
    include: frozenset[str] | None = None
    """Only these event names are forwarded (None: all)."""
    exclude: frozenset[str] = frozenset()
    batch_size: int = DEFAULT_BATCH_SIZE
    batch_bytes: int = DEFAULT_BATCH_BYTES
    interval: float = DEFAULT_INTERVAL
    """A batch that is not full goes out this many seconds after its first event."""
    options: Mapping[str, Any] = attrs.field(factory=dict)


def checked_integer(raw: Any, minimum: int, source: str, field: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < minimum:
        message = f"expected an integer >= {minimum}, got {raw!r}"
        raise ConfigError(message, source=source, field=field)
    return raw


def checked_seconds(raw: Any, source: str, field: str) -> float:
    if not is_number(raw):
        raise ConfigError(f"expected seconds, got {raw!r}", source=source, field=field)
    if raw <= 0 or raw > 3600:
        raise ConfigError(f"expected 0 < seconds <= 3600, got {raw!r}", source=source, field=field)
    return float(raw)
