"""What the page looks like: no layout shift, reduced motion honoured, readable without JS."""

from __future__ import annotations

import time

import pytest

from personalize_sdk import assets
from personalize_sdk.widgets import render_widget
from tests.browser.server import SCRIPT_PATH, leave, root, wait_open, widget

pytestmark = pytest.mark.browser

# Installed before any page script: sums layout shifts not caused by input, and notes when
# the script marked the page (`pz-js`) so the test can tell it came after the first paint.
MEASURE = """
window.pzShift = 0;
new PerformanceObserver(list => {
  for (const e of list.getEntries()) if (!e.hadRecentInput) window.pzShift += e.value;
}).observe({type: "layout-shift", buffered: true});
new MutationObserver((_, observer) => {
  if (document.documentElement.classList.contains("pz-js")) {
    window.pzMarked = performance.now();
    observer.disconnect();
  }
}).observe(document, {attributes: true, subtree: true, attributeFilter: ["class"]});
"""


def in_flow_widgets() -> list[str]:
    return [
        render_widget(widget("hello_bar", "hello", link={"url": "/sale", "text": "Shop now"})),
        render_widget(widget("progress_bar", "ship", slot="cart")),
        # As the server renders it: the remaining time it computed, then ticked by the script.
        render_widget(
            widget("countdown", "sale", deadline=time.time() + 3600, remaining_seconds=3600)
        ),
        render_widget(widget("scratch_coupon", "scratch")),
    ]


@pytest.mark.parametrize("external", [False, True], ids=["inline", "late-external-script"])
def test_the_widgets_and_the_script_cause_no_layout_shift(site, page, external):
    if external:
        site.add(SCRIPT_PATH, assets.script(), "text/javascript", delay=0.8)
    page.add_init_script(MEASURE)
    page.goto(site.page("/", in_flow_widgets(), external=external))
    page.wait_for_function("() => window.personalize !== undefined")
    page.wait_for_timeout(1500)  # a few countdown ticks and the shown beacon
    if external:
        painted = page.evaluate(
            "() => performance.getEntriesByName('first-contentful-paint')[0].startTime"
        )
        assert painted < page.evaluate("() => window.pzMarked"), "the script came before paint"
    assert page.evaluate("() => window.pzShift") == 0


def test_reduced_motion_turns_transitions_and_animations_off(site, page):
    data = widget("exit_intent", "bye", coupon={"code": "X1", "expires_at": None, "discount": None})
    url = site.page("/", [render_widget(widget("progress_bar", "ship")), render_widget(data)])
    duration = "s => getComputedStyle(document.querySelector(s)).transitionDuration"
    animation = "s => getComputedStyle(document.querySelector(s)).animationName"
    fill, dialog = f"{root('ship')} .pz-fill", f'{root("bye")} [role="dialog"]'

    page.goto(url)
    assert page.evaluate(duration, fill) != "0s"  # motion is on by default
    leave(page, "top")
    wait_open(page, "bye")
    assert page.evaluate(animation, dialog) != "none"

    page.emulate_media(reduced_motion="reduce")
    page.goto(url)
    assert page.evaluate(duration, fill) == "0s"
    leave(page, "top")
    wait_open(page, "bye")
    assert page.evaluate(animation, dialog) == "none"


def test_without_javascript_bars_and_coupons_are_readable(site, browser):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 412, "height": 839})
    try:
        page = context.new_page()
        page.goto(
            site.page(
                "/",
                [
                    render_widget(widget("hello_bar", "hello")),
                    render_widget(widget("side_coupon", "gift", slot="side")),
                    render_widget(widget("scratch_coupon", "scratch")),
                    render_widget(widget("exit_intent", "bye")),
                ],
            )
        )
        assert not page.eval_on_selector("html", "el => el.classList.contains('pz-js')")
        assert page.is_visible(f"{root('hello')} .pz-text")
        assert page.inner_text(f"{root('hello')} .pz-text") == "Hello Asha, free shipping over $50"
        assert not page.is_visible(f"{root('hello')} [data-pz-dismiss]")  # needs the script

        code = f"{root('gift')} [data-pz-code]"
        assert not page.is_visible(code)  # in the closed drawer
        page.click(f"{root('gift')} .pz-tab")  # <details> opens without any script
        assert page.is_visible(code)
        assert page.inner_text(code) == "WELCOME10"
        assert not page.is_visible(f"{root('gift')} [data-pz-copy]")

        assert page.is_visible(f"{root('scratch')} [data-pz-code]")  # no cover to scratch
        assert not page.is_visible(f"{root('scratch')} [data-pz-scratch-cover]")
        assert not page.is_visible(root("bye"))
    finally:
        context.close()
