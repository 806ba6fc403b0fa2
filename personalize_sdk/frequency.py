"""`FrequencyCap`: how often one shopper may see a campaign (C3).

Caps count exposures the browser reported (`Profile.exposures`), so a widget rendered but never
seen does not use up a shopper's allowance. Per-day caps count days in the campaign's time zone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import attrs

from ._config_tables import known_table
from ._exceptions import ConfigError
from .exposure import MAX_RECENT_SHOWS, Exposure
from .profile import Session

AFTER_CHOICES = ("never", "session", "day", "show")
"""What a dismissal (or a conversion) does: never show again, not again this session, not again
today, or nothing (keep showing within the other caps)."""


@attrs.frozen(kw_only=True)
class FrequencyCap:
    per_session: int | None = None
    per_day: int | None = None
    lifetime: int | None = None
    after_dismiss: str = "never"
    after_conversion: str = "never"

    @property
    def unlimited(self) -> bool:
        return (
            self.per_session is None
            and self.per_day is None
            and self.lifetime is None
            and self.after_dismiss == "show"
            and self.after_conversion == "show"
        )

    def blocking(
        self,
        exposure: Exposure | None,
        session: Session | None,
        now: float,
        session_timeout: float,
        local_date: Callable[[float], date],
    ) -> str | None:
        """The cap that keeps the campaign from the shopper now (``"lifetime"``,
        ``"after_dismiss"``, ``"after_conversion"``, ``"per_session"``, ``"per_day"``), or
        None when it may be shown once more."""
        if exposure is None:
            return None
        if self.lifetime is not None and exposure.shown >= self.lifetime:
            return "lifetime"
        # The current session, if the shopper is still in it.
        started = None
        if session is not None and now - session.last_at <= session_timeout:
            started = session.started_at
        for at, rule, name in ((exposure.dismissed_at, self.after_dismiss, "after_dismiss"),
                               (exposure.converted_at, self.after_conversion,
                                "after_conversion")):  # fmt: skip
            if at is not None and _blocks(rule, at, started, now, local_date):
                return name
        if (
            self.per_session is not None
            and started is not None
            and sum(1 for t in exposure.recent if t >= started) >= self.per_session
        ):
            return "per_session"
        if self.per_day is not None:
            today = local_date(now)
            if sum(1 for t in exposure.recent if local_date(t) == today) >= self.per_day:
                return "per_day"
        return None

    @classmethod
    def from_dict(cls, raw: Any, *, field: str = "caps") -> FrequencyCap:
        raw = known_table(raw, {a.name for a in attrs.fields(cls)}, field, noun="field")
        values: dict[str, Any] = {}
        for name in ("per_session", "per_day", "lifetime"):
            value = raw.get(name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(
                    f"expected a whole number >= 1, got {value!r}", field=f"{field}.{name}"
                )
            if name != "lifetime" and value > MAX_RECENT_SHOWS:
                raise ConfigError(
                    f"at most {MAX_RECENT_SHOWS} (shows are remembered that far), got {value}",
                    field=f"{field}.{name}",
                )
            values[name] = value
        for name in ("after_dismiss", "after_conversion"):
            value = raw.get(name, "never")
            if value not in AFTER_CHOICES:
                raise ConfigError(
                    f"expected one of {list(AFTER_CHOICES)}, got {value!r}", field=f"{field}.{name}"
                )
            values[name] = value
        return cls(**values)


def _blocks(
    rule: str,
    at: float,
    session_started: float | None,
    now: float,
    local_date: Callable[[float], date],
) -> bool:
    if rule == "never":
        return True
    if rule == "session":
        return session_started is not None and at >= session_started
    if rule == "day":
        return local_date(at) == local_date(now)
    return False
