"""Checks every table of the config shares: is it a table, are all its keys known, is a number
one?

A typo (`dormant_dayz`) must be a `ConfigError` naming that key, not a setting silently left at
its default; a number too big for a float (TOML and JSON read integers of any size) must be one
too, not an `OverflowError` where it is used.
"""

from __future__ import annotations

import math
import sys
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


_FLOAT_MAX = sys.float_info.max


def is_number(value: object) -> bool:
    """An int or a float, not a bool, finite, and within what a float holds."""
    if isinstance(value, float):
        return math.isfinite(value)
    # Compared with a float exactly, never converted: `math.isfinite(10**400)` overflows.
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) <= _FLOAT_MAX
