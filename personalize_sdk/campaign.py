"""`Campaign`: which widget, for whom, when, how often, and in which variants (C1-C4).

```toml
[[campaigns]]
id = "welcome-bar"
kind = "hello_bar"
priority = 10
text = "Hi {{ first_name or 'there' }}, free shipping on your first order"
audience = { segments_any = ["new_visitor"], page_types = ["home", "category"] }
schedule = { start = 2026-11-11T00:00:00, end = 2026-11-12T00:00:00, timezone = "Asia/Shanghai" }
caps = { per_session = 1, per_day = 3, after_dismiss = "never" }
holdout = 0.1

[[campaigns.variants]]
id = "warm"
text = "Welcome back, {{ first_name or 'friend' }}!"
```

Assignment is deterministic and sticky: GrowthBook's hash (`bucketing.hash`, FNV-1a 32-bit,
version 2) of the campaign's seed and the shopper's id picks a bucket in [0, 1); the holdout
takes the first `holdout` of it, the variants share the rest by weight. A variant a shopper was
shown is remembered in their profile and kept (through a login merge too).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from typing import Any

import attrs

from ._config_tables import known_table
from ._exceptions import ConfigError
from .audience import Audience
from .bucketing import hash as bucket_hash
from .campaign_kinds import KINDS, check_content, parse_content
from .frequency import FrequencyCap
from .schedule import Schedule


@functools.lru_cache(maxsize=1 << 16)
def _bucket(seed: str, unit: str) -> float:
    """The same shopper asks on every page; hashing is a Python loop per byte, so remember."""
    return bucket_hash(seed, unit, 2)  # type: ignore[return-value]


CONTROL = "control"
"""The variant of the holdout group: nothing is shown, the exposure is still recorded."""

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-.:]{0,99}$")
_SLOT = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,39}$")
_CAMPAIGN_FIELDS = frozenset(
    {"id", "kind", "slot", "priority", "audience", "schedule", "caps", "variants", "holdout",
     "seed", "enabled", "name"}
)  # fmt: skip


@attrs.frozen
class Variant:
    id: str
    weight: float
    content: Mapping[str, Any] = attrs.field(repr=False)
    """The kind's content fields, parsed (see `campaign_kinds.KINDS`)."""


