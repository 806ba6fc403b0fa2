"""Schedules: bounds, days and hours on the local wall clock, DST, config errors, local dates."""

from __future__ import annotations

import math
import re
import sys
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import attrs
import pytest

import personalize_sdk.schedule as schedule_module
from personalize_sdk._exceptions import ConfigError
from personalize_sdk.schedule import ALWAYS, Schedule

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

MINUTE = 60.0


def at(text: str) -> float:
    """Epoch seconds of ISO-8601 text with an offset."""
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert parsed.tzinfo is not None
    return parsed.timestamp()


def schedule(**raw: Any) -> Schedule:
    return Schedule.from_dict(raw)


# -- start and end ------------------------------------------------------------------------------


def test_start_is_inclusive_and_end_exclusive() -> None:
    sale = schedule(start="2026-11-11T00:00:00+08:00", end="2026-11-12T00:00:00+08:00")
    start, end = at("2026-11-10T16:00:00Z"), at("2026-11-11T16:00:00Z")
    assert (sale.start, sale.end) == (start, end)
    assert not sale.active(start - 0.001)
    assert sale.active(start)
    assert sale.active(end - 0.001)
    assert not sale.active(end)
    assert not sale.active(end + 86_400)


def test_open_ended_bounds() -> None:
    from_start = schedule(start="2026-01-01T00:00:00Z")
    until_end = schedule(end="2026-01-01T00:00:00Z")
    moment = at("2026-01-01T00:00:00Z")
    assert (from_start.active(moment - 1), from_start.active(moment)) == (False, True)
    assert from_start.active(moment + 10 * 365 * 86_400)
    assert (until_end.active(moment - 1), until_end.active(moment)) == (True, False)
    assert until_end.active(0)


def test_always_is_active_at_every_instant() -> None:
    assert Schedule.ALWAYS is ALWAYS
    assert Schedule.from_dict({}) == ALWAYS
    assert Schedule() == ALWAYS
    for now in (0.0, -1e9, 1_790_000_000.0, 4e9, 1e15):
        assert ALWAYS.active(now)


def test_nan_is_never_active() -> None:
    for sched in (ALWAYS, Schedule(start=1_790_000_000.0), Schedule(end=1_790_000_000.0)):
        assert not sched.active(math.nan)


@pytest.mark.parametrize(
    "sched",
    [Schedule(days=frozenset(range(7))), Schedule(hours=((0, 1440),))],
    ids=["days", "hours"],
)
def test_calendar_schedules_answer_false_beyond_the_calendar(sched: Schedule) -> None:
    assert sched.active(1_790_000_000.0)
    for now in (math.nan, math.inf, -math.inf, 1e20, -1e20):
        assert not sched.active(now)


def test_bounds_only_schedules_do_no_datetime_work(monkeypatch: pytest.MonkeyPatch) -> None:
    sale = schedule(start="2026-11-11T00:00:00+08:00", end="2026-11-12T00:00:00+08:00")
    calendar = schedule(days=["wed"], timezone="Asia/Shanghai")

    class NoDatetime:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"datetime.{name} used")

    monkeypatch.setattr(schedule_module, "datetime", NoDatetime())
    assert ALWAYS.active(at("2026-11-11T00:00:00Z"))
    assert sale.active(at("2026-11-11T00:00:00Z"))
    assert not sale.active(at("2026-11-12T00:00:00Z"))
    with pytest.raises(AssertionError, match=r"datetime\.fromtimestamp used"):
        calendar.active(at("2026-11-11T00:00:00Z"))  # the check above can fail


# -- accepted forms of start and end ------------------------------------------------------------

SHANGHAI_MIDNIGHT = at("2026-11-10T16:00:00Z")  # 2026-11-11 00:00 in Asia/Shanghai


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-11T00:00:00+08:00",
        "2026-11-10T16:00:00Z",
        "2026-11-10t16:00:00z",
        "2026-11-10T16:00Z",
        "2026-11-10T16:00:00.000Z",
        "2026-11-10T16:00:00.000000+00:00",
        "2026-11-10T11:00:00-05:00",
        " 2026-11-11T00:00:00 ",  # no offset: Shanghai wall-clock time
        "2026-11-11 00:00",
        "2026-11-11",  # a date: its midnight, local
        datetime(2026, 11, 11),
        datetime(2026, 11, 10, 16, tzinfo=timezone.utc),
        datetime(2026, 11, 11, 2, tzinfo=timezone(timedelta(hours=10))),
        date(2026, 11, 11),
        1_794_326_400,
        1_794_326_400.0,
    ],
)
def test_start_forms(value: Any) -> None:
    assert SHANGHAI_MIDNIGHT == 1_794_326_400
    parsed = schedule(start=value, timezone="Asia/Shanghai")
    assert parsed.start == SHANGHAI_MIDNIGHT
    assert isinstance(parsed.start, float)


