"""`Schedule`: when a campaign runs, as epoch bounds plus local days of the week and hours.

```toml
schedule = { start = 2026-11-11T00:00:00, end = 2026-11-12T00:00:00, timezone = "Asia/Shanghai" }
schedule = { timezone = "Europe/London", days = ["fri", "sat"], hours = ["22:00-02:00"] }
```

- `start` (inclusive) and `end` (exclusive) are instants. A time without an offset (a TOML local
  datetime, ISO text without an offset, a date for its midnight) is wall-clock time in `timezone`.
  A wall-clock time the clocks skip (the spring-forward gap) means the first instant after the
  gap: 02:30 in New York on a spring-forward day is 03:00 EDT. One they show twice (the fall-back
  hour) means its first occurrence, as PEP 495's ``fold=0``.
- `days` and `hours` are read on the wall clock of `timezone`, so a 09:00-17:00 window stays
  09:00-17:00 local across DST changes. A window on a fall-back day's repeated hour is open during
  both occurrences; one inside a spring-forward gap does not open that day.
- An hour window that wraps midnight (``"22:00-02:00"``) belongs to the day it starts: with
  ``days = ["fri"]`` it is open Friday 22:00 to Saturday 02:00.
- No `days` means every day, no `hours` all day; ``"00:00-24:00"`` is all day too. (In a config,
  leave the key out: an empty list is rejected as a likely mistake.)

`Schedule.active(now)` runs on every widget decision, so what it needs is worked out once: without
days or hours it is two float comparisons; with them, one lookup in a minute-of-week table.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from ._config_tables import known_table
from ._exceptions import ConfigError
from ._timestamps import EARLIEST, LATEST

__all__ = ["ALWAYS", "Schedule"]

_MINUTES_PER_DAY = 24 * 60
_MINUTES_PER_WEEK = 7 * _MINUTES_PER_DAY

DAY_NAMES: Mapping[str, int] = {
    name: number
    for number, names in enumerate(
        (
            ("mon", "monday"),
            ("tue", "tuesday"),
            ("wed", "wednesday"),
            ("thu", "thursday"),
            ("fri", "friday"),
            ("sat", "saturday"),
            ("sun", "sunday"),
        )
    )
    for name in names
}
"""Day names `from_dict` reads (case-insensitive), to 0 = Monday .. 6 = Sunday."""

_KEYS = frozenset({"start", "end", "timezone", "days", "hours"})
_HOURS = re.compile(r"([0-9]{1,2}):([0-9]{2})\s*-\s*([0-9]{1,2}):([0-9]{2})")
# What `fromisoformat` reads alike on Python 3.10 to 3.13 (3.11 reads more): a date, optionally a
# time to the minute, second, millisecond or microsecond, optionally "Z" or a +HH:MM offset.
_ISO = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{3}(?:[0-9]{3})?)?)?"
    r"(?:Z|[+-][0-9]{2}:[0-9]{2})?)?",
    re.IGNORECASE,
)


def _load_zone(name: object) -> ZoneInfo:
    if not isinstance(name, str):
        raise ConfigError(
            f"expected an IANA time zone name, got {type(name).__name__}", field="timezone"
        )
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # ValueError: a malformed key ("../x", "", a NUL); OSError: an unreadable zone file.
        shown = name if len(name) <= 64 else name[:64] + "..."
        raise ConfigError(f"unknown time zone {shown!r}", field="timezone") from None


def _day_set(values: Any) -> frozenset[int]:
    try:
        if isinstance(values, (str, bytes, Mapping)):
            raise TypeError
        return frozenset(values)
    except TypeError:
        raise ConfigError(
            f"expected a collection of day numbers, got {type(values).__name__}", field="days"
        ) from None


def _window_tuple(values: Any) -> tuple[Any, ...]:
    # The windows themselves are checked in `Schedule.__attrs_post_init__`, by index.
    try:
        if isinstance(values, (str, bytes, Mapping)):
            raise TypeError
        return tuple(values)
    except TypeError:
        raise ConfigError(
            f"expected a sequence of (first, last) windows, got {type(values).__name__}",
            field="hours",
        ) from None


def _week_table(days: frozenset[int], hours: tuple[tuple[int, int], ...]) -> bytes:
    """One byte per minute of the week (Monday 00:00 first): 1 where the schedule is open."""
    table = bytearray(_MINUTES_PER_WEEK)
    for day in days or range(7):
        midnight = day * _MINUTES_PER_DAY
        for first, last in hours or ((0, _MINUTES_PER_DAY),):
            if first < last:
                table[midnight + first : midnight + last] = b"\x01" * (last - first)
            else:  # wraps midnight: the evening of `day`, then the morning of the next day
                table[midnight + first : midnight + _MINUTES_PER_DAY] = b"\x01" * (
                    _MINUTES_PER_DAY - first
                )
                morning = (day + 1) % 7 * _MINUTES_PER_DAY
                table[morning : morning + last] = b"\x01" * last
    return bytes(table)


@attrs.frozen
class Schedule:
    """When a campaign runs: ``start <= now < end``, on `days`, within `hours`, in `timezone`.

    `start`/`end` are epoch seconds or None (unbounded). `days` holds 0 = Monday .. 6 = Sunday,
    `hours` ``(first, last)`` windows in minutes since local midnight, ``[first, last)``, with
    ``first > last`` wrapping midnight; empty means no restriction. Built in code, the values are
    checked like `from_dict`'s, with `ConfigError` naming the field.
    """

    start: float | None = None
    end: float | None = None
    timezone: str = "UTC"
    days: frozenset[int] = attrs.field(default=frozenset(), converter=_day_set)
    hours: tuple[tuple[int, int], ...] = attrs.field(default=(), converter=_window_tuple)

    _zone: ZoneInfo = attrs.field(init=False, repr=False, eq=False)
    # Precomputed for `active`: the bounds as floats (infinite when open) and, when days or hours
    # are set, the minute-of-week table (None otherwise: no datetime work at all).
    _lower: float = attrs.field(init=False, repr=False, eq=False)
    _upper: float = attrs.field(init=False, repr=False, eq=False)
    _week: bytes | None = attrs.field(init=False, repr=False, eq=False)

    ALWAYS: ClassVar[Schedule]
    """The schedule of a campaign without one: active at every instant."""

    def __attrs_post_init__(self) -> None:
        for name in ("start", "end"):
            _check_instant(getattr(self, name), name)
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ConfigError("end must be after start", field="end")
        set_ = object.__setattr__
        set_(self, "_zone", _load_zone(self.timezone))
        set_(
            self,
            "hours",
            tuple(_check_window(window, index) for index, window in enumerate(self.hours)),
        )
        for day in self.days:
            if type(day) is not int or not 0 <= day <= 6:
                raise ConfigError(f"a day is 0 (Monday) .. 6 (Sunday), got {day!r}", field="days")
        set_(self, "_lower", -math.inf if self.start is None else float(self.start))
        set_(self, "_upper", math.inf if self.end is None else float(self.end))
        calendar = bool(self.days or self.hours)
        set_(self, "_week", _week_table(self.days, self.hours) if calendar else None)
        if calendar and self.start is not None and self.end is not None:
            self._check_ever_active()

    def _check_ever_active(self) -> None:
        """A window shorter than eight days may miss every day and hour it names (11 November is
        not a Saturday): a campaign that can never show is a mistake to say at load, not a
        widget that silently never appears. The window's minutes are looked up in the week's
        table from the local minute `start` falls on, an hour of slack at both ends for a
        daylight-saving change within it (so a schedule a shift could open is let through)."""
        start, end = float(self.start), float(self.end)  # type: ignore[arg-type]
        if end - start >= _NEVER_CHECKED_SECONDS or self._week is None:
            return  # eight days or more hold every minute of the week, whatever the clocks do
        try:
            local = datetime.fromtimestamp(start, self._zone)
            shift = datetime.fromtimestamp(end, self._zone).utcoffset() - local.utcoffset()  # type: ignore[operator]
        except (OverflowError, ValueError, OSError):
            return
        # The clocks may move by more than an hour (Troll's two, Apia's skipped day): widen the
        # slack by what they moved between start and end.
        moved = int(shift.total_seconds() // 60)
        first = local.weekday() * _MINUTES_PER_DAY + local.hour * 60 + local.minute
        minutes = math.ceil((end - start) / 60)
        weeks = self._week * 4  # the window, with its slack, runs into the next weeks
        lower = _MINUTES_PER_WEEK + first - 60 + min(0, moved)
        upper = _MINUTES_PER_WEEK + first + minutes + 60 + max(0, moved)
        if weeks.find(b"\x01", lower, upper) == -1:
            raise ConfigError(
                f"never live: no minute from start to end falls on its days and hours "
                f"(in {self.timezone})",
                field="days" if self.days else "hours",
            )

    def active(self, now: float) -> bool:
        """Whether the campaign runs at `now` (epoch seconds). A NaN `now` is never active, nor is
        a `now` outside the calendar's range when days or hours are set."""
        if not self._lower <= now < self._upper:
            return False
        week = self._week
        if week is None:
            return True
        try:
            local = datetime.fromtimestamp(now, self._zone)
        except (OverflowError, ValueError, OSError):  # beyond year 1..9999 or the platform's time_t
            return False
        return week[local.weekday() * _MINUTES_PER_DAY + local.hour * 60 + local.minute] == 1

    def local_date(self, now: float) -> date:
        """The date on the schedule's wall clock at `now`; per-day frequency caps count by it.

        `now` must be a real instant: NaN or one beyond the years 1..9999 raises ValueError or
        OverflowError, as `datetime.fromtimestamp` does.
        """
        return datetime.fromtimestamp(now, self._zone).date()

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], *, field: str = "schedule") -> Schedule:
        """Read a schedule table; every problem is a `ConfigError` naming ``f"{field}.<key>"``."""
        raw = known_table(raw, _KEYS, field)
        try:
            timezone_name = raw.get("timezone", "UTC")
            zone = _load_zone(timezone_name)
            start = _instant(raw["start"], zone, "start") if raw.get("start") is not None else None
            end = _instant(raw["end"], zone, "end") if raw.get("end") is not None else None
            days = _days(raw["days"]) if "days" in raw else frozenset()
            hours = _hours(raw["hours"]) if "hours" in raw else ()
            return cls(start, end, timezone_name, days, hours)
        except ConfigError as error:
            raise ConfigError(error.message, field=f"{field}.{error.field}") from None