@attrs.frozen(kw_only=True)
class Campaign:
    id: str
    kind: str
    slot: str
    priority: int = 0
    audience: Audience = attrs.field(factory=Audience)
    schedule: Schedule | None = None
    caps: FrequencyCap = attrs.field(factory=FrequencyCap)
    variants: tuple[Variant, ...]
    holdout: float = 0.0
    seed: str = ""
    overlay: bool = False
    name: str = ""
    enabled: bool = True
    """A disabled campaign is checked but never shown (nor its beacons accepted)."""
    # Bucket upper bounds, ascending, with the variant id each ends: [(0.1, "control"), ...].
    _bounds: tuple[tuple[float, str], ...] = attrs.field(init=False, repr=False, eq=False)
    _variants: Mapping[str, Variant] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        bounds: list[tuple[float, str]] = []
        if self.holdout:
            bounds.append((self.holdout, CONTROL))
        total = math.fsum(v.weight for v in self.variants)
        share, upto = 1.0 - self.holdout, self.holdout
        for variant in self.variants:
            upto += share * variant.weight / total
            bounds.append((upto, variant.id))
        bounds[-1] = (1.0, bounds[-1][1])  # no bucket falls past the end through rounding
        object.__setattr__(self, "_bounds", tuple(bounds))
        object.__setattr__(self, "_variants", {v.id: v for v in self.variants})

    def assign(self, unit: str) -> str:
        """The variant id (or `CONTROL`) for the shopper identified by `unit`: the same in
        every process, every language with GrowthBook's hash, and after restarts."""
        if len(self._bounds) == 1:
            return self._bounds[0][1]  # one variant, no holdout: nothing to hash
        n = _bucket(self.seed or self.id, unit)
        for upper, variant in self._bounds:
            if n < upper:  # type: ignore[operator]
                return variant
        return self._bounds[-1][1]

    def variant(self, variant_id: str) -> Variant | None:
        return self._variants.get(variant_id)

    @property
    def variant_ids(self) -> frozenset[str]:
        ids = frozenset(self._variants)
        return ids | {CONTROL} if self.holdout else ids

    @classmethod
    def from_dict(cls, raw: Any, *, field: str) -> Campaign:
        if not isinstance(raw, Mapping):
            raise ConfigError("expected a table", field=field)
        campaign_id = raw.get("id")
        if not isinstance(campaign_id, str) or not _ID.match(campaign_id):
            raise ConfigError(
                "id: 1-100 letters, digits, '_', '-', '.' or ':', starting with a letter or digit,"
                f" got {campaign_id!r}",
                field=f"{field}.id",
            )
        field = f"campaign {campaign_id!r}"
        kind_name = raw.get("kind")
        kind = KINDS.get(kind_name) if isinstance(kind_name, str) else None
        if kind is None:
            raise ConfigError(
                f"unknown kind {kind_name!r} (known: {sorted(KINDS)})", field=f"{field}.kind"
            )
        known_table(
            raw, _CAMPAIGN_FIELDS | set(kind.fields), field, noun=f"field for a {kind.name}"
        )
        slot = raw.get("slot", kind.default_slot)
        if not isinstance(slot, str) or not _SLOT.match(slot):
            raise ConfigError(
                f"slot: 1-40 of a-z, 0-9, '_' or '-', got {slot!r}", field=f"{field}.slot"
            )
        if kind.overlay and slot != kind.default_slot:
            raise ConfigError(
                f"overlays share the {kind.default_slot!r} slot, so a page shows at most one",
                field=f"{field}.slot",
            )
        priority = raw.get("priority", 0)
        if isinstance(priority, bool) or not isinstance(priority, int) or abs(priority) > 10**6:
            raise ConfigError(
                f"expected a whole number (higher wins), got {priority!r}",
                field=f"{field}.priority",
            )
        holdout = raw.get("holdout", 0.0)
        if (
            isinstance(holdout, bool)
            or not isinstance(holdout, (int, float))
            or not (0 <= holdout < 1)
        ):
            raise ConfigError(
                f"expected a fraction in [0, 1), got {holdout!r}", field=f"{field}.holdout"
            )
        seed = raw.get("seed", campaign_id)
        if not isinstance(seed, str) or not seed or len(seed) > 200:
            raise ConfigError("expected non-empty text", field=f"{field}.seed")
        name = raw.get("name", "")
        if not isinstance(name, str) or len(name) > 200:
            raise ConfigError("expected text", field=f"{field}.name")
        schedule = None
        if "schedule" in raw:
            schedule = Schedule.from_dict(raw["schedule"], field=f"{field}.schedule")
        timezone = "UTC" if schedule is None else schedule.timezone
        content = parse_content(kind, raw, field, partial=False, timezone=timezone)
        enabled = raw.get("enabled", True)
        if not isinstance(enabled, bool):
            raise ConfigError(f"expected true or false, got {enabled!r}", field=f"{field}.enabled")
        if (
            kind.name == "countdown"
            and "deadline" not in content
            and "duration_minutes" not in content
            and (schedule is None or schedule.end is None)
        ):
            raise ConfigError(
                "a countdown needs a deadline, a duration_minutes or a schedule with an end",
                field=f"{field}.deadline",
            )
        return cls(
            id=campaign_id,
            kind=kind.name,
            slot=slot,
            priority=priority,
            audience=Audience.from_dict(raw.get("audience", {}), field=f"{field}.audience"),
            schedule=schedule,
            caps=FrequencyCap.from_dict(raw.get("caps", {}), field=f"{field}.caps"),
            variants=_variants(raw.get("variants"), kind, content, field, timezone),
            holdout=float(holdout),
            seed=seed,
            overlay=kind.overlay,
            name=name,
            enabled=enabled,
        )


def _variants(
    raw: Any, kind: Any, content: dict[str, Any], field: str, timezone: str
) -> tuple[Variant, ...]:
    if raw is None:
        check_content(kind, content, field)
        return (Variant("default", 1.0, content),)
    if not isinstance(raw, list) or not 1 <= len(raw) <= 20:
        raise ConfigError(
            "expected 1 to 20 variants ([[campaigns.variants]] tables)", field=f"{field}.variants"
        )
    variants = []
    for index, entry in enumerate(raw):
        where = f"{field}.variants[{index}]"
        if not isinstance(entry, Mapping):
            raise ConfigError("expected a table", field=where)
        variant_id = entry.get("id")
        if not isinstance(variant_id, str) or not _SLOT.match(variant_id) or variant_id == CONTROL:
            raise ConfigError(
                f"id: 1-40 of a-z, 0-9, '_' or '-', not {CONTROL!r}; got {variant_id!r}",
                field=f"{where}.id",
            )
        where = f"{field}.variants[{variant_id!r}]"
        weight = entry.get("weight", 1)
        if (
            isinstance(weight, bool)
            or not isinstance(weight, (int, float))
            or not (0 < weight < 1e6 and math.isfinite(weight))
        ):
            raise ConfigError(f"expected a weight above 0, got {weight!r}", field=f"{where}.weight")
        unknown = sorted(set(entry) - {"id", "weight"} - set(kind.fields))
        if unknown:
            raise ConfigError(
                f"a variant overrides content fields only (of a {kind.name}: "
                f"{sorted(kind.fields)})",
                field=f"{where}.{unknown[0]}",
            )
        overrides = parse_content(kind, entry, where, partial=True, timezone=timezone)
        merged = {**content, **overrides}
        check_content(kind, merged, where)
        variants.append(Variant(variant_id, float(weight), merged))
    if len({v.id for v in variants}) != len(variants):
        raise ConfigError("two variants have the same id", field=f"{field}.variants")
    return tuple(variants)
