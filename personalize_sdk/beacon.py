"""Widget interactions reported by the browser (E4): parsing and checking a beacon, pure.

The browser script posts ``{"events": [{"type": "shown", "campaign": ..., "variant": ...,
"kind": ..., "slot": ..., "path": ...}, ...]}`` (see docs/markup.md). The payload comes from the
open internet, so everything is bounded and checked: the body's size, the number of events, each
field's type and length, that the campaign exists and is of that kind, and that the variant is
one this shopper may have been shown (a shopper can only report on themselves, and cannot skew an
A/B test by claiming another variant). Each accepted entry becomes an event for `track()`.
`Personalizer.beacon` is the framework-neutral entry point the integrations mount.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from . import events as ev
from ._exceptions import InvalidEvent
from .campaign import Campaign

MAX_BODY_BYTES = 16 * 1024
MAX_EVENTS = 20
MAX_PATH = 2048
SHOWN_GRACE_SECONDS = 600.0
"""A page rendered just before a campaign ended may report it shown this long after."""

EVENT_NAMES: Mapping[str, str] = {
    "shown": ev.WIDGET_SHOWN,
    "clicked": ev.WIDGET_CLICKED,
    "dismissed": ev.WIDGET_DISMISSED,
    "coupon_copied": ev.COUPON_COPIED,
    "survey_answered": ev.EXIT_SURVEY_ANSWERED,
}
_FIELDS = frozenset({"type", "campaign", "variant", "kind", "slot", "path", "answer"})


@attrs.frozen
class BeaconResult:
    accepted: int = 0
    rejected: tuple[str, ...] = ()
    """Why each rejected entry was refused (``"events[2].variant: ..."``)."""

    @property
    def ok(self) -> bool:
        return not self.rejected


@attrs.frozen
class Interaction:
    """One accepted beacon entry, ready for `track()`."""

    event: str
    properties: Mapping[str, Any]
    path: str | None


def parse_body(body: bytes | str | Mapping[str, Any]) -> list[Any]:
    """The beacon's entries; `InvalidEvent` when the body itself is unusable."""
    if isinstance(body, Mapping):
        payload: Any = body
    else:
        if isinstance(body, str):
            body = body.encode("utf-8", "surrogatepass")
        if not isinstance(body, (bytes, bytearray)):
            raise InvalidEvent(
                f"expected bytes, text or a mapping, got {type(body).__name__}",
                field="body",
                kind="type",
            )
        if len(body) > MAX_BODY_BYTES:
            raise InvalidEvent(
                f"a beacon is at most {MAX_BODY_BYTES} bytes, got {len(body)}",
                field="body",
                kind="too_large",
            )
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise InvalidEvent("not valid JSON", field="body", kind="malformed") from None
    if isinstance(payload, Mapping) and "events" in payload:
        entries = payload["events"]
    else:
        entries = [payload]  # a single entry is accepted as is
    if not isinstance(entries, list):
        raise InvalidEvent("events must be a list", field="events", kind="type")
    if len(entries) > MAX_EVENTS:
        raise InvalidEvent(
            f"at most {MAX_EVENTS} events per beacon, got {len(entries)}",
            field="events",
            kind="too_large",
        )
    return entries


def check_entry(
    entry: Any,
    campaigns: Mapping[str, Campaign],
    may_have_seen: Callable[[Campaign, str], bool],
    now: float,
) -> Interaction:
    """One entry as an `Interaction`; `InvalidEvent` (field relative to the entry) if not.

    A `shown` must be of a campaign live now, or minutes ago (the page was rendered while it
    was): a report of a campaign that ended last year is a replay or a forgery.
    """
    if not isinstance(entry, Mapping):
        raise InvalidEvent("expected an object", field="", kind="type")
    unknown = sorted(str(key) for key in entry if key not in _FIELDS)
    if unknown:
        raise InvalidEvent("unknown field", field=unknown[0][:50], kind="unknown_field")
    kind_of_event = entry.get("type")
    event = EVENT_NAMES.get(kind_of_event) if isinstance(kind_of_event, str) else None
    if event is None:
        raise InvalidEvent(f"type must be one of {sorted(EVENT_NAMES)}", field="type", kind="type")
    campaign_id = entry.get("campaign")
    campaign = campaigns.get(campaign_id) if isinstance(campaign_id, str) else None
    if campaign is None:
        raise InvalidEvent("no such campaign", field="campaign", kind="unknown_campaign")
    if entry.get("kind", campaign.kind) != campaign.kind:
        raise InvalidEvent(f"campaign is a {campaign.kind}", field="kind", kind="mismatch")
    variant = entry.get("variant")
    if not isinstance(variant, str) or variant not in campaign.variant_ids:
        raise InvalidEvent("no such variant", field="variant", kind="unknown_variant")
    if not may_have_seen(campaign, variant):
        raise InvalidEvent(
            "this shopper is not in that variant", field="variant", kind="wrong_variant"
        )
    schedule = campaign.schedule
    if (
        event == ev.WIDGET_SHOWN
        and schedule is not None
        and not (schedule.active(now) or schedule.active(now - SHOWN_GRACE_SECONDS))
    ):
        raise InvalidEvent("the campaign is not live", field="campaign", kind="not_live")
    path = entry.get("path")
    if path is not None and (not isinstance(path, str) or len(path) > MAX_PATH):
        raise InvalidEvent(f"expected a path of at most {MAX_PATH} characters", field="path")
    properties: dict[str, Any] = {
        "campaign_id": campaign.id,
        "variant": variant,
        "kind": campaign.kind,
        "slot": campaign.slot,
    }
    if event == ev.EXIT_SURVEY_ANSWERED:
        answer = entry.get("answer")
        allowed = _survey_answers(campaign, variant)
        if not isinstance(answer, str) or answer not in allowed:
            raise InvalidEvent("not one of the survey's options", field="answer", kind="value")
        properties["answer"] = answer
    return Interaction(event, properties, path)


def _survey_answers(campaign: Campaign, variant_id: str) -> frozenset[str]:
    variant = campaign.variant(variant_id)
    survey = None if variant is None else variant.content.get("survey")
    return frozenset() if survey is None else survey.values