_NEVER_CHECKED_SECONDS = 8 * 86_400


def _check_instant(value: object, name: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"expected epoch seconds, got {type(value).__name__}", field=name)
    _check_range(value, name)


def _check_range(seconds: float, name: str) -> None:
    # Only floats can be NaN or infinite (and math.isfinite would overflow on a huge int).
    if isinstance(seconds, float) and not math.isfinite(seconds):
        raise ConfigError(f"expected a finite number, got {seconds!r}", field=name)
    if not EARLIEST <= seconds <= LATEST:
        hint = " (milliseconds? give seconds)" if seconds > LATEST else ""
        raise ConfigError(f"{_shown(seconds)} is outside the years 2000..2100{hint}", field=name)


def _shown(number: float) -> str:
    try:
        text = repr(number)
    except ValueError:  # an int beyond `sys.get_int_max_str_digits()`
        return "a huge number"
    return text if len(text) <= 24 else text[:20] + "..."


def _check_window(window: object, index: int) -> tuple[int, int]:
    where = f"hours[{index}]"
    if not isinstance(window, (tuple, list)) or len(window) != 2:
        raise ConfigError(f"expected a (first, last) pair of minutes, got {window!r}", field=where)
    first, last = window
    for value in window:
        if type(value) is not int:
            raise ConfigError(f"minutes must be integers, got {value!r}", field=where)
    if not 0 <= first < _MINUTES_PER_DAY or not 0 <= last <= _MINUTES_PER_DAY:
        raise ConfigError(
            f"minutes since midnight run 0..1439 (first) and 0..1440 (last), got {window!r}",
            field=where,
        )
    if first == last:
        raise ConfigError("empty window: first and last are the same minute", field=where)
    return (first, last)