def test_toml_datetimes() -> None:
    document = tomllib.loads(
        """
        local = { start = 2026-11-11T00:00:00, end = 2026-11-12, timezone = "Asia/Shanghai" }
        offset = { start = 2026-11-11T00:00:00+08:00, end = 2026-11-11T16:00:00Z }
        """
    )
    local = Schedule.from_dict(document["local"])
    offset = Schedule.from_dict(document["offset"])
    assert local.start == offset.start == SHANGHAI_MIDNIGHT
    assert local.end == offset.end == SHANGHAI_MIDNIGHT + 86_400
    assert local.timezone == "Asia/Shanghai"
    assert offset.timezone == "UTC"


def test_naive_times_default_to_utc() -> None:
    assert schedule(start="2026-11-11T00:00:00").start == at("2026-11-11T00:00:00Z")
    assert schedule(start=date(2026, 11, 11)).start == at("2026-11-11T00:00:00Z")


def test_none_bounds_mean_open() -> None:
    assert schedule(start=None, end=None) == ALWAYS


# -- Asia/Shanghai: the 11/11 flash sale --------------------------------------------------------


def test_singles_day_flash_sale_runs_the_shanghai_day() -> None:
    sale = schedule(start=datetime(2026, 11, 11), end=date(2026, 11, 12), timezone="Asia/Shanghai")
    assert not sale.active(at("2026-11-10T23:59:59+08:00"))
    assert sale.active(at("2026-11-11T00:00:00+08:00"))
    assert sale.active(at("2026-11-11T23:59:59+08:00"))
    assert not sale.active(at("2026-11-12T00:00:00+08:00"))
    # A shopper in London sees it from 16:00 the day before.
    assert sale.active(at("2026-11-10T16:00:00+00:00"))


def test_flash_sale_by_day_and_all_day_hours() -> None:
    # 2026-11-11 is a Wednesday.
    sale = schedule(days=["Wed"], hours=["00:00-24:00"], timezone="Asia/Shanghai")
    assert not sale.active(at("2026-11-10T23:59:59+08:00"))
    assert sale.active(at("2026-11-11T00:00:00+08:00"))
    assert sale.active(at("2026-11-11T23:59:59+08:00"))
    assert not sale.active(at("2026-11-12T00:00:00+08:00"))
    assert sale.active(at("2026-11-18T12:00:00+08:00"))  # every Wednesday
    assert sale.days == frozenset({2})
    assert sale.hours == ((0, 1440),)


def test_lunch_hour_window_in_shanghai() -> None:
    lunch = schedule(hours=["11:30-13:30"], timezone="Asia/Shanghai")
    assert not lunch.active(at("2026-11-11T11:29:59+08:00"))
    assert lunch.active(at("2026-11-11T11:30:00+08:00"))
    assert lunch.active(at("2026-11-11T13:29:59+08:00"))
    assert not lunch.active(at("2026-11-11T13:30:00+08:00"))
    assert lunch.active(at("2026-11-11T04:00:00Z"))  # 12:00 in Shanghai


# -- America/New_York across both DST transitions ----------------------------------------------


def test_new_york_fall_back_window_is_open_for_both_one_thirties() -> None:
    # 2025-11-02: clocks go back from 02:00 EDT to 01:00 EST; 01:30 happens twice.
    window = schedule(hours=["01:30-01:45"], timezone="America/New_York")
    first, second = at("2025-11-02T01:30:00-04:00"), at("2025-11-02T01:30:00-05:00")
    assert second - first == 3600
    for moment in (first, second):
        assert not window.active(moment - 1)
        assert window.active(moment)
        assert window.active(moment + 14 * MINUTE + 59)
        assert not window.active(moment + 15 * MINUTE)
    assert not window.active(first + 30 * MINUTE)  # 02:00 EDT = 01:00 EST, between the two


