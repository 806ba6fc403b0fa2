"""Parse the timestamps callers give: epoch seconds, `datetime` or ISO-8601 text."""

from __future__ import annotations

import math
from datetime import datetime, timezone

from ._exceptions import InvalidEvent

# Accepted window: 2000-01-01 .. 2100-01-01. Outside it a value is almost surely a unit mistake
# (milliseconds, nanoseconds) and would silently wreck recency maths.
EARLIEST = 946_684_800.0
LATEST = 4_102_444_800.0


def to_epoch(value: object, field: str = "timestamp") -> float:
    """Return `value` as epoch seconds or raise `InvalidEvent` naming `field`.

    Naive datetimes and ISO strings without an offset are taken as UTC.
    """
    seconds = to_seconds(value, field)
    if not EARLIEST <= seconds <= LATEST:
        hint = " (milliseconds? pass seconds)" if seconds > LATEST else ""
        raise InvalidEvent(
            f"timestamp {value!r} is outside 2000..2100{hint}", field=field, kind="bad_timestamp"
        )
    return seconds


def to_seconds(value: object, field: str = "timestamp") -> float:
    """`to_epoch` without its 2000..2100 window: for a sender's clock, which may be years off
    until its skew is corrected (the collector checks the corrected time)."""
    if isinstance(value, bool):
        raise InvalidEvent(
            "expected epoch seconds, a datetime or ISO-8601 text, got bool",
            field=field,
            kind="bad_timestamp",
        )
    if isinstance(value, (int, float)):
        try:
            seconds = float(value)
        except OverflowError:
            seconds = math.inf
    elif isinstance(value, datetime):
        seconds = _from_datetime(value)
    elif isinstance(value, str):
        seconds = _from_iso(value, field)
    else:
        raise InvalidEvent(
            f"expected epoch seconds, a datetime or ISO-8601 text, got {type(value).__name__}",
            field=field,
            kind="bad_timestamp",
        )
    if not math.isfinite(seconds):
        raise InvalidEvent("timestamp is not a finite number", field=field, kind="bad_timestamp")
    return seconds


def _from_datetime(value: datetime) -> float:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


def _from_iso(text: str, field: str) -> float:
    if len(text) > 64:
        raise InvalidEvent(
            "ISO-8601 timestamp longer than 64 characters", field=field, kind="bad_timestamp"
        )
    normalised = text.strip()
    if normalised[-1:] in ("Z", "z"):  # Python 3.10's fromisoformat does not read "Z"
        normalised = normalised[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(normalised)
    except ValueError:
        raise InvalidEvent(
            f"not an ISO-8601 timestamp: {text[:64]!r}", field=field, kind="bad_timestamp"
        ) from None
    return _from_datetime(parsed)
