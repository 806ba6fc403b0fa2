"""The beacon: widget interactions reported by the browser, checked before they count (E4, E5)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from personalize_sdk import Personalizer
from personalize_sdk import events as ev
from personalize_sdk.beacon import MAX_BODY_BYTES, MAX_EVENTS
from tests.helpers import Clock
from tests.widget_helpers import HOME, SECRET, bar, report, shop

EXIT = {
    "id": "exit",
    "kind": "exit_intent",
    "title": "Wait",
    "survey": {"question": "Why?", "options": ["Too expensive", "Just looking"]},
}


def entry(**fields: Any) -> dict[str, Any]:
    return {"type": "shown", "campaign": "bar", "variant": "default", "kind": "hello_bar", **fields}


def body(*entries: dict[str, Any]) -> str:
    return json.dumps({"events": list(entries)})


def test_each_interaction_becomes_an_event_on_the_shopper(clock: Clock) -> None:
    pz = shop(clock, bar(), EXIT)
    result = pz.beacon(
        "v1",
        body(
            entry(path="/p/1"),
            entry(type="clicked"),
            entry(type="coupon_copied"),
            entry(type="dismissed"),
            entry(
                type="survey_answered", campaign="exit", kind="exit_intent", answer="too_expensive"
            ),
        ),
    )
    assert result.ok and result.accepted == 5
    profile = pz.profile("v1")
    for name in (ev.WIDGET_SHOWN, ev.WIDGET_CLICKED, ev.COUPON_COPIED, ev.WIDGET_DISMISSED,
                 ev.EXIT_SURVEY_ANSWERED):  # fmt: skip
        assert profile.counters[name] == 1
    exposure = profile.exposures["bar"]
    assert exposure.shown == 1
    assert exposure.clicked_at == exposure.dismissed_at == clock.now


def test_a_single_entry_and_bytes_and_mappings_are_accepted(clock: Clock) -> None:
    pz = shop(clock, bar())
    assert pz.beacon("v1", json.dumps(entry()).encode()).accepted == 1
    assert pz.beacon("v1", {"events": [entry()]}).accepted == 1
    assert pz.profile("v1").exposures["bar"].shown == 2


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (entry(type="hovered"), "events[0].type"),
        (entry(campaign="nope"), "events[0].campaign"),
        (entry(campaign=["bar"]), "events[0].campaign"),
        (entry(kind="side_coupon"), "events[0].kind"),
        (entry(variant="b"), "events[0].variant"),
        (entry(variant=None), "events[0].variant"),
        (entry(path="/" * 5000), "events[0].path"),
        (entry(extra=1), "events[0].extra"),
        ("shown", "events[0].: expected an object"),
        (
            entry(type="survey_answered", campaign="exit", kind="exit_intent", answer="<b>"),
            "events[0].answer",
        ),
    ],
)
def test_bad_entries_are_refused_one_by_one(clock: Clock, bad: Any, reason: str) -> None:
    pz = shop(clock, bar(), EXIT)
    result = pz.beacon("v1", body(bad, entry()))
    assert result.accepted == 1
    assert len(result.rejected) == 1 and result.rejected[0].startswith(reason), result.rejected
    assert pz.profile("v1").exposures["bar"].shown == 1
    assert sum(v for k, v in pz.stats().items() if k.startswith("invalid.beacon.")) == 1


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"\xff\xfe",
        "x" * (MAX_BODY_BYTES + 1),
        body(*[entry()] * (MAX_EVENTS + 1)),
        json.dumps({"events": "shown"}),
        12,
    ],
)
def test_unusable_bodies_record_nothing_and_never_raise(clock: Clock, raw: Any) -> None:
    pz = Personalizer({"campaigns": [bar()]}, clock=clock, secret=SECRET)
    result = pz.beacon("v1", raw)
    assert result.accepted == 0 and not result.ok
    assert pz.profile("v1").exposures == {}


def test_a_shopper_cannot_claim_a_variant_they_are_not_in(clock: Clock) -> None:
    pz = shop(clock, bar("ab", variants=[{"id": "a"}, {"id": "b"}]))
    mine = pz.widgets("v1", HOME)[0].variant
    other = "b" if mine == "a" else "a"
    wrong = pz.beacon("v1", body(entry(campaign="ab", variant=other)))
    assert wrong.rejected and "not in that variant" in wrong.rejected[0]
    assert pz.beacon("v1", body(entry(campaign="ab", variant=mine))).ok


def test_a_page_rendered_before_login_still_reports_after_it(clock: Clock) -> None:
    pz = shop(clock, bar("ab", variants=[{"id": "a"}, {"id": "b"}]))
    for i in range(200):
        visitor, user = f"v{i}", f"u{i}"
        before = pz.widgets(visitor, HOME)[0].variant
        if before != pz.widgets(None, HOME, user_id=user)[0].variant:
            break
    pz.identify(visitor, user_id=user)  # logged in while the page was open
    assert pz.beacon(visitor, body(entry(campaign="ab", variant=before))).ok
    assert pz.profile(visitor).exposures["ab"].variant == before


def test_one_beacon_reports_each_thing_once(clock: Clock) -> None:
    pz = shop(clock, bar())
    result = pz.beacon("v1", body(entry(type="clicked"), entry(type="clicked"), entry()))
    assert result.accepted == 2 and result.rejected[0].startswith("events[1].type")
    assert pz.profile("v1").counters[ev.WIDGET_CLICKED] == 1


def test_shown_is_refused_for_a_campaign_that_is_not_live(clock: Clock) -> None:
    ended = bar("ended", schedule={"start": clock.now - 86_400, "end": clock.now - 300})
    gone = bar("gone", slot="b", schedule={"start": clock.now - 86_400, "end": clock.now - 3600})
    pz = shop(clock, ended, gone)
    # rendered just before the end, reported minutes after it: accepted
    assert pz.beacon("v1", body(entry(campaign="ended"))).ok
    late = pz.beacon("v1", body(entry(campaign="gone")))
    assert late.rejected and "not live" in late.rejected[0]


def test_once_shown_only_that_variant_is_accepted_even_after_login(clock: Clock) -> None:
    pz = shop(clock, bar("ab", holdout=0.5, variants=[{"id": "a"}]))
    for i in range(200):
        visitor, user = f"v{i}", f"u{i}"
        as_visitor = pz.widgets(visitor, HOME)[0].variant
        if as_visitor == "control" and pz.widgets(None, HOME, user_id=user)[0].variant == "a":
            break
    else:
        pytest.fail("no control visitor whose customer id is bucketed in 'a'")
    assert pz.beacon(visitor, body(entry(campaign="ab", variant="control"))).ok
    pz.identify(visitor, user_id=user)
    claimed = pz.beacon(visitor, body(entry(campaign="ab", variant="a", type="clicked")))
    assert claimed.rejected and "not in that variant" in claimed.rejected[0]


def test_after_a_config_change_drops_their_variant_the_new_one_reports_and_caps(
    clock: Clock,
) -> None:
    """A shopper shown variant `old` sees `new-a` or `new-b` once the config replaces it: the
    beacon takes what the page shows, so the campaign's caps and dismissals keep working."""
    caps = {"per_session": 1, "after_dismiss": "never"}
    pz = shop(clock, bar(variants=[{"id": "old"}], caps=caps))
    report(pz, "v1", pz.widgets("v1", HOME)[0])
    pz.apply_config({"campaigns": [bar(variants=[{"id": "new-a"}, {"id": "new-b"}], caps=caps)]})
    clock.advance(3600)  # a new session: the per-session cap lets it show once more
    widget = pz.widgets("v1", HOME)[0]
    assert widget.variant in ("new-a", "new-b")
    report(pz, "v1", widget)
    assert pz.profile("v1").exposures["bar"].variant == widget.variant
    assert pz.widgets("v1", HOME) == []  # shown once this session
    clock.advance(3600)
    assert pz.widgets("v1", HOME)[0].variant == widget.variant
    report(pz, "v1", widget, "dismissed")
    clock.advance(3600)
    assert pz.widgets("v1", HOME) == []  # never again after a dismissal
    stale = pz.beacon("v1", body(entry(variant="old", type="clicked")))
    assert stale.rejected and "no such variant" in stale.rejected[0]


def test_a_control_shopper_reports_the_variant_shown_once_the_holdout_ends(clock: Clock) -> None:
    pz = shop(clock, bar(holdout=0.5, variants=[{"id": "a"}]))
    visitor = next(f"v{i}" for i in range(200) if pz.widgets(f"v{i}", HOME)[0].variant == "control")
    report(pz, visitor, pz.widgets(visitor, HOME)[0])
    pz.apply_config({"campaigns": [bar(variants=[{"id": "a"}])]})
    widget = pz.widgets(visitor, HOME)[0]
    assert widget.variant == "a"
    report(pz, visitor, widget, "dismissed")
    assert pz.widgets(visitor, HOME) == []
    assert pz.beacon(visitor, body(entry(variant="control"))).rejected
