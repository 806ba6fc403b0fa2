"""The check every table of the config starts with: is it a table, and are all its keys known?

A typo (`dormant_dayz`) must be a `ConfigError` naming that key, not a setting silently left at
its default.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from ._exceptions import ConfigError


def known_table(
    raw: object, known: Collection[str], field: str, *, source: str = "", noun: str = "key"
) -> Mapping[str, Any]:
    """`raw` itself when it is a mapping with only `known` keys; otherwise a `ConfigError`
    naming `field` (not a table) or ``f"{field}.<the first unknown key>"``."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"expected a table, got {type(raw).__name__}", source=source, field=field)
    unknown = sorted(str(key) for key in raw if key not in known)
    if unknown:
        raise ConfigError(
            f"unknown {noun} (known: {sorted(known)})",
            source=source,
            field=f"{field}.{unknown[0]}",
        )
    return raw
