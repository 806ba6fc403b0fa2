"""Which campaigns may show on a page, in what order, in which variant (C1-C4): pure.

`CampaignIndex` groups campaigns by slot and page type once, at config load, each group sorted
by priority, so a decision looks only at the campaigns that could apply to this slot on this
kind of page, best first, and stops at the first one that `ineligible` lets through and has
something to show.
With many campaigns the cost grows with the campaigns of one slot and page type, not with all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timezone

from .audience import View
from .campaign import CONTROL, Campaign
from .copy import VariedCopy
from .exposure import Exposure
from .page import Page
from .profile import Profile

ANY_PAGE = "*"


def _reads_segments(campaign: Campaign) -> bool:
    audience = campaign.audience
    if audience.segments_any or audience.segments_all or audience.segments_none:
        return True
    if audience.condition is not None:  # a condition may read "segments" (conservative)
        return True
    return any(
        _copy_reads_segments(value) for v in campaign.variants for value in v.content.values()
    )


def _copy_reads_segments(value: object) -> bool:
    """Copy templates know the names they read; tables and lists may hold copy too."""
    names = getattr(value, "names", None)
    if isinstance(names, frozenset):
        return "segments" in names
    if isinstance(value, VariedCopy):
        return any(map(_copy_reads_segments, (value.default, *value.by_category.values())))
    if isinstance(value, Mapping):
        return any(map(_copy_reads_segments, value.values()))
    if isinstance(value, (list, tuple)):
        return any(map(_copy_reads_segments, value))
    return False


class CampaignIndex:
    """Campaigns by slot, then page type; every list sorted by priority (highest first, then id).

    A campaign without `page_types` is listed under every page type (and under `ANY_PAGE`, for
    page types no campaign names).
    """

    def __init__(self, campaigns: Iterable[Campaign]) -> None:
        self.campaigns: tuple[Campaign, ...] = tuple(c for c in campaigns if c.enabled)
        self.by_id: Mapping[str, Campaign] = {c.id: c for c in self.campaigns}
        ranked = sorted(self.campaigns, key=lambda c: (-c.priority, c.id))
        slots: dict[str, dict[str, list[Campaign]]] = {}
        page_types = {t for c in ranked for t in c.audience.page_types}
        for campaign in ranked:
            by_page = slots.setdefault(campaign.slot, {})
            for page_type in campaign.audience.page_types or (*page_types, ANY_PAGE):
                by_page.setdefault(page_type, []).append(campaign)
        self._slots: Mapping[str, Mapping[str, tuple[Campaign, ...]]] = {
            slot: {page_type: tuple(found) for page_type, found in by_page.items()}
            for slot, by_page in slots.items()
        }
        self.slots: tuple[str, ...] = tuple(sorted(self._slots))
        self._in_slot: Mapping[str, tuple[Campaign, ...]] = {
            slot: tuple(c for c in ranked if c.slot == slot) for slot in self.slots
        }
        self.uses_popularity = any(c.kind == "recommendations" for c in self.campaigns)
        self.reads_segments = any(_reads_segments(c) for c in self.campaigns)
        """Does any campaign target segments or show them in its copy? If none does, a page
        needs no segment evaluation at all (the facade then skips it)."""

    def candidates(self, slot: str, page_type: str) -> tuple[Campaign, ...]:
        by_page = self._slots.get(slot)
        if by_page is None:
            return ()
        found = by_page.get(page_type)
        return by_page.get(ANY_PAGE, ()) if found is None else found

    def in_slot(self, slot: str) -> tuple[Campaign, ...]:
        """The slot's campaigns on every page type, by priority."""
        return self._in_slot.get(slot, ())

    def __len__(self) -> int:
        return len(self.campaigns)


def ineligible(
    campaign: Campaign,
    profile: Profile,
    segments: frozenset[str],
    page: Page,
    now: float,
    view: View,
    session_timeout: float,
) -> str | None:
    """Why the campaign may not show now, for this shopper on this page (``"schedule"``,
    ``"audience.<rule>"``, ``"caps.<cap>"``), or None when it may."""
    schedule = campaign.schedule
    if schedule is not None and not schedule.active(now):
        return "schedule"
    unmet = campaign.audience.unmet(profile, segments, page, view)
    if unmet is not None:
        return "audience." + unmet
    caps = campaign.caps
    if caps.unlimited:
        return None
    local_date = schedule.local_date if schedule is not None else _utc_date
    blocking = caps.blocking(
        profile.exposures.get(campaign.id), profile.session, now, session_timeout, local_date
    )
    return None if blocking is None else "caps." + blocking


def variant_for(campaign: Campaign, profile: Profile) -> str:
    """The shopper's variant: the one they were shown before (sticky through logins and config
    changes that keep it), else the deterministic assignment of their id."""
    kept = sticky_variant(campaign, profile.exposures.get(campaign.id))
    return kept if kept is not None else campaign.assign(assignment_unit(profile))


def sticky_variant(campaign: Campaign, exposure: Exposure | None) -> str | None:
    """The variant the shopper was shown, while the campaign still has it; None when they were
    shown none, or one a config change removed (the holdout's control, once there is none)."""
    if exposure is None:
        return None
    if (exposure.variant == CONTROL and campaign.holdout) or campaign.variant(exposure.variant):
        return exposure.variant
    return None


def assignment_unit(profile: Profile) -> str:
    """Customers are bucketed by user id (the same on every device), visitors by visitor id."""
    return profile.user_id or profile.visitor_id or ""


def _utc_date(now: float) -> date:
    return datetime.fromtimestamp(now, timezone.utc).date()
