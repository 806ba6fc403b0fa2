"""Exit intent in a real browser: when it opens (desktop and mobile), once, and never early."""

from __future__ import annotations

import pytest

from personalize_sdk.widgets import render_control, render_widget
from tests.browser.server import Site, is_open, leave, root, touch_drag, wait_open, widget

pytestmark = pytest.mark.browser

NOT_YET_MS = 500  # a fixed wait only ever proves that something did NOT happen


def exit_page(site: Site, campaign: str, path: str = "/p/sku-1", **trigger: object) -> str:
    data = widget("exit_intent", campaign, trigger={"min_dwell_ms": 0, **trigger})
    return site.page(path, [render_widget(data)], after='<div class="filler"></div>' * 3)


def test_leaving_through_the_top_opens_the_dialog_and_sends_shown(site, page):
    page.goto(exit_page(site, "bye"))
    assert not is_open(page, "bye")
    leave(page, "top")
    wait_open(page, "bye")
    [shown] = site.wait_for(type="shown", campaign="bye")
    assert shown == {
        "type": "shown",
        "campaign": "bye",
        "variant": "a",
        "kind": "exit_intent",
        "slot": "top",
        "path": "/p/sku-1",
    }
    assert page.is_visible(f'{root("bye")} [role="dialog"]')


@pytest.mark.parametrize("edge", ["bottom", "right"])
def test_leaving_through_the_bottom_or_a_side_does_not_open_it(site, page, edge):
    page.goto(exit_page(site, "bye"))
    leave(page, edge)
    page.wait_for_timeout(NOT_YET_MS)
    assert not is_open(page, "bye")
    leave(page, "top")  # the trigger was armed all along
    wait_open(page, "bye")


def test_nothing_opens_before_the_minimum_dwell_time(site, page):
    page.goto(exit_page(site, "bye", min_dwell_ms=1500))
    leave(page, "top")
    left_at = page.evaluate("performance.now()")
    page.wait_for_timeout(NOT_YET_MS)
    assert left_at < 1500, "the page took too long to load for this test to mean anything"
    assert not is_open(page, "bye")
    page.wait_for_function("() => performance.now() > 1500")
    leave(page, "top")
    wait_open(page, "bye")


def test_coming_back_during_the_grace_delay_cancels_it(site, page):
    page.goto(exit_page(site, "bye", delay_ms=700))
    leave(page, "top")
    page.mouse.move(640, 300)  # back in before the delay is over
    page.wait_for_timeout(1200)
    assert not is_open(page, "bye")
    leave(page, "top")  # and out for good: opens after the delay
    wait_open(page, "bye")


def test_it_opens_once_per_page_view(site, page):
    page.goto(exit_page(site, "bye"))
    leave(page, "top")
    wait_open(page, "bye")
    page.keyboard.press("Escape")
    assert not is_open(page, "bye")
    leave(page, "top")
    page.wait_for_timeout(NOT_YET_MS)
    assert not is_open(page, "bye")
    assert len(site.wait_for(type="dismissed", campaign="bye")) == 1
    assert len(site.events(type="shown", campaign="bye")) == 1


def test_never_again_after_a_dismissal_even_on_the_next_page(site, page):
    page.goto(exit_page(site, "bye"))
    leave(page, "top")
    wait_open(page, "bye")
    page.click(f"{root('bye')} .pz-backdrop", position={"x": 5, "y": 5})
    assert not is_open(page, "bye")
    page.goto(exit_page(site, "bye", path="/p/sku-2"))
    leave(page, "top")
    page.wait_for_timeout(NOT_YET_MS)
    assert not is_open(page, "bye")
    assert site.events(type="shown", path="/p/sku-2") == []


def test_mobile_fast_scroll_up_opens_it(site, mobile_page):
    page = mobile_page
    page.goto(exit_page(site, "bye", mobile=["scroll"]))
    page.evaluate("window.scrollTo(0, 2000)")
    page.wait_for_timeout(500)  # the jump down is history: only the way up counts
    touch_drag(page, (200, 300), (200, 380))  # a slow, short scroll up (under 30 % of the height)
    page.wait_for_timeout(NOT_YET_MS)
    assert not is_open(page, "bye")
    touch_drag(page, (200, 150), (200, 150 + 0.45 * 839))  # a flick up over 45 % of the height
    wait_open(page, "bye")
    assert page.evaluate("window.scrollY") < 2000


def test_mobile_back_button_opens_it_and_the_next_back_leaves(site, mobile_page):
    page = mobile_page
    before = site.page("/", [])
    page.goto(before)
    url = exit_page(site, "bye", mobile=["back"])
    page.goto(url)
    page.go_back()
    wait_open(page, "bye")
    assert page.url == url
    page.keyboard.press("Escape")
    page.go_back()
    page.wait_for_url(before)


def test_mobile_back_before_the_dwell_time_really_goes_back(site, mobile_page):
    page = mobile_page
    before = site.page("/", [])
    page.goto(before)
    page.goto(exit_page(site, "bye", mobile=["back"], min_dwell_ms=60_000))
    page.go_back()
    page.wait_for_url(before)
    assert site.events(type="shown", campaign="bye") == []


def test_mobile_inactivity_opens_it_and_activity_postpones_it(site, mobile_page):
    page = mobile_page
    page.goto(exit_page(site, "bye", mobile=["idle"], idle_ms=1000))
    for _ in range(8):  # 1.6 s of taps, never 1 s apart
        page.touchscreen.tap(200, 600)
        page.wait_for_timeout(200)
    assert not is_open(page, "bye")
    wait_open(page, "bye")
    site.wait_for(type="shown", campaign="bye")


def test_mobile_ignores_the_desktop_trigger(site, mobile_page):
    page = mobile_page
    page.goto(exit_page(site, "bye", mobile=["idle"], idle_ms=60_000))
    page.evaluate("document.dispatchEvent(new MouseEvent('mouseout', {clientX: 200, clientY: -1}))")
    page.wait_for_timeout(NOT_YET_MS)
    assert not is_open(page, "bye")


def test_the_holdout_records_exposure_when_the_trigger_fires_and_shows_nothing(
    site, page, mobile_page
):
    # The control marker carries no trigger settings: the defaults apply (5 s dwell).
    control = render_control(widget("exit_intent", "bye", variant="control"))
    before = site.page("/", [])
    url = site.page("/p/sku-1", [control])
    mobile_page.goto(before)
    mobile_page.goto(url)
    page.goto(url)
    page.wait_for_function("() => performance.now() > 5000", timeout=10_000)
    mobile_page.wait_for_function("() => performance.now() > 5000", timeout=10_000)

    leave(page, "top")
    [desktop] = site.wait_for(type="shown", campaign="bye")
    assert desktop["variant"] == "control"
    assert page.eval_on_selector(root("bye"), "el => el.childElementCount") == 0

    mobile_page.go_back()  # recorded, and the shopper really goes back
    mobile_page.wait_for_url(before)
    assert len(site.wait_for(count=2, type="shown", campaign="bye")) == 2
