"""`Personalizer.explain_widgets`: why each campaign shows on a page, or why not, agreeing with
what `widgets()` shows."""

from __future__ import annotations

import json
from typing import Any

import pytest

from benchmarks import widgets as widgets_benchmark
from benchmarks.workload import NOW, make_catalog, replay, shopper_histories
from personalize_sdk import CampaignVerdict, InvalidEvent, Page, Personalizer
from tests.helpers import Clock, view

HOME = Page(type="home", path="/", device="desktop")


def bar(campaign_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": campaign_id, "kind": "hello_bar", "text": campaign_id, **fields}


def verdicts(pz: Personalizer, visitor: str = "v-1", page: Page = HOME) -> dict[str, Any]:
    return {v.campaign_id: v for v in pz.explain_widgets(visitor, page)}


def only(clock: Clock, campaign: dict[str, Any], visitor: str = "v-1", page: Page = HOME):
    pz = Personalizer({"campaigns": [campaign]}, clock=clock)
    return pz, verdicts(pz, visitor, page)[campaign["id"]]


@pytest.mark.parametrize(
    ("audience", "reason", "words"),
    [
        ({"page_types": ["product"]}, "audience.page_types", "page type 'home' is not one of"),
        ({"paths": ["/sale/*"]}, "audience.paths", "path '/' matches none of ['/sale/*']"),
        ({"devices": ["mobile"]}, "audience.devices", "device 'desktop' is not one of"),
        ({"visitor": "returning"}, "audience.visitor", "for returning visitors only"),
        ({"segments_any": ["repeat_buyer"]}, "audience.segments_any", "in none of"),
        ({"segments_all": ["new_visitor", "repeat_buyer"]}, "audience.segments_all",
         "not in ['repeat_buyer']"),
        ({"segments_none": ["new_visitor"]}, "audience.segments_none", "in ['new_visitor']"),
        ({"geo": {"lat": 51.5, "lon": -0.1, "radius_miles": 1}}, "audience.geo", "geofence"),
        ({"condition": {"traits.tier": "gold"}}, "audience.condition", "condition is false"),
    ],
)  # fmt: skip
def test_the_audience_rule_that_keeps_it_away(clock, audience, reason, words) -> None:
    pz, verdict = only(clock, bar("c", audience=audience))
    pz.track("v-1", "Page Viewed", {"path": "/"})
    verdict = verdicts(pz)["c"]
    assert (verdict.shown, verdict.reason) == (False, reason)
    assert words in verdict.detail and str(verdict).startswith("- top: c: ")
    assert pz.widgets("v-1", HOME) == []


def test_shown_and_the_schedule(clock) -> None:
    _, verdict = only(clock, bar("c"))
    assert (verdict.shown, verdict.reason, verdict.variant) == (True, "shown", "default")
    assert str(verdict) == "+ top: c: shown"
    later = {"start": clock() + 3600, "end": clock() + 7200}
    _, verdict = only(clock, bar("c", schedule=later))
    assert (verdict.reason, verdict.detail) == ("schedule", "not live now: outside its schedule")


def beacon(pz: Personalizer, kind: str) -> None:
    body = {"events": [{"type": kind, "campaign": "c", "variant": "default", "path": "/"}]}
    assert pz.beacon("v-1", json.dumps(body)).accepted == 1


@pytest.mark.parametrize(
    ("caps", "reports", "reason"),
    [
        ({"lifetime": 1}, ["shown"], "caps.lifetime"),
        ({"per_session": 1}, ["shown"], "caps.per_session"),
        ({"per_day": 1}, ["shown"], "caps.per_day"),
        ({}, ["shown", "dismissed"], "caps.after_dismiss"),
    ],
)
def test_the_cap_that_keeps_it_away(clock, caps, reports, reason) -> None:
    pz = Personalizer({"campaigns": [bar("c", caps=caps)]}, clock=clock)
    pz.track("v-1", "Page Viewed", {"path": "/"})
    for kind in reports:
        beacon(pz, kind)
    verdict = verdicts(pz)["c"]
    assert (verdict.shown, verdict.reason) == (False, reason)
    assert "cap (1) is reached" in verdict.detail or verdict.detail.startswith("dismissed")


def test_a_conversion(clock) -> None:
    pz = Personalizer({"campaigns": [bar("c")]}, clock=clock)
    beacon(pz, "shown")
    pz.track("v-1", "Order Completed", {"order_id": "o-1", "total": 10.0})
    assert verdicts(pz)["c"].reason == "caps.after_conversion"


def test_nothing_to_show_the_slot_taken_and_the_holdout(clock) -> None:
    config = {"campaigns": [
        {"id": "seen", "kind": "recently_viewed", "title": "Seen", "slot": "top",
         "priority": 9},
        bar("first", priority=5),
        bar("second", priority=1),
        {**bar("held", slot="side"), "holdout": 0.99},  # v-1 is in the 99%
    ]}  # fmt: skip
    pz = Personalizer(config, clock=clock)
    found = verdicts(pz)
    assert found["seen"].reason == "nothing_to_show"  # viewed nothing yet
    assert (found["first"].shown, found["second"].reason) == (True, "slot_taken")
    assert "'first'" in found["second"].detail
    assert found["held"].shown and found["held"].variant == "control"
    assert "holdout" in found["held"].detail
    slots = [(v.slot, v.campaign_id) for v in pz.explain_widgets("v-1", HOME)]
    assert slots == [("side", "held"), ("top", "seen"), ("top", "first"), ("top", "second")]
    pz.track("v-1", "Product Viewed", view("sku-1"))
    found = verdicts(pz)  # now the strip has a product, and comes first
    assert found["seen"].shown and found["first"].reason == "slot_taken"
    assert [w.campaign_id for w in pz.widgets("v-1", HOME)] == ["held", "seen"]


def test_it_agrees_with_widgets_for_every_shopper() -> None:
    catalog = make_catalog()
    config = {"campaigns": widgets_benchmark.campaigns(60)}
    pz = Personalizer(config, clock=lambda: NOW, secret="v" * 32)
    histories = list(shopper_histories(catalog, 150, seed=3))
    for steps in histories:
        replay(pz, steps)
    product = catalog.products[0]
    pages = [
        HOME,
        Page(
            type="product",
            path=f"/p/{product.product_id}",
            product_id=product.product_id,
            category=product.category,
            device="mobile",
        ),
        Page(type="cart", path="/cart"),
    ]
    compared = 0
    for steps in histories:
        visitor = steps[0].visitor_id
        for page in pages:
            shown = [(w.slot, w.campaign_id) for w in pz.widgets(visitor, page)]
            explained = pz.explain_widgets(visitor, page)
            assert [(v.slot, v.campaign_id) for v in explained if v.shown] == shown
            assert len(explained) == 60 and all(isinstance(v, CampaignVerdict) for v in explained)
            compared += len(shown)
    assert compared > 300  # the comparison saw many widgets, of many campaigns


def test_a_bad_page_raises(clock) -> None:
    pz = Personalizer({"campaigns": [bar("c")]}, clock=clock)
    with pytest.raises(InvalidEvent, match="expected a Page"):
        pz.explain_widgets("v-1", "/")  # type: ignore[arg-type]


@pytest.mark.parametrize("strict", [False, True])
def test_a_campaign_that_fails_to_build_is_named_not_counted(clock, strict: bool) -> None:
    config = {"campaigns": [
        bar("broken", priority=2, text="{{ first_name.upper(1, 2) }}"),
        bar("fallback", priority=1),
    ]}  # fmt: skip
    pz = Personalizer(config, clock=clock, strict=strict)
    pz.identify("v-1", traits={"first_name": "Ann"})
    before = pz.stats()
    found = verdicts(pz)
    assert (found["broken"].shown, found["broken"].reason) == (False, "error")
    assert "failed to build" in found["broken"].detail and "upper" in found["broken"].detail
    assert found["fallback"].shown
    assert pz.stats() == before  # a question, not a production fault
    if not strict:  # the page itself still counts it, and shows the next campaign
        assert [w.campaign_id for w in pz.widgets("v-1", HOME)] == ["fallback"]
        assert pz.stats()["errors.widgets.copy.broken"] == 1