def _days(raw: object) -> frozenset[int]:
    if not isinstance(raw, (list, tuple)):
        raise ConfigError(f"expected a list of day names, got {type(raw).__name__}", field="days")
    if not raw:
        raise ConfigError("empty list: leave `days` out to run every day", field="days")
    days = set()
    for index, name in enumerate(raw):
        number = DAY_NAMES.get(name.strip().lower()) if isinstance(name, str) else None
        if number is None:
            raise ConfigError(
                f"expected a day name (mon..sun or monday..sunday), got {name!r}",
                field=f"days[{index}]",
            )
        days.add(number)
    return frozenset(days)


def _hours(raw: object) -> tuple[tuple[int, int], ...]:
    if not isinstance(raw, (list, tuple)):
        raise ConfigError(
            f'expected a list of "HH:MM-HH:MM", got {type(raw).__name__}', field="hours"
        )
    if not raw:
        raise ConfigError("empty list: leave `hours` out to run all day", field="hours")
    windows = []
    for index, text in enumerate(raw):
        match = _HOURS.fullmatch(text.strip()) if isinstance(text, str) else None
        if match is None:
            raise ConfigError(f'expected "HH:MM-HH:MM", got {text!r}', field=f"hours[{index}]")
        first_h, first_m, last_h, last_m = (int(part) for part in match.groups())
        if first_h > 23 or first_m > 59 or last_m > 59 or last_h > 24 or (last_h == 24 and last_m):
            raise ConfigError(
                f"not a time of day in {text!r} (00:00..23:59, or 24:00 as an end)",
                field=f"hours[{index}]",
            )
        windows.append((first_h * 60 + first_m, last_h * 60 + last_m))
    return tuple(windows)


