"""Beacons a real local server receives: shown (when half visible, together), clicked, the
holdout's exposure, `personalize.send` and `personalize.scan`."""

from __future__ import annotations

import pytest

from personalize_sdk.widgets import render_control, render_widget
from tests.browser.server import root, widget

pytestmark = pytest.mark.browser

NOT_YET_MS = 1500  # longer than the script's shown batching window
# Plain text: `str + Markup` would escape it, so pages are put together with f-strings.
SPACER = '<div style="height:2400px"></div>'


def test_shown_is_sent_together_for_visible_widgets_and_later_for_one_below_the_fold(site, page):
    url = site.page(
        "/p/sku-1",
        [
            render_widget(widget("hello_bar", "hello")),
            render_widget(widget("recommendations", "recs", slot="product")),
            render_widget(widget("exit_intent", "bye", trigger={"min_dwell_ms": 60_000})),
        ],
        after=f"{SPACER}{render_widget(widget('recently_viewed', 'recent', slot='footer'))}",
    )
    page.goto(url)
    site.wait_for(count=2, type="shown")
    page.wait_for_timeout(NOT_YET_MS)
    [beacon] = site.beacons  # one beacon for the page load
    assert sorted(e["campaign"] for e in beacon["events"]) == ["hello", "recs"]
    assert {e["path"] for e in beacon["events"]} == {"/p/sku-1"}
    assert site.events(campaign="recent") == []  # below the fold
    assert site.events(campaign="bye") == []  # an overlay is shown when it opens, not before

    page.locator(root("recent")).scroll_into_view_if_needed()
    [recent] = site.wait_for(type="shown", campaign="recent")
    assert recent == {
        "type": "shown",
        "campaign": "recent",
        "variant": "a",
        "kind": "recently_viewed",
        "slot": "footer",
        "path": "/p/sku-1",
    }
    page.mouse.wheel(0, -5000)
    page.wait_for_timeout(NOT_YET_MS)
    assert len(site.events(type="shown")) == 3  # once per page load, not per sighting


def test_a_widget_less_than_half_visible_is_not_shown_yet(site, page):
    # The strip's top 100 px peek above the fold: not yet half of it.
    spacer = '<div style="height:calc(100vh - 100px)"></div>'
    page.goto(
        site.page(
            "/",
            [spacer, render_widget(widget("recommendations", "recs", products=[]))],
            after=SPACER,
        )
    )
    assert page.eval_on_selector(root("recs"), "el => el.getBoundingClientRect().height") > 200
    page.wait_for_timeout(NOT_YET_MS)
    assert site.events(campaign="recs") == []
    page.mouse.wheel(0, 300)
    site.wait_for(type="shown", campaign="recs")


def test_the_holdout_marker_records_exposure_where_the_widget_would_be(site, page):
    hello = widget("hello_bar", "hello", variant="control")
    recent = widget("recently_viewed", "recent", variant="control", slot="footer")
    coupon = widget("side_coupon", "gift", variant="control", slot="side")
    page.goto(
        site.page(
            "/",
            [render_control(hello)],
            # A fixed widget is rendered anywhere, here at the end of the body.
            after=f"{SPACER}{render_control(recent)}{render_control(coupon)}",
        )
    )
    events = site.wait_for(count=2, type="shown")
    assert sorted((e["campaign"], e["variant"]) for e in events) == [
        ("gift", "control"),  # a fixed widget is always in view
        ("hello", "control"),
    ]
    # The marker stays invisible and takes no room.
    assert page.eval_on_selector(root("hello"), "el => el.getBoundingClientRect().height") == 0
    page.wait_for_timeout(NOT_YET_MS)
    assert site.events(campaign="recent") == []
    page.mouse.wheel(0, 5000)
    [seen] = site.wait_for(type="shown", campaign="recent")
    assert seen["variant"] == "control"


def test_a_click_is_sent_and_the_link_still_navigates(site, page):
    data = widget("hello_bar", "hello", link={"url": "/sale", "text": "Shop the sale"})
    page.goto(site.page("/", [render_widget(data)]))
    site.page("/sale", [])
    page.click(f"{root('hello')} [data-pz-click]")
    page.wait_for_url(site.url("/sale"))
    [clicked] = site.wait_for(type="clicked", campaign="hello")
    assert clicked["path"] == "/"


def test_send_posts_events_twenty_per_beacon(site, page):
    page.goto(site.page("/", [render_widget(widget("hello_bar", "hello"))]))
    site.wait_for(type="shown")
    page.evaluate(
        """() => personalize.send(Array.from({length: 45}, (_, i) =>
            ({type: "clicked", campaign: "api", variant: "a", kind: "hello_bar", n: i})))"""
    )
    site.wait_for(count=45, campaign="api")
    sizes = [len(b["events"]) for b in site.beacons if b["events"][0]["campaign"] == "api"]
    assert sorted(sizes) == [5, 20, 20]  # beacons travel in parallel: any order of arrival
    assert sorted(e["n"] for e in site.events(campaign="api")) == list(range(45))


def test_without_send_beacon_events_go_by_fetch_keepalive(site, page):
    page.add_init_script("navigator.sendBeacon = () => false")
    page.goto(site.page("/", [render_widget(widget("hello_bar", "hello"))]))
    [shown] = site.wait_for(type="shown", campaign="hello")
    assert shown["kind"] == "hello_bar"


def test_scan_wires_widgets_inserted_after_load(site, page):
    page.goto(site.page("/", []))
    late = str(render_widget(widget("hello_bar", "late")))
    page.evaluate(
        """html => { document.body.insertAdjacentHTML('afterbegin', html);
                     personalize.scan(document.body.firstElementChild) }""",
        late,
    )
    site.wait_for(type="shown", campaign="late")
    page.evaluate("() => personalize.scan()")  # scanning again wires nothing twice
    page.click(f"{root('late')} [data-pz-dismiss]")
    assert page.query_selector(root("late")) is None
    page.wait_for_timeout(500)
    assert len(site.events(type="dismissed", campaign="late")) == 1
