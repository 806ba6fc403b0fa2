"""`load_forwarders`: the `[[forwarders]]` tables of a config, each entry checked by its type.

Here, beside the types, rather than in `delivery_config`: checking an entry's options needs the
forwarder classes, which import httpx; `Config` imports this module only when a config has
forwarders.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .._exceptions import ConfigError
from ..delivery_config import (
    DEFAULT_BATCH_BYTES,
    DEFAULT_BATCH_SIZE,
    DEFAULT_INTERVAL,
    ForwarderSpec,
    checked_integer,
    checked_seconds,
)
from . import FORWARDER_TYPES

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$")
_COMMON = frozenset({"type", "name", "include", "exclude", "batch_size", "batch_bytes", "interval"})


def load_forwarders(raw: Any, source: str) -> tuple[ForwarderSpec, ...]:
    """Parse and check `[[forwarders]]`; each type validates its own options here."""
    if not isinstance(raw, list):
        raise ConfigError(
            "expected an array of tables ([[forwarders]])", source=source, field="forwarders"
        )
    specs: list[ForwarderSpec] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw):
        where = f"forwarders[{index}]"
        if not isinstance(entry, Mapping):
            raise ConfigError("expected a table", source=source, field=where)
        kind = entry.get("type")
        if not isinstance(kind, str) or kind not in FORWARDER_TYPES:
            raise ConfigError(
                f"unknown forwarder type {kind!r} (known: {sorted(FORWARDER_TYPES)})",
                source=source,
                field=f"{where}.type",
            )
        name = entry.get("name", kind)
        if not isinstance(name, str) or not _NAME.match(name):
            raise ConfigError(
                f"name must be 1-64 letters, digits, '_' or '-', got {name!r}",
                source=source,
                field=f"{where}.name",
            )
        if name in seen:
            raise ConfigError(
                "two forwarders share this name (give each its own `name`)",
                source=source,
                field=f"{where}.name",
            )
        seen.add(name)
        where = f"forwarder {name!r}"
        options = {key: value for key, value in entry.items() if key not in _COMMON}
        try:
            FORWARDER_TYPES[kind].check_options(options)
        except ConfigError as error:
            field = f"{where}.{error.field}"
            raise ConfigError(error.message, source=source, field=field) from None
        specs.append(
            ForwarderSpec(
                type=kind,
                name=name,
                include=_names(entry["include"], source, f"{where}.include")
                if "include" in entry
                else None,
                exclude=_names(entry.get("exclude", []), source, f"{where}.exclude"),
                batch_size=checked_integer(
                    entry.get("batch_size", DEFAULT_BATCH_SIZE), 1, source, f"{where}.batch_size"
                ),
                batch_bytes=checked_integer(
                    entry.get("batch_bytes", DEFAULT_BATCH_BYTES),
                    1024,
                    source,
                    f"{where}.batch_bytes",
                ),
                interval=checked_seconds(
                    entry.get("interval", DEFAULT_INTERVAL), source, f"{where}.interval"
                ),
                options=options,
            )
        )
    return tuple(specs)


def _names(raw: Any, source: str, field: str) -> frozenset[str]:
    if not isinstance(raw, list) or not all(isinstance(name, str) for name in raw):
        raise ConfigError("expected a list of event names", source=source, field=field)
    return frozenset(raw)