def test_new_york_ambiguous_start_takes_the_first_occurrence() -> None:
    start = schedule(start="2025-11-02T01:30:00", timezone="America/New_York").start
    assert start == at("2025-11-02T01:30:00-04:00")


def test_new_york_spring_forward_start_inside_the_gap_starts_at_three() -> None:
    # 2025-03-09: clocks jump from 02:00 EST to 03:00 EDT; 02:30 does not exist.
    sched = schedule(start="2025-03-09T02:30:00", timezone="America/New_York")
    assert sched.start == at("2025-03-09T03:00:00-04:00") == at("2025-03-09T07:00:00Z")
    assert not sched.active(at("2025-03-09T01:59:59-05:00"))
    assert sched.active(at("2025-03-09T03:00:00-04:00"))
    for value in ("2025-03-09T02:00:00", "2025-03-09T02:59:59", datetime(2025, 3, 9, 2, 1)):
        moved = schedule(start=value, timezone="America/New_York").start
        assert moved == at("2025-03-09T03:00:00-04:00")


def test_new_york_window_inside_the_gap_does_not_open_that_day() -> None:
    window = schedule(hours=["02:00-03:00"], timezone="America/New_York")
    gap_day = at("2025-03-09T00:00:00-05:00")
    assert not any(window.active(gap_day + minute * MINUTE) for minute in range(24 * 60))
    assert window.active(at("2025-03-10T02:30:00-04:00"))  # the next day it does


def test_new_york_business_hours_follow_the_wall_clock_across_dst() -> None:
    office = schedule(
        days=["mon", "tue", "wed", "thu", "fri"], hours=["09:00-17:00"], timezone="America/New_York"
    )
    # 14:00 UTC is 09:00 EST before the change (Friday 7 March) and 10:00 EDT after (Monday).
    assert office.active(at("2025-03-07T14:00:00Z"))
    assert not office.active(at("2025-03-07T13:59:59Z"))
    assert office.active(at("2025-03-10T13:00:00Z"))  # 09:00 EDT
    assert not office.active(at("2025-03-10T12:59:59Z"))
    assert not office.active(at("2025-03-08T15:00:00Z"))  # Saturday
    assert office.active(at("2025-11-03T14:00:00Z"))  # 09:00 EST, after fall back
    assert not office.active(at("2025-11-03T13:00:00Z"))


def test_dates_whose_midnight_is_skipped_start_after_the_gap() -> None:
    # America/Santiago springs forward at midnight: 2025-09-07 starts at 01:00.
    sched = schedule(start=date(2025, 9, 7), timezone="America/Santiago")
    assert sched.start == at("2025-09-07T01:00:00-03:00")


def test_a_skipped_calendar_day_starts_the_next_day() -> None:
    # Samoa skipped 2011-12-30 entirely, jumping from UTC-10 to UTC+14.
    sched = schedule(start="2011-12-30T12:00:00", timezone="Pacific/Apia")
    assert sched.start == at("2011-12-31T00:00:00+14:00")


# -- Europe/London across both DST transitions --------------------------------------------------


def test_london_spring_forward_start_in_the_gap() -> None:
    # 2025-03-30: 01:00 GMT becomes 02:00 BST.
    sched = schedule(
        start="2025-03-30T01:30:00", end="2025-03-30T03:00:00", timezone="Europe/London"
    )
    assert sched.start == at("2025-03-30T01:00:00Z") == at("2025-03-30T02:00:00+01:00")
    assert sched.end == at("2025-03-30T02:00:00Z")


def test_london_fall_back_window_and_start() -> None:
    # 2025-10-26: 02:00 BST becomes 01:00 GMT; 01:00-01:59 happens twice.
    window = schedule(hours=["01:30-02:00"], timezone="Europe/London")
    assert window.active(at("2025-10-26T00:30:00Z"))  # 01:30 BST
    assert not window.active(at("2025-10-26T01:00:00Z"))  # 01:00 GMT
    assert window.active(at("2025-10-26T01:30:00Z"))  # 01:30 GMT
    assert not window.active(at("2025-10-26T02:00:00Z"))  # 02:00 GMT
    start = schedule(start="2025-10-26T01:30", timezone="Europe/London").start
    assert start == at("2025-10-26T00:30:00Z")