def _instant(raw: object, zone: ZoneInfo, name: str) -> float:
    """Epoch seconds of a config value; wall-clock values are read in `zone`."""
    if isinstance(raw, bool):
        raise ConfigError("expected a date, a datetime or epoch seconds, got bool", field=name)
    if isinstance(raw, (int, float)):
        _check_range(raw, name)
        return float(raw)
    if isinstance(raw, str):
        raw = _parse_iso(raw, name)
    if isinstance(raw, datetime):
        aware = raw.utcoffset() is not None
        seconds = raw.timestamp() if aware else _wall_to_epoch(raw.replace(tzinfo=None), zone)
    elif isinstance(raw, date):
        seconds = _wall_to_epoch(datetime.combine(raw, time()), zone)
    else:
        raise ConfigError(
            "expected ISO-8601 text, a TOML date or datetime, or epoch seconds, "
            f"got {type(raw).__name__}",
            field=name,
        )
    _check_range(seconds, name)
    return seconds


def _parse_iso(text: str, name: str) -> datetime:
    stripped = text.strip()
    if len(stripped) > 40 or not _ISO.fullmatch(stripped):
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise ConfigError(
            f"expected ISO-8601 like 2026-11-11T00:00:00+08:00, got {shown!r}", field=name
        )
    normalised = stripped.upper()
    if normalised.endswith("Z"):  # Python 3.10's fromisoformat does not read "Z"
        normalised = normalised[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(normalised)
    except ValueError as error:  # a well-formed but impossible date or time: 2026-02-30
        raise ConfigError(f"{error} in {text!r}", field=name) from None


def _wall_to_epoch(wall: datetime, zone: ZoneInfo) -> float:
    """Epoch seconds of naive wall-clock time `wall` in `zone`.

    A repeated time takes its first occurrence (fold=0). A skipped time takes the first instant
    after the gap, the transition itself, found by bisecting the seconds between the two offsets'
    readings of `wall` (zoneinfo has no public list of transitions).
    """
    first = wall.replace(tzinfo=zone, fold=0)
    seconds = first.timestamp()
    if datetime.fromtimestamp(seconds, zone).replace(tzinfo=None) == wall:
        return seconds
    # In a gap: fold=0 reads `wall` with the offset before the transition (an instant after it),
    # fold=1 with the offset after (an instant before it).
    low = math.floor(wall.replace(tzinfo=zone, fold=1).timestamp())
    high = math.ceil(seconds)
    before = datetime.fromtimestamp(low, zone).utcoffset()
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == before:
            low = middle
        else:
            high = middle
    return float(high)


Schedule.ALWAYS = Schedule()
ALWAYS = Schedule.ALWAYS
"""A campaign without a schedule: `ALWAYS.active(now)` is True for every finite `now`."""
