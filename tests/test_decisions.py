"""Which campaign shows where: priorities, slots, overlays, schedules, audiences, caps, variants.

Exposures come from the browser (beacons), so caps are exercised the way a shop sees them:
render, report "shown", render again.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from personalize_sdk import Page
from personalize_sdk.campaign import CONTROL
from tests.helpers import DAY, MINUTE, T0, Clock, view
from tests.widget_helpers import CART, HOME, PRODUCT, bar, ids, report, shop


def test_no_campaigns_no_widgets(clock: Clock) -> None:
    pz = shop(clock)
    assert pz.widgets("v1", HOME) == []
    assert pz.render("v1", HOME, slot="top") == ""


def test_the_highest_priority_campaign_takes_the_slot(clock: Clock) -> None:
    pz = shop(clock, bar("low", priority=1), bar("high", priority=5), bar("mid", priority=3))
    assert ids(pz.widgets("v1", HOME)) == ["high"]
    assert "high text" in pz.render("v1", HOME, slot="top")


def test_one_widget_per_slot_and_slots_are_independent(clock: Clock) -> None:
    pz = shop(
        clock,
        bar("top1", priority=2),
        bar("top2", priority=1),
        bar("footer", slot="footer"),
    )
    widgets = pz.widgets("v1", HOME)
    assert sorted(ids(widgets)) == ["footer", "top1"]
    assert ids(pz.widgets("v1", HOME, slot="footer")) == ["footer"]
    assert pz.widgets("v1", HOME, slot="nowhere") == []


def test_at_most_one_overlay_per_page(clock: Clock) -> None:
    exit_a = {"id": "exit-a", "kind": "exit_intent", "title": "A", "priority": 1}
    exit_b = {"id": "exit-b", "kind": "exit_intent", "title": "B", "priority": 2}
    pz = shop(clock, exit_a, exit_b)
    widgets = pz.widgets("v1", HOME)
    assert ids(widgets) == ["exit-b"]
    assert widgets[0].slot == "overlay"


def test_a_capped_campaign_gives_way_to_the_next(clock: Clock) -> None:
    pz = shop(clock, bar("first", priority=2, caps={"lifetime": 1}), bar("second", priority=1))
    (shown,) = pz.widgets("v1", HOME)
    assert shown.campaign_id == "first"
    report(pz, "v1", shown)
    assert ids(pz.widgets("v1", HOME)) == ["second"]


def test_page_types_paths_and_devices(clock: Clock) -> None:
    pz = shop(
        clock,
        bar("products", slot="a", audience={"page_types": ["product"]}),
        bar("sale", slot="b", audience={"paths": ["/sale/*", "/outlet"]}),
        bar("mobile", slot="c", audience={"devices": ["mobile"]}),
    )
    assert ids(pz.widgets("v1", PRODUCT)) == ["products"]
    assert ids(pz.widgets("v1", Page(type="category", path="/sale/shoes"))) == ["sale"]
    assert ids(pz.widgets("v1", Page(type="category", path="/outlet"))) == ["sale"]
    assert ids(pz.widgets("v1", Page(type="category", path="/outlet/x"))) == []
    assert ids(pz.widgets("v1", Page(type="home", path="/", device="mobile"))) == ["mobile"]
    assert ids(pz.widgets("v1", Page(type="home", path="/", device="desktop"))) == []


def test_an_untargeted_campaign_competes_on_every_page_type(clock: Clock) -> None:
    pz = shop(
        clock,
        bar("everywhere", priority=1),
        bar("products-only", priority=2, audience={"page_types": ["product"]}),
    )
    assert ids(pz.widgets("v1", PRODUCT)) == ["products-only"]
    assert ids(pz.widgets("v1", HOME)) == ["everywhere"]
    assert ids(pz.widgets("v1", Page(type="never-named", path="/x"))) == ["everywhere"]


def test_segments_any_all_none(clock: Clock) -> None:
    pz = shop(
        clock,
        bar("buyers", slot="a", audience={"segments_any": ["first_time_buyer", "repeat_buyer"]}),
        bar("new-only", slot="b", audience={"segments_all": ["new_visitor"]}),
        bar("not-buyers", slot="c", audience={"segments_none": ["first_time_buyer"]}),
    )
    pz.track("v1", "Product Viewed", view("w-1"))
    assert sorted(ids(pz.widgets("v1", HOME))) == ["new-only", "not-buyers"]
    pz.track("v1", "Order Completed", {"order_id": "o1", "total": 10.0})
    assert ids(pz.widgets("v1", HOME)) == ["buyers"]


def test_new_versus_returning(clock: Clock) -> None:
    pz = shop(
        clock,
        bar("new", slot="a", audience={"visitor": "new"}),
        bar("back", slot="b", audience={"visitor": "returning"}),
    )
    pz.track("v1", "Page Viewed", {"page_type": "home"})
    assert ids(pz.widgets("v1", HOME)) == ["new"]
    clock.advance(DAY)
    pz.track("v1", "Page Viewed", {"page_type": "home"})
    assert ids(pz.widgets("v1", HOME)) == ["back"]


def test_geo_radius_around_a_store(clock: Clock) -> None:
    store = {"lat": 51.5142, "lon": -0.1494, "radius_miles": 1}  # Oxford Street, London
    pz = shop(clock, bar("near", audience={"geo": store}))
    pz.identify("near", traits={"location": {"lat": 51.5155, "lon": -0.1410}})
    pz.identify("far", traits={"location": {"lat": 51.4700, "lon": -0.4543}})  # Heathrow
    pz.identify("unknown", traits={"first_name": "Ann"})
    assert ids(pz.widgets("near", HOME)) == ["near"]
    assert pz.widgets("far", HOME) == []
    assert pz.widgets("unknown", HOME) == []


def test_a_condition_over_the_profile_and_the_page(clock: Clock) -> None:
    condition = {"cart.value": {"$gte": 100}, "page.type": "cart"}
    pz = shop(clock, bar("big-cart", audience={"condition": condition}))
    pz.track("v1", "Product Added", {**view("w-1", price=60.0), "quantity": 1})
    assert pz.widgets("v1", CART) == []
    pz.track("v1", "Product Added", {**view("w-2", price=60.0), "quantity": 1})
    assert ids(pz.widgets("v1", CART)) == ["big-cart"]
    assert pz.widgets("v1", HOME) == []


class TestSchedules:
    def test_start_and_end(self, clock: Clock) -> None:
        schedule = {"start": T0 + DAY, "end": T0 + 2 * DAY}
        pz = shop(clock, bar("sale", schedule=schedule))
        assert pz.widgets("v1", HOME) == []
        clock.now = T0 + DAY
        assert ids(pz.widgets("v1", HOME)) == ["sale"]
        clock.now = T0 + 2 * DAY
        assert pz.widgets("v1", HOME) == []

    def test_singles_day_in_shanghai_time(self, clock: Clock) -> None:
        schedule = {"start": "2026-11-11T00:00:00", "end": "2026-11-12T00:00:00",
                    "timezone": "Asia/Shanghai"}  # fmt: skip
        pz = shop(clock, bar("11-11", schedule=schedule))
        shanghai = ZoneInfo("Asia/Shanghai")
        clock.now = datetime(2026, 11, 10, 23, 59, tzinfo=shanghai).timestamp()
        assert pz.widgets("v1", HOME) == []
        clock.now = datetime(2026, 11, 11, 0, 0, tzinfo=shanghai).timestamp()
        assert ids(pz.widgets("v1", HOME)) == ["11-11"]
        # 16:30 UTC on the 11th is already the 12th in Shanghai
        clock.now = datetime(2026, 11, 11, 16, 30, tzinfo=ZoneInfo("UTC")).timestamp()
        assert pz.widgets("v1", HOME) == []

    def test_hours_and_days_across_a_dst_change(self, clock: Clock) -> None:
        schedule = {"timezone": "Europe/London", "days": ["sun"], "hours": ["09:00-10:00"]}
        pz = shop(clock, bar("sunday-morning", schedule=schedule))
        london = ZoneInfo("Europe/London")
        # 2026-03-29: clocks go forward at 01:00 GMT; 09:30 local is 08:30 UTC
        clock.now = datetime(2026, 3, 29, 9, 30, tzinfo=london).timestamp()
        assert ids(pz.widgets("v1", HOME)) == ["sunday-morning"]
        clock.now = datetime(2026, 3, 29, 10, 30, tzinfo=london).timestamp()
        assert pz.widgets("v1", HOME) == []
        clock.now = datetime(2026, 3, 30, 9, 30, tzinfo=london).timestamp()  # a Monday
        assert pz.widgets("v1", HOME) == []


class TestFrequencyCaps:
    def test_rendering_is_not_an_exposure_the_browser_report_is(self, clock: Clock) -> None:
        pz = shop(clock, bar(caps={"per_session": 1}))
        for _ in range(3):
            (widget,) = pz.widgets("v1", HOME)
        report(pz, "v1", widget)
        assert pz.widgets("v1", HOME) == []
        exposure = pz.profile("v1").exposures["bar"]
        assert (exposure.shown, exposure.variant) == (1, "default")

    def test_per_session_resets_with_a_new_session(self, clock: Clock) -> None:
        pz = shop(clock, bar(caps={"per_session": 2}))
        for _ in range(2):
            report(pz, "v1", pz.widgets("v1", HOME)[0])
            clock.advance(MINUTE)
        assert pz.widgets("v1", HOME) == []
        clock.advance(31 * MINUTE)  # the session times out
        assert ids(pz.widgets("v1", HOME)) == ["bar"]

    def test_per_day_counts_days_in_the_campaign_time_zone(self, clock: Clock) -> None:
        tokyo = ZoneInfo("Asia/Tokyo")
        caps = {"per_day": 1}
        pz = shop(clock, bar(caps=caps, schedule={"timezone": "Asia/Tokyo"}))
        clock.now = datetime(2026, 5, 1, 23, 0, tzinfo=tokyo).timestamp()
        report(pz, "v1", pz.widgets("v1", HOME)[0])
        clock.advance(30 * MINUTE)  # 23:30 in Tokyo: same day
        assert pz.widgets("v1", HOME) == []
        clock.advance(31 * MINUTE)  # 00:01 in Tokyo (15:01 UTC, still the same UTC day)
        assert ids(pz.widgets("v1", HOME)) == ["bar"]

    def test_lifetime(self, clock: Clock) -> None:
        pz = shop(clock, bar(caps={"lifetime": 2}))
        for _ in range(2):
            report(pz, "v1", pz.widgets("v1", HOME)[0])
            clock.advance(DAY)
        assert pz.widgets("v1", HOME) == []
        clock.advance(365 * DAY)
        assert pz.widgets("v1", HOME) == []

    @pytest.mark.parametrize(
        ("rule", "later_same_session", "next_session", "next_day"),
        [
            ("never", False, False, False),
            ("session", False, True, True),
            ("day", False, False, True),
            ("show", True, True, True),
        ],
    )
    def test_after_dismiss(
        self, clock: Clock, rule: str, later_same_session: bool, next_session: bool, next_day: bool
    ) -> None:
        pz = shop(clock, bar(caps={"after_dismiss": rule}))
        clock.now = datetime(2026, 5, 1, 8, 0, tzinfo=ZoneInfo("UTC")).timestamp()
        (widget,) = pz.widgets("v1", HOME)
        report(pz, "v1", widget)
        report(pz, "v1", widget, "dismissed")
        clock.advance(MINUTE)
        assert bool(pz.widgets("v1", HOME)) is later_same_session
        clock.advance(2 * 60 * MINUTE)  # a new session, same day
        assert bool(pz.widgets("v1", HOME)) is next_session
        clock.advance(DAY)
        assert bool(pz.widgets("v1", HOME)) is next_day

    def test_never_again_after_conversion_within_the_attribution_window(self, clock: Clock) -> None:
        pz = shop(clock, bar("converts"), bar("other", slot="b", caps={"after_conversion": "show"}))
        for widget in pz.widgets("v1", HOME):
            report(pz, "v1", widget)
        clock.advance(DAY)
        pz.track("v1", "Order Completed", {"order_id": "o1", "total": 20.0})
        assert ids(pz.widgets("v1", HOME)) == ["other"]
        assert pz.profile("v1").exposures["converts"].converted_at == clock.now

    def test_an_order_long_after_the_exposure_is_not_a_conversion(self, clock: Clock) -> None:
        pz = shop(clock, bar())
        report(pz, "v1", pz.widgets("v1", HOME)[0])
        clock.advance(8 * DAY)  # attribution window: 7 days by default
        pz.track("v1", "Order Completed", {"order_id": "o1", "total": 20.0})
        assert pz.profile("v1").exposures["bar"].converted_at is None
        assert ids(pz.widgets("v1", HOME)) == ["bar"]

    def test_caps_follow_the_shopper_across_devices_after_login(self, clock: Clock) -> None:
        pz = shop(clock, bar(caps={"lifetime": 1}))
        report(pz, "phone", pz.widgets("phone", HOME)[0])
        pz.identify("phone", user_id="u1")
        pz.identify("laptop", user_id="u1")
        assert pz.widgets("laptop", HOME) == []


class TestVariants:
    def campaign(self) -> dict:
        return bar(
            "ab", holdout=0.3, variants=[{"id": "a", "text": "A!"}, {"id": "b", "text": "B!"}]
        )

    def test_assignment_is_sticky_and_the_holdout_sees_a_hidden_marker(self, clock: Clock) -> None:
        pz = shop(clock, self.campaign())
        seen = {}
        for i in range(300):
            (widget,) = pz.widgets(f"v{i}", HOME)
            assert pz.widgets(f"v{i}", HOME)[0].variant == widget.variant
            seen[widget.variant] = widget
        assert set(seen) == {"a", "b", CONTROL}
        control = seen[CONTROL]
        assert "hidden" in control.html and "A!" not in control.html and "B!" not in control.html
        assert control.data["variant"] == CONTROL
        assert "A!" in seen["a"].html and "B!" in seen["b"].html

    def test_the_holdout_exposure_is_recorded_and_capped_too(self, clock: Clock) -> None:
        campaign = {**self.campaign(), "caps": {"per_session": 1}}
        pz = shop(clock, campaign)
        visitor = next(
            f"v{i}" for i in range(100) if pz.widgets(f"v{i}", HOME)[0].variant == CONTROL
        )
        report(pz, visitor, pz.widgets(visitor, HOME)[0])
        assert pz.profile(visitor).exposures["ab"].variant == CONTROL
        assert pz.widgets(visitor, HOME) == []

    def test_the_variant_shown_is_kept_through_login(self, clock: Clock) -> None:
        pz = shop(clock, self.campaign())
        # find a visitor whose customer id would be bucketed differently
        for i in range(200):
            visitor, user = f"v{i}", f"u{i}"
            before = pz.widgets(visitor, HOME)[0].variant
            if before != pz.widgets(None, HOME, user_id=user)[0].variant:
                break
        else:
            pytest.fail("no visitor/customer pair with different buckets")
        report(pz, visitor, pz.widgets(visitor, HOME)[0])
        pz.identify(visitor, user_id=user)
        assert pz.widgets(visitor, HOME)[0].variant == before
        assert pz.widgets("another-device", HOME, user_id=user)[0].variant == before


def test_widgets_never_break_the_page(clock: Clock) -> None:
    from personalize_sdk import Personalizer

    pz = Personalizer({"campaigns": [bar()]}, clock=clock)
    assert pz.widgets("v1", "not a page") == []  # type: ignore[arg-type]
    assert pz.widgets(None, HOME) == []
    assert pz.widgets("v1", HOME, slot=5) == []  # type: ignore[arg-type]
    assert pz.render("v1", HOME, slot="top").startswith("<")
    assert pz.stats()["invalid.type"] == 2


def test_an_overlay_holdout_marker_keeps_the_trigger_settings(clock: Clock) -> None:
    exit_intent = {"id": "exit", "kind": "exit_intent", "title": "Wait", "holdout": 0.5,
                   "min_dwell_seconds": 12, "mobile_triggers": ["idle"]}  # fmt: skip
    pz = shop(clock, exit_intent)
    widgets = [pz.widgets(f"v{i}", HOME)[0] for i in range(40)]
    control = next(w for w in widgets if w.variant == CONTROL)
    shown = next(w for w in widgets if w.variant != CONTROL)
    for widget in (control, shown):
        assert 'data-pz-min-dwell="12000"' in widget.html
        assert 'data-pz-mobile="idle"' in widget.html and "data-pz-overlay" in widget.html
    assert "Wait" not in control.html


def test_overlong_ids_are_refused_before_they_reach_any_cache(clock: Clock) -> None:
    from personalize_sdk import Personalizer

    pz = Personalizer({"campaigns": [bar()]}, clock=clock)
    huge = "v" * 16_000
    assert pz.widgets(huge, HOME) == []
    assert (
        pz.beacon(huge, '{"type": "shown", "campaign": "bar", "variant": "default"}').accepted == 0
    )
    assert pz.stats()["invalid.bad_id"] == 2


def test_a_campaign_that_fails_skips_only_itself(clock: Clock) -> None:
    from personalize_sdk import CallableCatalog, Personalizer

    def down(ids: list[str]) -> list[object]:
        raise ConnectionError("the catalog database is down")

    campaigns = [
        {"id": "rv", "kind": "recently_viewed", "slot": "top", "priority": 2},
        bar("fallback", priority=1),
        bar("footer", slot="footer"),
    ]
    pz = Personalizer({"campaigns": campaigns}, clock=clock, catalog=CallableCatalog(down))
    pz.track("v1", "Product Viewed", view("w-1"))
    assert sorted(ids(pz.widgets("v1", HOME))) == ["fallback", "footer"]
    assert pz.stats()["errors.widgets.internal.rv"] == 1


def test_segments_are_not_evaluated_when_no_campaign_reads_them(monkeypatch):
    from personalize_sdk import Page, Personalizer
    from personalize_sdk.segments import SegmentEvaluator

    calls = []
    real = SegmentEvaluator.evaluate
    monkeypatch.setattr(SegmentEvaluator, "evaluate",
                        lambda self, *a: calls.append(1) or real(self, *a))  # fmt: skip
    page = Page(type="home", path="/")
    plain = Personalizer({"campaigns": [{"id": "bar", "kind": "hello_bar", "text": "Hi"}]})
    assert plain.widgets("v1", page)
    assert calls == []
    for reads in (
        {"audience": {"segments_none": ["repeat_buyer"]}},
        {"audience": {"condition": {"traits.tier": "gold"}}},
        {"text": "{{ 'VIP' if 'vip' in segments else 'Hi' }}"},
        {"text": {"default": "Hi", "watches": "{{ segments | length }}"}},
    ):
        campaign = {"id": "bar", "kind": "hello_bar", "text": "Hi", **reads}
        calls.clear()
        Personalizer({"campaigns": [campaign]}).widgets("v1", page)
        assert calls, reads