def test_london_summer_and_winter_evenings() -> None:
    evening = schedule(hours=["18:00-21:00"], timezone="Europe/London")
    assert evening.active(at("2025-07-01T17:00:00Z"))  # 18:00 BST
    assert not evening.active(at("2025-07-01T20:00:00Z"))  # 21:00 BST
    assert evening.active(at("2025-12-01T18:00:00Z"))  # 18:00 GMT
    assert not evening.active(at("2025-12-01T17:59:59Z"))


# -- windows across midnight --------------------------------------------------------------------


def test_a_wrapping_window_belongs_to_the_day_it_starts() -> None:
    # 2025-10-24 is a Friday.
    late = schedule(days=["fri"], hours=["22:00-02:00"], timezone="Europe/London")
    assert not late.active(at("2025-10-24T21:59:59+01:00"))
    assert late.active(at("2025-10-24T22:00:00+01:00"))
    assert late.active(at("2025-10-25T01:59:59+01:00"))  # Saturday morning, Friday's night
    assert not late.active(at("2025-10-25T02:00:00+01:00"))
    assert not late.active(at("2025-10-25T22:30:00+01:00"))  # Saturday night
    assert not late.active(at("2025-10-24T01:00:00+01:00"))  # Thursday's night


def test_a_wrapping_window_every_day() -> None:
    night = schedule(hours=["22:00-02:00"])
    for hour, expected in [(21, False), (22, True), (23, True), (0, True), (1, True), (2, False)]:
        assert night.active(at(f"2026-01-15T{hour:02}:30:00Z")) is expected


def test_sunday_night_wraps_into_monday() -> None:
    late = schedule(days=["sunday"], hours=["23:00-01:00"])
    assert late.active(at("2026-01-18T23:30:00Z"))  # Sunday
    assert late.active(at("2026-01-19T00:30:00Z"))  # Monday morning
    assert not late.active(at("2026-01-19T23:30:00Z"))  # Monday night


def test_a_window_until_midnight() -> None:
    for text in ("22:00-00:00", "22:00-24:00"):
        late = schedule(hours=[text])
        assert late.active(at("2026-01-15T23:59:59Z"))
        assert not late.active(at("2026-01-16T00:00:00Z"))
        assert not late.active(at("2026-01-15T21:59:59Z"))


def test_several_windows_and_weekend_days() -> None:
    sched = schedule(days=["SAT", "Sun"], hours=["09:00-12:00", " 14:00 - 16:30 "])
    assert sched.hours == ((540, 720), (840, 990))
    assert sched.active(at("2026-01-17T10:00:00Z"))  # Saturday
    assert not sched.active(at("2026-01-17T13:00:00Z"))
    assert sched.active(at("2026-01-18T16:29:59Z"))  # Sunday
    assert not sched.active(at("2026-01-18T16:30:00Z"))
    assert not sched.active(at("2026-01-19T10:00:00Z"))  # Monday


def test_days_combine_with_bounds() -> None:
    sched = schedule(start="2026-01-17T00:00:00Z", end="2026-01-25T00:00:00Z", days=["sat"])
    assert sched.active(at("2026-01-17T12:00:00Z"))
    assert sched.active(at("2026-01-24T12:00:00Z"))
    assert not sched.active(at("2026-01-31T12:00:00Z"))  # a Saturday, after the end
    assert not sched.active(at("2026-01-10T12:00:00Z"))  # a Saturday, before the start


# -- local dates --------------------------------------------------------------------------------


def test_local_date_in_kiritimati_is_a_day_ahead_of_utc() -> None:
    kiritimati = Schedule(timezone="Pacific/Kiritimati")  # UTC+14
    assert kiritimati.local_date(at("2026-01-01T09:59:59Z")) == date(2026, 1, 1)
    assert kiritimati.local_date(at("2026-01-01T10:00:00Z")) == date(2026, 1, 2)


def test_local_date_in_pago_pago_is_a_day_behind_utc() -> None:
    pago_pago = Schedule(timezone="Pacific/Pago_Pago")  # UTC-11
    assert pago_pago.local_date(at("2026-01-01T10:59:59Z")) == date(2025, 12, 31)
    assert pago_pago.local_date(at("2026-01-01T11:00:00Z")) == date(2026, 1, 1)


