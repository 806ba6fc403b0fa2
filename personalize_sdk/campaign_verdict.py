"""`CampaignVerdict`: why a campaign shows on a page, or why not, in words (pure).

`Personalizer.explain_widgets(visitor_id, page)` gives one per enabled campaign of the config, by
slot and priority as the decision takes them: shown, or the first thing that kept it away (its
schedule, a rule of its audience, a frequency cap, nothing to show, a failure to build it,
another campaign first in its slot). A shop developer asks it when a campaign does not appear.
"""

from __future__ import annotations

import attrs

from .campaign import Campaign
from .page import Page
from .profile import Profile

SHOWN = "shown"


@attrs.frozen(kw_only=True)
class CampaignVerdict:
    campaign_id: str
    slot: str
    shown: bool
    """True when this campaign fills its slot on this page (the holdout's empty widget too)."""
    reason: str
    """``"shown"`` or a code: ``"schedule"``, ``"audience.<rule>"``, ``"caps.<cap>"``,
    ``"nothing_to_show"``, ``"error"`` (its copy or the catalog raised; `widgets()` skips it),
    ``"slot_taken"``."""
    detail: str
    """The reason in words, with the values that decided it."""
    variant: str | None = None
    """The shopper's variant (``"control"`` in the holdout), for a campaign that got that far."""

    def __str__(self) -> str:
        mark = "+" if self.shown else "-"
        return f"{mark} {self.slot}: {self.campaign_id}: {self.detail}"


def detail_of(
    reason: str,
    campaign: Campaign,
    page: Page,
    profile: Profile,
    segments: frozenset[str],
    winner: str | None = None,
    failure: Exception | None = None,
) -> str:
    """`reason` in words, for this campaign on this page and shopper."""
    audience = campaign.audience
    if reason == SHOWN:
        return "shown"
    if reason == "error":
        return f"its widget failed to build: {type(failure).__name__}: {failure}"
    if reason == "schedule":
        return "not live now: outside its schedule"
    if reason == "nothing_to_show":
        return "nothing to show (e.g. no products for the strip, or its copy rendered empty)"
    if reason == "slot_taken":
        return f"its slot went to {winner!r}, first by priority"
    words = {
        "audience.page_types": lambda: (
            f"page type {page.type!r} is not one of {sorted(audience.page_types)}"
        ),
        "audience.paths": lambda: f"path {page.path!r} matches none of {list(audience.paths)}",
        "audience.devices": lambda: (
            f"device {page.device!r} is not one of {sorted(audience.devices)}"
        ),
        "audience.visitor": lambda: (
            f"for {audience.visitor} visitors only "
            f"(this shopper has had {profile.sessions} session(s))"
        ),
        "audience.segments_any": lambda: f"in none of {sorted(audience.segments_any)}",
        "audience.segments_all": lambda: (
            f"not in {sorted(audience.segments_all - segments)} (segments_all)"
        ),
        "audience.segments_none": lambda: (
            f"in {sorted(audience.segments_none & segments)} (segments_none)"
        ),
        "audience.geo": lambda: "not within its geofence (or no location known)",
        "audience.condition": lambda: "its audience condition is false for this shopper",
        "caps.lifetime": lambda: f"its lifetime cap ({campaign.caps.lifetime}) is reached",
        "caps.after_dismiss": lambda: (
            f"dismissed (after_dismiss = {campaign.caps.after_dismiss!r})"
        ),
        "caps.after_conversion": lambda: (
            f"converted (after_conversion = {campaign.caps.after_conversion!r})"
        ),
        "caps.per_session": lambda: (
            f"its per_session cap ({campaign.caps.per_session}) is reached this session"
        ),
        "caps.per_day": lambda: f"its per_day cap ({campaign.caps.per_day}) is reached today",
    }
    found = words.get(reason)
    return found() if found is not None else reason
