"""What a shopper has seen of each campaign: exposures, clicks, dismissals and conversions.

The browser reports a widget shown, clicked or dismissed (E4) through the beacon, which tracks
`Widget Shown` / `Widget Clicked` / `Widget Dismissed` / `Coupon Copied` events; the reducer
folds them into `Profile.exposures` with the functions here. Frequency caps read these records,
so caps count what a shopper actually saw, and because they live in the profile they follow the
shopper across devices once logged in (they are merged like the rest of the profile).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

MAX_CAMPAIGNS = 100
"""Campaigns remembered per profile; the one the shopper did anything with (saw, clicked,
dismissed, bought after) longest ago is forgotten first."""
MAX_RECENT_SHOWS = 20
"""Show times kept per campaign: enough for any per-session or per-day cap (capped to this)."""
MAX_VARIANT_LENGTH = 100


class Exposure(NamedTuple):
    """One shopper's history with one campaign."""

    variant: str
    """The variant the shopper was shown (sticky: later decisions keep it)."""
    shown: int = 0
    """Times shown, lifetime."""
    first_shown: float | None = None
    last_shown: float | None = None
    recent: tuple[float, ...] = ()
    """The latest show times, newest first, at most `MAX_RECENT_SHOWS`."""
    clicked_at: float | None = None
    dismissed_at: float | None = None
    converted_at: float | None = None
    """The latest order attributed to this campaign (completed within the attribution window
    after the shopper was last shown it)."""
    issued_to: str | None = None
    """The shopper's profile key at the first show: a unique coupon stays issued to it, so the
    code a visitor was shown is still theirs after they log in."""


def campaign_of(props: Mapping[str, Any]) -> tuple[str, str] | None:
    """(campaign id, variant) named by a widget event's properties, or None."""
    campaign = props.get("campaign_id")
    variant = props.get("variant")
    if type(campaign) is not str or not campaign or len(campaign) > 255:
        return None
    if type(variant) is not str or not variant or len(variant) > MAX_VARIANT_LENGTH:
        return None
    return campaign, variant


def shown(exposure: Exposure | None, variant: str, ts: float) -> Exposure:
    """One more show. The record takes the variant shown: the beacon admits another one than
    the recorded only when a config change removed that one, and later pages show the new one
    (the caps, dismissals and conversions are the campaign's and carry over)."""
    if exposure is None:
        return Exposure(variant, 1, ts, ts, (ts,))
    recent = tuple(sorted((ts, *exposure.recent), reverse=True)[:MAX_RECENT_SHOWS])
    latest = exposure.last_shown is None or ts >= exposure.last_shown  # not a late old show
    return exposure._replace(
        variant=variant if latest else exposure.variant,
        shown=exposure.shown + 1,
        first_shown=ts if exposure.first_shown is None else min(exposure.first_shown, ts),
        last_shown=ts if exposure.last_shown is None else max(exposure.last_shown, ts),
        recent=recent,
    )


def clicked(exposure: Exposure | None, variant: str, ts: float) -> Exposure:
    exposure = exposure or Exposure(variant)
    return exposure._replace(clicked_at=_latest(exposure.clicked_at, ts))


def dismissed(exposure: Exposure | None, variant: str, ts: float) -> Exposure:
    exposure = exposure or Exposure(variant)
    return exposure._replace(dismissed_at=_latest(exposure.dismissed_at, ts))


def converted(
    exposures: Mapping[str, Exposure], ts: float, window: float
) -> Mapping[str, Exposure]:
    """Mark the campaigns shown within `window` seconds before an order at `ts` as converted.

    Only shows at or before the order count: an order delivered late is not attributed to a
    show that came after it.
    """
    changed = None
    for campaign, exposure in exposures.items():
        last = _last_show_before(exposure, ts)
        if (
            last is not None
            and ts - last <= window
            and (exposure.converted_at is None or ts > exposure.converted_at)
        ):
            if changed is None:
                changed = dict(exposures)
            changed[campaign] = exposure._replace(converted_at=ts)
    return exposures if changed is None else changed


def _last_show_before(exposure: Exposure, ts: float) -> float | None:
    if exposure.last_shown is not None and exposure.last_shown <= ts:
        return exposure.last_shown
    # `recent` is newest first: the first one at or before the order
    return next((t for t in exposure.recent if t <= ts), None)


def _activity(exposure: Exposure) -> float:
    """When the shopper last did anything with the campaign: what eviction goes by, so a
    recent dismissal or conversion is kept as long as a recent show."""
    return max(
        exposure.last_shown or 0.0,
        exposure.dismissed_at or 0.0,
        exposure.converted_at or 0.0,
        exposure.clicked_at or 0.0,
    )


def with_exposure(
    exposures: Mapping[str, Exposure], campaign: str, exposure: Exposure
) -> dict[str, Exposure]:
    """`exposures` with `campaign`'s record replaced, bounded to `MAX_CAMPAIGNS`."""
    updated = dict(exposures)
    updated[campaign] = exposure
    if len(updated) > MAX_CAMPAIGNS:
        del updated[min(updated, key=lambda c: _activity(updated[c]))]
    return updated


def merge_exposures(a: Mapping[str, Exposure], b: Mapping[str, Exposure]) -> Mapping[str, Exposure]:
    """Both shoppers' records (login merge): counts add up, the earliest variant shown wins."""
    if not b:
        return a
    if not a:
        return b
    merged = dict(a)
    for campaign, theirs in b.items():
        ours = merged.get(campaign)
        merged[campaign] = theirs if ours is None else _merge_one(ours, theirs)
    while len(merged) > MAX_CAMPAIGNS:
        del merged[min(merged, key=lambda c: _activity(merged[c]))]
    return merged


def _merge_one(a: Exposure, b: Exposure) -> Exposure:
    first = a if (a.first_shown or float("inf")) <= (b.first_shown or float("inf")) else b
    return Exposure(
        variant=first.variant,
        shown=a.shown + b.shown,
        first_shown=_earliest(a.first_shown, b.first_shown),
        last_shown=_latest(a.last_shown, b.last_shown),
        recent=tuple(sorted((*a.recent, *b.recent), reverse=True)[:MAX_RECENT_SHOWS]),
        clicked_at=_latest(a.clicked_at, b.clicked_at),
        dismissed_at=_latest(a.dismissed_at, b.dismissed_at),
        converted_at=_latest(a.converted_at, b.converted_at),
        issued_to=first.issued_to or (b if first is a else a).issued_to,
    )


def _latest(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


def _earliest(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)