def test_one_instant_three_dates() -> None:
    moment = at("2026-01-01T10:30:00Z")
    assert Schedule(timezone="Pacific/Kiritimati").local_date(moment) == date(2026, 1, 2)
    assert ALWAYS.local_date(moment) == date(2026, 1, 1)
    assert Schedule(timezone="Pacific/Pago_Pago").local_date(moment) == date(2025, 12, 31)


def test_local_date_follows_dst() -> None:
    london = Schedule(timezone="Europe/London")
    assert london.local_date(at("2025-07-01T23:30:00Z")) == date(2025, 7, 2)  # 00:30 BST
    assert london.local_date(at("2025-12-01T23:30:00Z")) == date(2025, 12, 1)  # 23:30 GMT


# -- built in code ------------------------------------------------------------------------------


def test_built_in_code_equals_read_from_config() -> None:
    built = Schedule(
        start=SHANGHAI_MIDNIGHT,
        end=None,
        timezone="Asia/Shanghai",
        days={5, 6},
        hours=[[600, 720], (1320, 120)],
    )
    read = schedule(
        start="2026-11-11",
        timezone="Asia/Shanghai",
        days=["sat", "sun"],
        hours=["10:00-12:00", "22:00-02:00"],
    )
    assert built == read
    assert built.hours == ((600, 720), (1320, 120))
    assert built.days == frozenset({5, 6})
    assert hash(built) == hash(read)


def test_schedules_are_frozen() -> None:
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        ALWAYS.start = 0.0  # type: ignore[misc]


