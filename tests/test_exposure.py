"""Exposure records: folded from widget events by the reducer, merged at login, bounded."""

from __future__ import annotations

from personalize_sdk import Settings
from personalize_sdk import events as ev
from personalize_sdk.events import Event
from personalize_sdk.exposure import MAX_CAMPAIGNS, MAX_RECENT_SHOWS, Exposure, merge_exposures
from personalize_sdk.identity import merge
from personalize_sdk.profile import Profile
from personalize_sdk.reducer import reduce
from tests.helpers import DAY, MINUTE, T0

SETTINGS = Settings()


def fold(profile: Profile, name: str, ts: float, **props: object) -> Profile:
    return reduce(profile, Event("v1", name, props, ts, f"m{ts}"), SETTINGS)


def shown(profile: Profile, ts: float, campaign: str = "c", variant: str = "a") -> Profile:
    return fold(profile, ev.WIDGET_SHOWN, ts, campaign_id=campaign, variant=variant)


def test_shows_clicks_and_dismissals_are_recorded() -> None:
    p = Profile(visitor_id="v1")
    p = shown(p, T0)
    p = shown(p, T0 + MINUTE)
    p = fold(p, ev.WIDGET_CLICKED, T0 + 2 * MINUTE, campaign_id="c", variant="a")
    p = fold(p, ev.WIDGET_DISMISSED, T0 + 3 * MINUTE, campaign_id="c", variant="a")
    assert p.exposures["c"] == Exposure(
        variant="a",
        shown=2,
        first_shown=T0,
        last_shown=T0 + MINUTE,
        recent=(T0 + MINUTE, T0),
        clicked_at=T0 + 2 * MINUTE,
        dismissed_at=T0 + 3 * MINUTE,
        issued_to="v:v1",
    )


def test_a_show_of_another_variant_takes_its_place_unless_it_is_older() -> None:
    """The beacon admits another variant than the recorded one only when a config change
    removed that one: the record follows the variant shown now, with its history."""
    p = shown(Profile(visitor_id="v1"), T0, variant="old")
    p = fold(p, ev.WIDGET_DISMISSED, T0 + MINUTE, campaign_id="c", variant="old")
    p = shown(p, T0 + 2 * MINUTE, variant="new")
    assert p.exposures["c"].variant == "new"
    assert p.exposures["c"].shown == 2 and p.exposures["c"].dismissed_at == T0 + MINUTE
    late = shown(p, T0 + MINUTE / 2, variant="old")  # delivered late: older than the last show
    assert late.exposures["c"].variant == "new" and late.exposures["c"].shown == 3


def test_widget_events_without_a_campaign_change_nothing_but_counters() -> None:
    p = Profile(visitor_id="v1")
    for props in ({}, {"campaign_id": 5, "variant": "a"}, {"campaign_id": "c", "variant": ""},
                  {"campaign_id": "c"}, {"campaign_id": "x" * 300, "variant": "a"}):  # fmt: skip
        p = reduce(p, Event("v1", ev.WIDGET_SHOWN, props, T0, "m"), SETTINGS)
    assert p.exposures == {}
    assert p.counters[ev.WIDGET_SHOWN] == 5


def test_recent_shows_and_campaigns_are_bounded() -> None:
    p = Profile(visitor_id="v1")
    for i in range(MAX_RECENT_SHOWS + 5):
        p = shown(p, T0 + i)
    assert p.exposures["c"].shown == MAX_RECENT_SHOWS + 5
    assert len(p.exposures["c"].recent) == MAX_RECENT_SHOWS
    assert p.exposures["c"].recent[0] == T0 + MAX_RECENT_SHOWS + 4
    for i in range(MAX_CAMPAIGNS + 3):
        p = shown(p, T0 + 100 + i, campaign=f"k{i}")
    assert len(p.exposures) == MAX_CAMPAIGNS
    assert "c" not in p.exposures and "k0" not in p.exposures  # the longest ago go first


def test_an_order_converts_campaigns_shown_within_the_window() -> None:
    p = shown(Profile(visitor_id="v1"), T0, campaign="recent")
    p = shown(p, T0 - 10 * DAY, campaign="old")
    p = fold(p, ev.ORDER_COMPLETED, T0 + DAY, order_id="o1", total=10.0)
    assert p.exposures["recent"].converted_at == T0 + DAY
    assert p.exposures["old"].converted_at is None
    again = fold(p, ev.ORDER_COMPLETED, T0 + 2 * DAY, order_id="o2", total=10.0)
    assert again.exposures["recent"].converted_at == T0 + 2 * DAY  # the latest, for caps


def test_an_order_before_the_first_show_is_not_a_conversion() -> None:
    p = shown(Profile(visitor_id="v1"), T0)
    p = fold(p, ev.ORDER_COMPLETED, T0 - MINUTE, order_id="late", total=10.0)  # delivered late
    assert p.exposures["c"].converted_at is None


def test_login_merge_adds_counts_and_keeps_the_first_variant() -> None:
    customer = shown(Profile(user_id="u1", origin="cu"), T0 + DAY, variant="b")
    visitor = shown(Profile(visitor_id="v1", origin="vi"), T0, variant="a")
    visitor = shown(visitor, T0 + MINUTE, campaign="other")
    merged = merge(customer, visitor, SETTINGS)
    assert merged.exposures["c"].variant == "a"
    assert merged.exposures["c"].shown == 2
    assert merged.exposures["c"].recent == (T0 + DAY, T0)
    assert merged.exposures["other"].shown == 1
    assert merge(merged, visitor, SETTINGS).exposures == merged.exposures  # idempotent


def test_merging_keeps_the_latest_dismissal_and_conversion() -> None:
    a = Exposure("a", 1, T0, T0, (T0,), dismissed_at=T0 + 5, converted_at=T0 + 9)
    b = Exposure("a", 1, T0 + 1, T0 + 1, (T0 + 1,), dismissed_at=T0 + 7, converted_at=T0 + 8)
    merged = merge_exposures({"c": a}, {"c": b})["c"]
    assert (merged.dismissed_at, merged.converted_at) == (T0 + 7, T0 + 9)


def test_a_late_order_is_attributed_only_to_shows_before_it() -> None:
    p = shown(Profile(visitor_id="v1"), T0)
    p = shown(p, T0 + 20 * DAY)
    p = fold(p, ev.ORDER_COMPLETED, T0 + 10 * DAY, order_id="late", total=10.0)
    assert p.exposures["c"].converted_at is None  # 10 days after one show, before the other
    p = fold(p, ev.ORDER_COMPLETED, T0 + 3 * DAY, order_id="later", total=10.0)
    assert p.exposures["c"].converted_at == T0 + 3 * DAY


def test_a_recent_dismissal_outlives_older_shows_when_campaigns_are_evicted() -> None:
    p = shown(Profile(visitor_id="v1"), T0, campaign="dismissed")
    p = fold(p, ev.WIDGET_DISMISSED, T0 + DAY, campaign_id="dismissed", variant="a")
    for i in range(MAX_CAMPAIGNS - 1):
        p = shown(p, T0 + 1 + i, campaign=f"k{i}")  # shown after the first show...
    p = shown(p, T0 + 2 * DAY, campaign="one-more")  # ...and one more: someone must go
    assert "dismissed" in p.exposures  # ...but before the dismissal
    assert "k0" not in p.exposures