def test_repr_hides_the_precomputed_fields() -> None:
    text = repr(schedule(days=["mon"]))
    assert "days=frozenset({0})" in text
    assert "_week" not in text and "_zone" not in text


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"start": 2e9, "end": 2e9}, "end", "after start"),
        ({"start": 2e9, "end": 1e9}, "end", "after start"),
        ({"start": True}, "start", "got bool"),
        ({"end": "2026-01-01"}, "end", "epoch seconds, got str"),
        ({"start": math.nan}, "start", "finite"),
        ({"end": math.inf}, "end", "finite"),
        ({"start": 1_790_000_000_000}, "start", "milliseconds"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone", "unknown time zone"),
        ({"timezone": None}, "timezone", "got NoneType"),
        ({"days": {7}}, "days", "0 (Monday) .. 6 (Sunday)"),
        ({"days": {True}}, "days", "got True"),
        ({"days": {"mon"}}, "days", "got 'mon'"),
        ({"days": 3}, "days", "collection"),
        ({"days": "mon"}, "days", "collection"),
        ({"days": [[1]]}, "days", "collection"),
        ({"hours": 5}, "hours", "sequence"),
        ({"hours": "09:00-17:00"}, "hours", "sequence"),
        ({"hours": [(0, 60), (0,)]}, "hours[1]", "pair"),
        ({"hours": [(0, 60.0)]}, "hours[0]", "integers"),
        ({"hours": [(True, 60)]}, "hours[0]", "integers"),
        ({"hours": [(1440, 60)]}, "hours[0]", "0..1439"),
        ({"hours": [(0, 1441)]}, "hours[0]", "0..1440"),
        ({"hours": [(-1, 60)]}, "hours[0]", "0..1439"),
        ({"hours": [(60, 60)]}, "hours[0]", "empty window"),
    ],
)
def test_invalid_values_built_in_code(kwargs: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as raised:
        Schedule(**kwargs)
    assert raised.value.field == field


# -- configuration errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        ("2026-11-11", "schedule", "expected a table, got str"),
        ([], "schedule", "expected a table, got list"),
        ({"begin": "2026-01-01"}, "schedule.begin", "unknown key"),
        ({"start": 1, "Start": 2}, "schedule.Start", "unknown key"),
        ({1: 2}, "schedule.1", "unknown key"),
        # timezone
        ({"timezone": "Mars/Olympus_Mons"}, "schedule.timezone", "unknown time zone"),
        ({"timezone": ""}, "schedule.timezone", "unknown time zone"),
        ({"timezone": "../../../etc/passwd"}, "schedule.timezone", "unknown time zone"),
        ({"timezone": "/etc/localtime"}, "schedule.timezone", "unknown time zone"),
        ({"timezone": "UTC\x00"}, "schedule.timezone", "unknown time zone"),
        ({"timezone": "x" * 10_000}, "schedule.timezone", "unknown time zone"),
        ({"timezone": 8}, "schedule.timezone", "IANA time zone name, got int"),
        ({"timezone": ["UTC"]}, "schedule.timezone", "got list"),
        # start / end
        ({"start": "tomorrow"}, "schedule.start", "expected ISO-8601"),
        ({"start": "2026-11-11T00:00:00+08"}, "schedule.start", "expected ISO-8601"),
        ({"start": "2026-11-11T00:00:00.1234Z"}, "schedule.start", "expected ISO-8601"),
        ({"start": "20261111T000000"}, "schedule.start", "expected ISO-8601"),
        ({"start": "\uff12\uff10\uff12\uff16-11-11"}, "schedule.start", "expected ISO-8601"),
        ({"start": "2026-11-11T00:00:00Z; DROP TABLE"}, "schedule.start", "expected ISO-8601"),
        ({"start": "2026-02-30"}, "schedule.start", "day is out of range"),
        ({"start": "2026-11-11T25:00:00"}, "schedule.start", "hour must be in 0..23"),
        ({"start": "2026-11-11T00:00:00+24:00"}, "schedule.start", "2026-11-11T00:00:00+24:00"),
        ({"start": "1999-12-31T23:59:59Z"}, "schedule.start", "outside the years 2000..2100"),
        ({"end": "2100-01-02"}, "schedule.end", "outside the years 2000..2100"),
        ({"start": ""}, "schedule.start", "expected ISO-8601"),
        ({"start": True}, "schedule.start", "got bool"),
        ({"end": False}, "schedule.end", "got bool"),
        ({"start": math.nan}, "schedule.start", "finite"),
        ({"start": -math.inf}, "schedule.start", "finite"),
        ({"start": 10**400}, "schedule.start", "milliseconds"),
        ({"start": 1_794_326_400_000}, "schedule.start", "milliseconds"),
        ({"start": time(9, 0)}, "schedule.start", "got time"),
        ({"start": [2026, 11, 11]}, "schedule.start", "got list"),
        ({"start": {"date": "2026-11-11"}}, "schedule.start", "got dict"),
        ({"end": b"2026-11-11"}, "schedule.end", "got bytes"),
        ({"start": "2026-11-12", "end": "2026-11-11"}, "schedule.end", "after start"),
        ({"start": "2026-11-11", "end": "2026-11-11T00:00:00Z"}, "schedule.end", "after start"),
        # days
        ({"days": "mon"}, "schedule.days", "list of day names, got str"),
        ({"days": []}, "schedule.days", "leave `days` out"),
        ({"days": ["mon", "funday"]}, "schedule.days[1]", "got 'funday'"),
        ({"days": ["mon", "tues"]}, "schedule.days[1]", "got 'tues'"),
        ({"days": [0]}, "schedule.days[0]", "got 0"),
        ({"days": [None]}, "schedule.days[0]", "got None"),
        ({"days": ["mon", "Montag"]}, "schedule.days[1]", "got 'Montag'"),
        # hours
        ({"hours": "09:00-17:00"}, "schedule.hours", 'list of "HH:MM-HH:MM", got str'),
        ({"hours": []}, "schedule.hours", "leave `hours` out"),
        ({"hours": ["09:00-17:00", "9-5"]}, "schedule.hours[1]", "got '9-5'"),
        ({"hours": ["09:00"]}, "schedule.hours[0]", "HH:MM-HH:MM"),
        ({"hours": ["09:00-17:00-18:00"]}, "schedule.hours[0]", "HH:MM-HH:MM"),
        ({"hours": [930]}, "schedule.hours[0]", "got 930"),
        ({"hours": [["09:00", "17:00"]]}, "schedule.hours[0]", "HH:MM-HH:MM"),
        (
            {"hours": ["\u0660\u0669:\u0660\u0660-\u0661\u0667:\u0660\u0660"]},
            "schedule.hours[0]",
            "HH:MM-HH:MM",
        ),
        ({"hours": ["25:00-26:00"]}, "schedule.hours[0]", "not a time of day"),
        ({"hours": ["24:00-01:00"]}, "schedule.hours[0]", "not a time of day"),
        ({"hours": ["10:60-11:00"]}, "schedule.hours[0]", "not a time of day"),
        ({"hours": ["10:00-24:30"]}, "schedule.hours[0]", "not a time of day"),
        ({"hours": ["10:00-11:60"]}, "schedule.hours[0]", "not a time of day"),
        ({"hours": ["08:00-09:00", "10:00-10:00"]}, "schedule.hours[1]", "empty window"),
        ({"hours": ["00:00-00:00"]}, "schedule.hours[0]", "empty window"),
    ],
)
def test_config_errors_name_the_field(raw: Any, field: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as raised:
        Schedule.from_dict(raw)
    assert raised.value.field == field
    assert len(str(raised.value)) < 300  # hostile values are shortened in messages


def test_errors_are_prefixed_with_the_given_field() -> None:
    with pytest.raises(ConfigError) as raised:
        Schedule.from_dict({"hours": ["09:00-17:00", "late"]}, field="campaigns[2].schedule")
    assert raised.value.field == "campaigns[2].schedule.hours[1]"
    assert str(raised.value).startswith("campaigns[2].schedule.hours[1]: ")
    with pytest.raises(ConfigError) as raised:
        Schedule.from_dict(5, field="campaigns[2].schedule")  # type: ignore[arg-type]
    assert raised.value.field == "campaigns[2].schedule"


def test_a_window_that_misses_all_its_days_and_hours_is_a_config_error() -> None:
    # 11 November 2026 is a Wednesday: a weekend-only flash sale that day can never show.
    singles_day = {"start": "2026-11-11T00:00:00", "end": "2026-11-12T00:00:00",
                   "timezone": "Asia/Shanghai"}  # fmt: skip
    with pytest.raises(ConfigError, match=r"never live") as raised:
        Schedule.from_dict({**singles_day, "days": ["sat", "sun"]})
    assert raised.value.field == "schedule.days" and "Asia/Shanghai" in str(raised.value)
    with pytest.raises(ConfigError, match=r"schedule\.hours: never live"):
        Schedule.from_dict({"start": "2026-11-11T08:00:00", "end": "2026-11-11T09:00:00",
                            "hours": ["18:00-23:00"]})  # fmt: skip
    # One minute of overlap is enough, at either end of the window.
    assert Schedule.from_dict({**singles_day, "days": ["wed"]}).active(
        datetime(2026, 11, 11, 12, tzinfo=timezone(timedelta(hours=8))).timestamp()
    )
    Schedule.from_dict({"start": "2026-11-11T08:59:00", "end": "2026-11-11T09:30:00",
                        "hours": ["08:00-09:00"]})  # fmt: skip
    Schedule.from_dict({"start": "2026-11-11T00:00:00", "end": "2026-11-11T18:01:00",
                        "hours": ["18:00-23:00"]})  # fmt: skip
    # A week or more holds every day: not checked (and never an error).
    Schedule.from_dict({"start": "2026-11-11T00:00:00", "end": "2026-11-18T00:00:00",
                        "days": ["sun"]})  # fmt: skip


@pytest.mark.parametrize(
    ("zone", "start", "end", "days", "hours"),
    [
        # Troll moves its clocks by two hours: 06:00-07:00 local is reached at 04:00 UTC.
        ("Antarctica/Troll", "2026-03-29T00:00:00+00:00", "2026-03-29T05:00:00+00:00", (),
         ((360, 420),)),
        # Apia skipped Friday 30 December 2011: the Saturday comes a day early.
        ("Pacific/Apia", "2011-12-29T22:00:00", "2011-12-31T02:00:00", (5,), ()),
        ("Asia/Kathmandu", "2026-11-13T23:50:00", "2026-11-14T00:20:00", (4,), ((1430, 10),)),
    ],
)  # fmt: skip
def test_a_window_live_only_across_a_big_clock_change_is_not_refused(
    zone: str, start: str, end: str, days: tuple[int, ...], hours: tuple[tuple[int, int], ...]
) -> None:
    from zoneinfo import ZoneInfo

    def instant(text: str) -> float:
        moment = datetime.fromisoformat(text)
        return (moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(zone))).timestamp()

    lower, upper = instant(start), instant(end)
    schedule = Schedule(lower, upper, zone, frozenset(days), hours)  # loads
    assert any(schedule.active(t) for t in range(int(lower), int(upper), 60))
